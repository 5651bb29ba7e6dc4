"""What the runner passes around: a job's limits, the job itself, its result and a student's outcome.

Plain, picklable dataclasses (no behaviour), shared by the main process and the sandbox processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

GIB = 1024**3
MIB = 1024**2
#: Virtual memory a kernel may reserve beyond its resident limit (torch maps ~3 GiB it never touches).
ADDRESS_SPACE_HEADROOM = 4 * GIB
#: Resident memory allowed to the nbgrader process of a worker itself (not the student's kernel).
WORKER_MEMORY = 2 * GIB
#: Seconds a worker may take beyond the notebooks' time limits (start-up, sanitising, saving).
GRACE_SECONDS = 60.0
#: Largest total size of the files copied back from a worker's autograded folder.
MAX_RESULT_BYTES = 64 * MIB


class Status(str, Enum):
    """What became of one submission in a batch (a ``str``: it compares with and serialises as its value)."""

    GRADED = "graded"  # nbgrader graded it (scores may be anything)
    FAILED = "failed"  # the submission's fault (not a notebook, killed for its limits): recorded, not retried
    ERROR = "error"  # the grader's fault (a worker lost, the scheduler gone): not recorded, retried next run
    SKIPPED = "skipped"  # already graded from the same files
    PENDING = "pending"  # prepared, not graded yet

    def __str__(self) -> str:
        return self.value


#: Statuses that end a submission's grading: a re-run skips them unless forced.
FINAL_STATUSES = (Status.GRADED, Status.FAILED)


@dataclass(frozen=True)
class Limits:
    """What one submission may use. ``cell_timeout`` None keeps nbgrader_config.py's ``Execute.timeout``."""

    cell_timeout: int | None = None
    time_limit: float = 600.0  # seconds of wall-clock time per notebook
    memory_limit: int = 4 * GIB  # bytes of resident memory for the kernel and its children
    output_limit: int = 1 * MIB  # bytes of output kept per cell
    threads: int = 1  # math-library threads per kernel (OMP_NUM_THREADS and friends)


@dataclass
class GradeJob:
    """Everything needed to grade one student's submission, as plain data (picklable, machine-independent)."""

    student: str
    assignment: str
    course_id: str
    notebooks: list[str]
    config_text: str
    template_db: bytes
    files: dict[str, bytes]  # path relative to submitted/<student>/<assignment>/ -> content
    source_files: dict[str, bytes]  # non-notebook files of source/<assignment>/
    limits: Limits = field(default_factory=Limits)
    course_root: str | None = None  # hidden from the sandbox when it exists on the grading machine
    cold_kernels: bool = False  # start every kernel as a new process (no warm fork, labs.grading.warm)
    #: notebook -> test cell -> statements the trusted solution run completed (None: this is the trusted run)
    expected_records: dict[str, dict[str, dict[str, list[str]]]] | None = None
    verdicts: bool = True  # seal test cells and check their verdicts (labs.grading.verdicts); off: plain nbgrader


@dataclass
class GradeResult:
    """What grading one submission produced; ``status`` is GRADED, FAILED (the submission's fault) or ERROR
    (the grader's fault: retried on the next run). ``worker`` names the machine/process that graded it."""

    student: str
    assignment: str
    status: Status
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> cell -> auto score
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    late_penalty: dict[str, float | None] = field(default_factory=dict)
    timestamp: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # the autograded folder
    seconds: float = 0.0
    worker: str = ""
    kernels: dict[str, int] = field(default_factory=dict)  # kernels started "warm" / "cold"
    records: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)  # sealed cells' verdicts
    flags: list[dict[str, str]] = field(default_factory=list)  # tampering seen while the notebook ran

    def __post_init__(self) -> None:
        self.status = Status(self.status)


@dataclass
class Outcome:
    """One student's line in a batch summary (also saved as the resumable state of the batch)."""

    student: str
    status: Status
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    repairs: dict[str, list[str]] = field(default_factory=dict)
    flags: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    digest: str = ""
    worker: str = ""

    def __post_init__(self) -> None:
        self.status = Status(self.status)


# --------------------------------------------------------------------------------------------------
