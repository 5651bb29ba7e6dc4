"""Run stage: autograde submissions with nbgrader, serially (plain ``nbgrader autograde``) or in parallel.

The parallel runner grades each student in a sandbox process of its own, against a private copy of the
course (the student's files, the course's nbgrader_config.py, the non-notebook files of ``source/<ps>/``)
and a private SQLite gradebook made from the assignment's rows of the main one. Inside, it is nbgrader's
own ``Autograde`` converter with its usual preprocessors; only ``Execute`` is swapped for
:class:`ResilientExecute`, which behaves the same on a well-behaved notebook and, on a bad one, records
what happened in the cell instead of aborting (kernel death, a cell that ignores the interrupt, the
notebook's time limit, megabytes of output). The main process is the single writer: it copies each
result into the main gradebook through nbgrader's :class:`~nbgrader.api.Gradebook` API and the graded
notebook into ``autograded/``. ``submitted/`` is only ever read.

A job carries everything as bytes (:class:`GradeJob`) and the work is handed out through
:mod:`labs.grading.executor`, so the same jobs can later run on other machines.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labs.grading.coursedir import db_url, nbgrader

if TYPE_CHECKING:
    from labs.grading.executor import Executor

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
STATE_DIR = Path(".work") / "grading"
FINAL_STATUSES = ("graded", "failed")


# --------------------------------------------------------------------------------------------------
# Plain nbgrader (the reference)
# --------------------------------------------------------------------------------------------------


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for ``assignment``, sorted."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def autograde_serial(root: Path, assignment: str, force: bool = True) -> None:
    """Plain ``nbgrader autograde`` of every submitted student (the reference the parallel runner matches)."""
    args = ["autograde", assignment, "--create"]
    if force:
        args.append("--force")
    nbgrader(root, *args)


# --------------------------------------------------------------------------------------------------
# Jobs and results
# --------------------------------------------------------------------------------------------------


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


@dataclass
class GradeResult:
    """What grading one submission produced; ``status`` is "graded", "failed" (the submission's fault) or
    "error" (the grader's fault: retried on the next run)."""

    student: str
    assignment: str
    status: str
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> cell -> auto score
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    late_penalty: dict[str, float | None] = field(default_factory=dict)
    timestamp: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # the autograded folder
    seconds: float = 0.0


@dataclass
class Outcome:
    """One student's line in a batch summary (also saved as the resumable state of the batch)."""

    student: str
    status: str  # graded | failed | error | skipped
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    repairs: dict[str, list[str]] = field(default_factory=dict)
    flags: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    digest: str = ""


# --------------------------------------------------------------------------------------------------
# Inside the sandbox process: nbgrader's Autograde with a resilient Execute
# --------------------------------------------------------------------------------------------------


def _error_output(ename: str, evalue: str) -> Any:
    """An nbformat error output (what nbgrader reads to give a test cell 0 points)."""
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _cell_name(cell: Any, index: int) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"


def _make_resilient_execute() -> type:
    """Build :class:`ResilientExecute` (deferred so that importing this module stays light)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors import Execute
    from traitlets import Float, Integer

    class ResilientExecute(Execute):
        """nbgrader's ``Execute`` that never aborts a notebook: what goes wrong is written into the cells.

        * the kernel dies (``os._exit``, a segfault, the memory watchdog): the cell gets a ``KernelDied``
          error and every later code cell a ``NotRun`` error, so later tests score 0, earlier ones keep
          their points and the graded notebook is kept (plain nbgrader deletes the folder);
        * a cell ignores the timeout's interrupt: same, with ``CellTimeoutError``;
        * the notebook runs past ``time_limit``: the running cell is interrupted and the rest not run;
        * a cell prints more than ``output_limit`` bytes: the excess is dropped (a marker is left on the
          same stream, so a test cell that wrote to stderr still scores 0).
        """

        time_limit = Float(0.0, help="Wall-clock seconds for the whole notebook (0: no limit).").tag(config=True)
        output_limit = Integer(MIB, help="Bytes of stream/display output kept per cell.").tag(config=True)
        events: list[str] = []

        def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, Any]:
            self._deadline = time.monotonic() + self.time_limit if self.time_limit else None
            self._stopped: str | None = None
            self._done: set[int] = set()
            self._sizes: dict[int, int] = {}
            self._dropped: set[tuple[int, str]] = set()
            try:
                return super().preprocess(nb, resources, km)
            except Exception as error:  # noqa: BLE001 - kernel failed to start or to shut down
                self._stop(f"kernel failure: {type(error).__name__}: {error}".strip())
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and index not in self._done:
                        cell.outputs = [_error_output("NotRun", f"not run: {self._stopped}")]
                return nb, self.resources if hasattr(self, "resources") else resources

        def _stop(self, reason: str) -> None:
            if self._stopped is None:
                self._stopped = reason
                self.events.append(reason)
                self.shutdown_kernel = "immediate"

        def _get_timeout(self, cell: Any) -> int | None:
            timeout = super()._get_timeout(cell)
            if self._deadline is None:
                return timeout
            left = max(1, int(self._deadline - time.monotonic() + 0.999))
            return left if timeout is None else min(timeout, left)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
            if cell.cell_type != "code":
                return cell, resources
            name = _cell_name(cell, index)
            if self._stopped is None and self._deadline is not None and time.monotonic() >= self._deadline:
                self._stop(f"notebook time limit of {self.time_limit:g} s reached before {name}")
            if self._stopped is not None:
                cell.outputs = [_error_output("NotRun", f"not run: {self._stopped}")]
                self._done.add(index)
                return cell, resources
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                cell.outputs.append(_error_output(
                    "KernelDied", "the kernel died while running this cell (it exited, crashed or ran out of "
                    "memory)"))
                self._stop(f"kernel died in {name}")
            except CellTimeoutError as error:
                cell.outputs.append(_error_output("CellTimeoutError", f"the cell did not stop: {error}"))
                self._stop(f"{name} did not stop after its timeout (kernel unresponsive)")
            finally:
                self._done.add(index)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and (
                        output.get("ename") == "MemoryError" or "can't allocate memory" in output.get("evalue", "")):
                    self.events.append(f"{name}: ran out of memory ({output.get('ename')})")
                elif output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                    self.events.append(f"{name}: timed out")
            return cell, resources

        def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
            msg_type = msg["msg_type"]
            if msg_type not in ("stream", "display_data", "update_display_data"):
                return super().output(outs, msg, display_id, cell_index)  # errors and results always count
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            used = self._sizes.get(cell_index, 0)
            if used + size <= self.output_limit:
                self._sizes[cell_index] = used + size
                return super().output(outs, msg, display_id, cell_index)
            stream = content.get("name", "stdout") if msg_type == "stream" else "stdout"
            if (cell_index, stream) not in self._dropped:
                self._dropped.add((cell_index, stream))
                self.events.append(f"{_cell_name(self.nb.cells[cell_index], cell_index)}: output over "
                                   f"{self.output_limit} bytes truncated")
                marker = {"msg_type": "stream", "parent_header": msg.get("parent_header", {}), "header": msg["header"],
                          "content": {"name": stream,
                                      "text": f"\n[labs: output truncated, more than {self.output_limit} bytes]\n"}}
                return super().output(outs, marker, None, cell_index)
            return None

    return ResilientExecute


def _become_subreaper() -> None:
    """Make orphaned descendants (daemons a submission starts) children of this process (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _kill_descendants(pid: int | None = None) -> int:
    """Kill every descendant of ``pid`` (default: this process); returns how many were alive."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=5)
    return len(children)


def _apply_limits(limits: Limits) -> None:
    """Resource limits inherited by the kernel: address space, no core dumps, bounded file size."""
    for kind, value in ((resource.RLIMIT_AS, limits.memory_limit + ADDRESS_SPACE_HEADROOM),
                        (resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 1 * GIB)):
        with contextlib.suppress(ValueError, OSError):
            soft, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, hard))


def _worker_env(limits: Limits, folder: Path) -> None:
    """The kernel's environment: no database URL or course path, private Jupyter runtime files (connection
    keys of other students' kernels out of reach), bounded math-library threads."""
    os.environ.pop("LABS_DB_URL", None)
    os.environ.pop("OLDPWD", None)
    os.environ["PWD"] = str(folder)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(folder / ".runtime")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(max(1, limits.threads))


def _swap_execute(preprocessors: list, resilient: type) -> list:
    """nbgrader's autograde preprocessors with ``Execute`` replaced by ``resilient``."""
    from nbgrader.preprocessors import Execute

    swapped = []
    for pp in preprocessors:
        is_execute = pp is Execute or pp in ("nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute")
        swapped.append(resilient if is_execute else pp)
    return swapped


def _autograde_in_sandbox(jobdir: Path, spec: dict) -> dict:
    """Run nbgrader's Autograde converter on the private course in ``jobdir``; return the result as a dict."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    limits = Limits(**spec["limits"])
    student, assignment = spec["student"], spec["assignment"]
    url = f"sqlite:///{jobdir / 'gradebook.db'}"
    resilient = _make_resilient_execute()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(jobdir)).load_config()
    config.CourseDirectory.root = str(jobdir)
    config.CourseDirectory.db_url = url
    if limits.cell_timeout:
        config.Execute.timeout = limits.cell_timeout
    config.ResilientExecute.time_limit = float(limits.time_limit)
    config.ResilientExecute.output_limit = int(limits.output_limit)
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    current = config.Autograde.get("autograde_preprocessors", default)
    config.Autograde.autograde_preprocessors = _swap_execute(list(current), resilient)

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = assignment, student
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force, converter.create_student = True, True
    result: dict[str, Any] = {"status": "graded", "reason": "", "notes": []}
    try:
        converter.start()
    except Exception as error:  # noqa: BLE001 - recorded, the batch goes on
        result.update(status="failed", reason=f"nbgrader could not grade it: {type(error).__name__}: {error}")
    logging.info("notebook graded; cleaning up")
    leftovers = _kill_descendants()
    logging.info("cleanup done")
    if leftovers:
        result["notes"].append(f"killed {leftovers} process(es) the submission left running")
    result["notes"].extend(resilient.events)
    if resilient.events and not result["reason"]:
        result["reason"] = "; ".join(resilient.events[:3])

    scores: dict[str, dict] = {}
    comments: dict[str, dict] = {}
    penalty: dict[str, float | None] = {}
    with Gradebook(url, spec["course_id"]) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except Exception:  # noqa: BLE001 - nbgrader failed before creating it
            submission = None
        if submission is not None:
            result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
            for notebook in submission.notebooks:
                scores[notebook.name] = {g.name: g.auto_score for g in notebook.grades}
                comments[notebook.name] = {c.name: c.auto_comment for c in notebook.comments}
                penalty[notebook.name] = notebook.late_submission_penalty
    result.update(scores=scores, comments=comments, late_penalty=penalty)
    mismatch = _cross_check(jobdir / "autograded" / student / assignment, scores)
    if mismatch:
        result["notes"].append(f"gradebook scores differ from the graded notebook ({mismatch}): "
                               "the submission may have written to the gradebook")
        result["status"], result["reason"] = "failed", "gradebook tampering suspected"
    return result


def _cross_check(folder: Path, scores: dict[str, dict]) -> str:
    """Compare the saved scores with nbgrader's own grading of the written notebook; '' when they agree."""
    import nbformat
    from nbgrader.utils import determine_grade, is_grade

    for name, cells in scores.items():
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if is_grade(cell) and cell.cell_type == "code":
                grade_id = cell.metadata.nbgrader["grade_id"]
                expected, _ = determine_grade(cell)
                if grade_id in cells and cells[grade_id] != expected:
                    return f"{grade_id}: saved {cells[grade_id]}, notebook says {expected}"
    return ""


_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
_KEPT_FLAGS = 2 | 4 | 8 | 1024 | 2048 | 4096  # nosuid, nodev, noexec, noatime, nodiratime, relatime
#: Folders and files of the course a submission has no business seeing while it is graded.
HIDDEN_IN_COURSE = ("submitted", "autograded", "feedback", "source", "release", "reports", "downloaded", ".work")


def _mount(libc: Any, source: str | None, target: str | Path, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    enc = (lambda v: None if v is None else str(v).encode())  # noqa: E731 - local helper
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def _seal(course_root: str | None, jobdir: Path) -> str:
    """Give this sandbox (and the kernel it starts) its own view of the file system (Linux namespaces).

    The course folder becomes read-only, its submitted/, autograded/, source/ ... folders and its gradebook
    appear empty, and the sibling sandboxes of other students are hidden. Returns '' on success, else a note
    saying why the sandbox runs without it (no namespaces in this container, say): grading goes on.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNS) != 0:
            uid, gid = os.getuid(), os.getgid()
            if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "unshare: " + os.strerror(ctypes.get_errno()))
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE)
        root = Path(course_root).resolve() if course_root else None
        if root is not None and root.is_dir() and not jobdir.resolve().is_relative_to(root):
            _mount(libc, str(root), root, None, _MS_BIND | _MS_REC)
            kept = os.statvfs(root).f_flag & _KEPT_FLAGS
            _mount(libc, None, root, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | kept)
            for name in HIDDEN_IN_COURSE:
                if (root / name).is_dir():
                    _mount(libc, "tmpfs", root / name, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, "size=4k,mode=555")
            for path in root.glob("*.db*"):
                if path.is_file():
                    _mount(libc, "/dev/null", path, None, _MS_BIND)
        parent = jobdir.parent
        handle = os.open(jobdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _mount(libc, "tmpfs", parent, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=700")
            jobdir.mkdir()
            _mount(libc, f"/proc/self/fd/{handle}", jobdir, None, _MS_BIND)
        finally:
            os.close(handle)
        return ""
    except (OSError, AttributeError) as error:
        return f"no file-system sandbox on this machine ({error}); the submission saw the real file system"


def _worker_entry(jobdir: str) -> None:
    """Entry point of a sandbox process (started by :func:`grade_job`): grade, write ``result.json``."""
    os.setsid()
    folder = Path(jobdir)
    log = open(folder / "worker.log", "ab", buffering=0)  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    logging.basicConfig(level=logging.INFO, force=True, format="%(asctime)s %(levelname)s %(message)s")
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's add_submission, harmless
    logging.info("sandbox started")
    spec = json.loads((folder / "job.json").read_text())
    _become_subreaper()
    _apply_limits(Limits(**spec["limits"]))
    sealed = _seal(spec.get("course_root"), folder)
    _worker_env(Limits(**spec["limits"]), folder)
    os.chdir(folder)
    try:
        result = _autograde_in_sandbox(folder, spec)
    except BaseException as error:  # noqa: BLE001 - written for the parent to read
        result = {"status": "error", "reason": f"grader error: {type(error).__name__}: {error}", "notes": []}
    if sealed:
        result.setdefault("notes", []).append(sealed)
    logging.info("result ready")
    tmp = folder / "result.json.tmp"
    tmp.write_text(json.dumps(result))
    tmp.replace(folder / "result.json")


# --------------------------------------------------------------------------------------------------
# One job: private course, sandbox process, watchdog
# --------------------------------------------------------------------------------------------------

class Zygote:
    """A small fork server: one process with nbgrader already imported that forks a fresh sandbox per job.

    Starting a Python process and importing nbgrader takes ~3 s; forking a warm, single-threaded zygote
    takes milliseconds. The zygote reads job folders on stdin and answers with the pid of the sandbox it
    forked (it reaps its children itself). One zygote per process that grades, started on first use.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._environment: dict[str, str] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the zygote now (it imports nbgrader while the caller prepares the jobs).

        A zygote started under another environment is replaced: sandboxes (and kernels) always inherit the
        caller's current environment, as a plain ``nbgrader autograde`` would.
        """
        from labs.grading.coursedir import tool_env

        environment = tool_env()
        if self._process is not None and self._process.poll() is None and self._environment != environment:
            self.close()
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._environment = environment
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "labs.grading.run", "--zygote"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment, start_new_session=True,
                    cwd=tempfile.gettempdir())

    def fork(self, jobdir: Path) -> int:
        """Fork a sandbox that grades ``jobdir``; returns its pid."""
        self.start()
        with self._lock:
            assert self._process is not None
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(f"{jobdir}\n".encode())
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line.strip():
            raise RuntimeError("the grading fork server stopped")
        return int(line)

    def close(self) -> None:
        """Stop the zygote (its sandboxes are supervised and killed by their callers)."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self._process = None


def _zygote_main() -> None:
    """The zygote's loop: import nbgrader once, then fork one sandbox per job folder read on stdin."""
    import jupyter_client  # noqa: F401 - imported once here, inherited by every fork
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    import nbgrader.api  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    import psutil  # noqa: F401
    import traitlets.config.loader  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        jobdir = line.strip()
        if not jobdir:
            continue
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                _worker_entry(jobdir)
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


_ZYGOTE = Zygote()
atexit.register(_ZYGOTE.close)


class _Sandbox:
    """Handle on a forked sandbox process (not our child: the zygote reaps it)."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.pid = pid
        try:
            self._process: Any = psutil.Process(pid)
        except psutil.Error:
            self._process = None

    def is_alive(self) -> bool:
        import psutil

        try:
            return self._process is not None and self._process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def join(self, timeout: float) -> None:
        import psutil

        with contextlib.suppress(psutil.Error):
            if self._process is not None:
                self._process.wait(timeout)

    def kill(self) -> None:
        import psutil

        with contextlib.suppress(psutil.Error):
            if self._process is not None:
                self._process.kill()


_LIVE: set[_Sandbox] = set()  # sandboxes being supervised in this process


def stop_all() -> None:
    """Kill every running sandbox of this process with its kernels (on Ctrl-C: finished work is kept)."""
    for sandbox in list(_LIVE):
        _kill_descendants(sandbox.pid)
        sandbox.kill()


def _write_private_course(job: GradeJob, jobdir: Path) -> None:
    """Lay out the private course: config, gradebook, source extras, the student's files, job.json."""
    (jobdir / "nbgrader_config.py").write_text(job.config_text)
    (jobdir / "gradebook.db").write_bytes(job.template_db)
    for root_name, files in ((Path("source") / job.assignment, job.source_files),
                             (Path("submitted") / job.student / job.assignment, job.files)):
        for rel, content in files.items():
            target = (jobdir / root_name / rel).resolve()
            if not target.is_relative_to(jobdir.resolve()):
                raise ValueError(f"file outside the submission folder: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    (jobdir / "source" / job.assignment).mkdir(parents=True, exist_ok=True)
    spec = {"student": job.student, "assignment": job.assignment, "course_id": job.course_id,
            "limits": asdict(job.limits), "course_root": job.course_root}
    (jobdir / "job.json").write_text(json.dumps(spec))


def _tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes of ``pid`` itself, resident bytes of all its descendants)."""
    import psutil

    try:
        process = psutil.Process(pid)
        own = process.memory_info().rss
        children = process.children(recursive=True)
    except psutil.Error:
        return 0, 0
    total = 0
    for child in children:
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return own, total


def _descendants(pid: int) -> dict[int, float]:
    """pid -> start time of every process below ``pid`` (to kill them later even if they were orphaned)."""
    import psutil

    found = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                found[child.pid] = child.create_time()
    return found


def _kill_known(known: dict[int, float]) -> None:
    """Kill the processes of ``known`` that still run (checked by start time, so a reused pid is spared)."""
    import psutil

    for pid, started in known.items():
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == started:
                process.kill()


def _supervise(process: _Sandbox, job: GradeJob) -> tuple[str, list[str]]:
    """Wait for the sandbox; enforce the time and memory limits. Returns (kill reason or '', notes).

    Every process the sandbox started is remembered, so that a kernel orphaned by a dying sandbox (one
    that killed its own grader, say) is killed too.
    """
    notes: list[str] = []
    known: dict[int, float] = {}
    hard_limit = job.limits.time_limit * max(1, len(job.notebooks)) + GRACE_SECONDS
    start = time.monotonic()
    killed = ""
    while process.is_alive():
        process.join(0.5)
        if not process.is_alive():
            break
        known.update(_descendants(process.pid))
        elapsed = time.monotonic() - start
        if elapsed > hard_limit:
            killed = f"time limit: still running after {elapsed:.0f} s, killed"
            break
        own, kernels = _tree_rss(process.pid)
        if kernels > job.limits.memory_limit:
            _kill_descendants(process.pid)
            notes.append(f"memory limit: the kernel used {kernels / GIB:.1f} GiB (limit "
                         f"{job.limits.memory_limit / GIB:.1f} GiB) and was killed")
        if own > WORKER_MEMORY:
            killed = f"memory limit: the grading process used {own / GIB:.1f} GiB, killed"
            break
    if killed:
        _kill_descendants(process.pid)
        process.kill()
        process.join(10)
    _kill_known(known)
    return killed, notes


def _read_back(folder: Path, notes: list[str]) -> dict[str, bytes]:
    """The files of a sandbox's autograded folder (bounded in total size)."""
    files: dict[str, bytes] = {}
    total = 0
    if not folder.is_dir():
        return files
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        size = path.stat().st_size
        if total + size > MAX_RESULT_BYTES:
            notes.append(f"not kept (too large): {path.relative_to(folder)} ({size} bytes)")
            continue
        total += size
        files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


_PARENT: list[Path] = []


def _job_parent() -> Path:
    """The folder that holds this process's private courses (one folder, hidden from each sandbox)."""
    if not _PARENT or not _PARENT[0].is_dir():
        _PARENT[:] = [Path(tempfile.mkdtemp(prefix="labs-grading-"))]
        if not os.environ.get("LABS_KEEP_SANDBOX"):
            atexit.register(shutil.rmtree, _PARENT[0], True)
    return _PARENT[0]


def grade_job(job: GradeJob) -> GradeResult:
    """Grade one student's submission in a sandbox process and return what it produced.

    Top-level and free of shared state on purpose: this is the function an :class:`~labs.grading.executor.
    Executor` hands to its workers.
    """
    start = time.monotonic()
    jobdir = Path(tempfile.mkdtemp(prefix="job-", dir=_job_parent()))
    try:
        _write_private_course(job, jobdir)
        process = _Sandbox(_ZYGOTE.fork(jobdir))
        _LIVE.add(process)
        try:
            killed, notes = _supervise(process, job)
        finally:
            _LIVE.discard(process)
        result_file = jobdir / "result.json"
        if killed or not result_file.exists():
            reason = killed or "the grading process died before it could save a result"
            result = GradeResult(job.student, job.assignment, "failed", reason, notes)
        else:
            data = json.loads(result_file.read_text())
            result = GradeResult(job.student, job.assignment, data["status"], data.get("reason", ""),
                                 notes + data.get("notes", []), data.get("scores", {}), data.get("comments", {}),
                                 data.get("late_penalty", {}), data.get("timestamp"))
            memory = [n for n in notes if n.startswith("memory limit")]
            if memory:
                result.reason = "; ".join(memory[:1] + ([result.reason] if result.reason else []))
            result.files = _read_back(jobdir / "autograded" / job.student / job.assignment, result.notes)
        log = jobdir / "worker.log"
        if result.status != "graded" and log.exists():
            lines = [line for line in log.read_text(errors="replace").splitlines() if "has changed!" not in line]
            result.notes.append("grader log (last lines): " + " | ".join(lines[-8:])[-1500:])
    finally:
        if os.environ.get("LABS_KEEP_SANDBOX"):  # debugging: keep the private course and its worker.log
            logging.getLogger(__name__).warning("sandbox of %s kept in %s", job.student, jobdir)
        else:
            shutil.rmtree(jobdir, ignore_errors=True)
    result.seconds = time.monotonic() - start
    return result


# --------------------------------------------------------------------------------------------------
# The main process: prepare jobs, merge results (single writer), remember what is done
# --------------------------------------------------------------------------------------------------


def course_config(root: Path) -> tuple[str, str]:
    """(course_id, db_url) from the course's nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return str(config.CourseDirectory.get("course_id", "default_course") or "default_course"), db_url(root)


def template_gradebook(url: str, course_id: str, assignment: str, path: Path) -> None:
    """Write a fresh SQLite gradebook at ``path`` holding only ``assignment``'s structure from ``url``.

    nbgrader's own tables and ORM classes, filled in one transaction (the per-row ``update_or_create_*``
    calls take seconds); the schema version is copied from the main gradebook, so no ``alembic`` run.
    """
    from nbgrader.api import (
        Assignment,
        Base,
        Gradebook,
        GradeCell,
        MissingEntry,
        Notebook,
        SolutionCell,
        SourceCell,
        TaskCell,
    )
    from sqlalchemy import create_engine, text

    with Gradebook(url, course_id) as main:
        try:
            source = main.find_assignment(assignment)
        except MissingEntry:
            raise RuntimeError(f"{assignment} is not in the gradebook: run `labs release {assignment}` "
                               "(nbgrader generate_assignment) first") from None
        version = main.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
        engine.dispose()
        with Gradebook(f"sqlite:///{path}", course_id) as copy:
            target = Assignment(name=source.name, duedate=source.duedate, course_id=course_id)
            rows: list[Any] = [target]
            for nb in source.notebooks:
                notebook = Notebook(name=nb.name, assignment=target, kernelspec=nb.kernelspec)
                rows.append(notebook)
                rows += [GradeCell(name=c.name, notebook=notebook, max_score=c.max_score, cell_type=c.cell_type)
                         for c in nb.grade_cells]
                rows += [SolutionCell(name=c.name, notebook=notebook) for c in nb.solution_cells]
                rows += [TaskCell(name=c.name, notebook=notebook, max_score=c.max_score, cell_type=c.cell_type)
                         for c in nb.task_cells]
                rows += [SourceCell(name=c.name, notebook=notebook, cell_type=c.cell_type, locked=c.locked,
                                    source=c.source, checksum=c.checksum) for c in nb.source_cells]
            copy.db.add_all(rows)
            copy.db.commit()


def notebook_names(url: str, course_id: str, assignment: str) -> list[str]:
    """Names of the assignment's notebooks in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id) as gradebook:
        return sorted(nb.name for nb in gradebook.find_assignment(assignment).notebooks)


def submission_files(root: Path, student: str, assignment: str, ignore: Iterable[str] = ()) -> dict[str, bytes]:
    """The files of ``submitted/<student>/<assignment>/`` (relative path -> bytes), read-only."""
    import fnmatch

    folder = root / "submitted" / student / assignment
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(
                fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in ignore):
            files[rel.as_posix()] = path.read_bytes()
    return files


def digest(files: dict[str, bytes]) -> str:
    """A content hash of a set of files (names and bytes)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def tree_digest(folder: Path) -> str:
    """A content hash of every file under ``folder`` (used to prove ``submitted/`` was not touched)."""
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} \
        if folder.is_dir() else {}
    return digest(files)


def state_path(root: Path, assignment: str, student: str) -> Path:
    """Where the outcome of grading ``student`` is remembered between runs."""
    return root / STATE_DIR / assignment / f"{student}.json"


def load_outcome(root: Path, assignment: str, student: str) -> Outcome | None:
    """The remembered outcome of the last grading of ``student`` (None if never graded by this tool)."""
    path = state_path(root, assignment, student)
    if not path.exists():
        return None
    with contextlib.suppress(ValueError, TypeError):
        return Outcome(**json.loads(path.read_text()))
    return None


def save_outcome(root: Path, assignment: str, outcome: Outcome) -> None:
    """Remember ``outcome`` (atomically)."""
    path = state_path(root, assignment, outcome.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(outcome), indent=1, sort_keys=True))
    tmp.replace(path)


def with_retries(action: Callable[[], Any], attempts: int = 30, delay: float = 0.2) -> Any:
    """Run a gradebook write, retrying while the database is locked by another process."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            return action()
        except OperationalError as error:
            if attempt == attempts - 1 or not any(word in str(error).lower() for word in ("locked", "busy")):
                raise
            time.sleep(min(5.0, delay * 1.5**attempt))
    return None


def merge_result(url: str, course_id: str, result: GradeResult, flagged: bool = False) -> None:
    """Write one result into the main gradebook through nbgrader's API, as nbgrader's SaveAutoGrades would.

    A failed submission without scores gets 0 on its autograded cells and is left for manual review.
    Manual scores a grader already gave are never touched.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    def write() -> None:
        with warnings.catch_warnings(), Gradebook(url, course_id) as gradebook:
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips an autoflush warning
            gradebook.update_or_create_student(result.student)
            extra = {"timestamp": result.timestamp} if result.timestamp else {}
            submission = gradebook.update_or_create_submission(result.assignment, result.student, **extra)
            for notebook in submission.notebooks:
                scores = result.scores.get(notebook.name)
                comments = result.comments.get(notebook.name, {})
                for grade in notebook.grades:
                    if scores is not None:
                        grade.auto_score = scores.get(grade.name)
                    else:
                        grade.auto_score = 0.0 if grade.cell.cell_type == "code" else None
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None \
                        or scores is None
                for comment in notebook.comments:
                    comment.auto_comment = comments.get(comment.name)
                notebook.late_submission_penalty = result.late_penalty.get(notebook.name)
                if flagged:
                    notebook.flagged = True
            gradebook.db.commit()

    with_retries(write)


def install_autograded(root: Path, result: GradeResult) -> None:
    """Replace ``autograded/<student>/<assignment>/`` with the result's files (only when there are some)."""
    if not result.files:
        return
    dest = root / "autograded" / result.student / result.assignment
    staging = dest.parent / f".{result.assignment}.incoming"
    shutil.rmtree(staging, ignore_errors=True)
    for rel, content in result.files.items():
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o444)
    old = dest.parent / f".{result.assignment}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


@dataclass
class Prepared:
    """A job ready to run, or a result known without running (invalid notebook, nothing to grade)."""

    outcome: Outcome
    job: GradeJob | None = None
    result: GradeResult | None = None


def prepare(root: Path, assignment: str, student: str, base: dict, repair: bool = True) -> Prepared:
    """Read a submission, repair its notebooks against the release, audit it and build its job."""
    import nbformat

    from labs.grading.audit import audit_notebook
    from labs.grading.repair import repair_notebook

    files = submission_files(root, student, assignment, base["ignore"])
    outcome = Outcome(student, "pending", digest=digest(files))
    for name in base["notebooks"]:
        key = f"{name}.ipynb"
        if key not in files:
            others = ", ".join(sorted(files)) or "none"
            outcome.notes.append(f"no {key} in the submission (files: {others})")
            continue
        try:
            nb = nbformat.reads(files[key].decode("utf-8"), as_version=4)
            if not isinstance(nb.get("cells"), list):
                raise ValueError("no list of cells")
        except Exception as error:  # noqa: BLE001 - any parse failure means "not a notebook"
            reason = f"{key} is not a valid notebook: {type(error).__name__}: {str(error)[:200]}"
            return Prepared(outcome, result=GradeResult(student, assignment, "failed", reason))
        release = base["releases"].get(name)
        if release is None:
            continue
        fixed, report = repair_notebook(nb, release)
        outcome.flags.extend(asdict(flag) for flag in audit_notebook(
            nb, release, notebook=name, test_sources=base["tests"].get(name, {}), repair=report))
        if repair and report.changed:
            outcome.repairs[name] = report.actions
            files[key] = nbformat.writes(fixed).encode("utf-8")
    if not any(f"{name}.ipynb" in files for name in base["notebooks"]):
        reason = "; ".join(outcome.notes) or "no notebook to grade"
        return Prepared(outcome, result=GradeResult(student, assignment, "failed", reason))
    job = GradeJob(student, assignment, base["course_id"], base["notebooks"], base["config_text"],
                   base["template_db"], files, base["source_files"], base["limits"], str(root.resolve()))
    return Prepared(outcome, job=job)


def _batch_base(root: Path, assignment: str, limits: Limits) -> dict:
    """What every job of a batch shares: config, template gradebook, release notebooks, hidden tests."""
    import nbformat
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    course_id, url = course_config(root)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    ignore = list(config.CourseDirectory.get("ignore", [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]))
    with tempfile.TemporaryDirectory(prefix="labs-template-") as tmp:
        template = Path(tmp) / "gradebook.db"
        template_gradebook(url, course_id, assignment, template)
        template_db = template.read_bytes()
    names = notebook_names(url, course_id, assignment)
    releases = {}
    for name in names:
        path = root / "release" / assignment / f"{name}.ipynb"
        if path.exists():
            releases[name] = nbformat.read(path, as_version=4)
    tests: dict[str, dict[str, str]] = {}
    with Gradebook(url, course_id) as gradebook:
        for nb in gradebook.find_assignment(assignment).notebooks:
            graded = {c.name for c in nb.grade_cells}
            tests[nb.name] = {c.name: c.source for c in nb.source_cells if c.locked and c.name in graded}
    source_dir = root / "source" / assignment
    source_files = {}
    if source_dir.is_dir():
        import fnmatch

        for path in sorted(source_dir.rglob("*")):
            rel = path.relative_to(source_dir)
            if path.is_file() and path.suffix != ".ipynb" and not any(
                    fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in ignore):
                source_files[rel.as_posix()] = path.read_bytes()
    return {"course_id": course_id, "url": url, "config_text": (root / "nbgrader_config.py").read_text(),
            "template_db": template_db, "notebooks": names, "releases": releases, "tests": tests,
            "source_files": source_files, "limits": limits, "ignore": ignore}


def _result_outcome(prepared: Prepared, result: GradeResult) -> Outcome:
    outcome = prepared.outcome
    outcome.status, outcome.reason = result.status, result.reason
    outcome.notes = outcome.notes + result.notes
    outcome.seconds = round(result.seconds, 2)
    return outcome


def autograde(
    root: Path,
    assignment: str,
    *,
    workers: int | None = None,
    force: bool = False,
    students: list[str] | None = None,
    limits: Limits | None = None,
    repair: bool = True,
    progress: bool = True,
    executor: Executor | None = None,
) -> list[Outcome]:
    """Autograde ``assignment`` for every submitted student (or ``students``), ``workers`` at a time.

    Students already graded from the same files are skipped unless ``force``. Every result goes into the
    main gradebook (one writer), ``autograded/`` and ``.work/grading/<assignment>/``; ``submitted/`` is
    checked to be unchanged at the end. ``executor`` replaces the local one (a cluster, later); it is
    given :func:`grade_job` and the jobs. Returns one :class:`Outcome` per student.
    """
    from tqdm import tqdm

    from labs.grading.executor import LocalExecutor, default_workers

    workers = workers or default_workers()
    limits = limits or Limits(threads=max(1, default_workers() // workers))
    if executor is None:
        _ZYGOTE.start()  # imports nbgrader in the background while the jobs are prepared
    available = submitted_students(root, assignment)
    names = students or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise ValueError(f"no submitted/<student>/{assignment}/ folder for: {', '.join(unknown)}")
    before = tree_digest(root / "submitted")
    base = _batch_base(root, assignment, limits)
    outcomes: dict[str, Outcome] = {}
    pending: dict[str, Prepared] = {}
    graded = _graded_students(base["url"], base["course_id"], assignment)
    for student in names:
        prepared = prepare(root, assignment, student, base, repair=repair)
        previous = load_outcome(root, assignment, student)
        if (not force and previous is not None and previous.digest == prepared.outcome.digest
                and previous.status in FINAL_STATUSES and student in graded):
            previous_status = previous.status
            previous.status = "skipped"
            previous.reason = f"already {previous_status}" + (f": {previous.reason}" if previous.reason else "")
            outcomes[student] = previous
            continue
        if prepared.result is not None:
            _finish(root, base, prepared, prepared.result, outcomes)
        else:
            pending[student] = prepared
    own_executor = executor is None
    executor = executor or LocalExecutor(workers)
    try:
        bar = tqdm(total=len(pending), desc=f"autograde {assignment}", unit="nb", disable=not progress)
        jobs = [p.job for p in pending.values()]
        for job, result in executor.run(grade_job, jobs):
            if isinstance(result, BaseException):
                result = GradeResult(job.student, assignment, "error", f"grader error: {result!r}")
            _finish(root, base, pending[job.student], result, outcomes)
            bar.update(1)
            bar.set_postfix(failed=sum(o.status != "graded" for o in outcomes.values() if o.status != "skipped"))
        bar.close()
    except KeyboardInterrupt:
        stop_all()  # what finished is saved; the rest is graded on the next run
        raise
    finally:
        if own_executor:
            executor.close()
    if tree_digest(root / "submitted") != before:
        raise RuntimeError("submitted/ changed during grading: this must never happen, check the sandbox")
    return [outcomes[s] for s in names if s in outcomes]


def _graded_students(url: str, course_id: str, assignment: str) -> set[str]:
    """Students that have a submission of ``assignment`` in the main gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id) as gradebook:
        return {s.student.id for s in gradebook.assignment_submissions(assignment)}


def _finish(root: Path, base: dict, prepared: Prepared, result: GradeResult, outcomes: dict[str, Outcome]) -> None:
    """Merge one result (gradebook, autograded/, state) unless it is a grader error."""
    outcome = _result_outcome(prepared, result)
    if result.status != "error":
        merge_result(base["url"], base["course_id"], result, flagged=bool(outcome.flags))
        install_autograded(root, result)
    save_outcome(root, result.assignment, outcome)
    outcomes[outcome.student] = outcome


if __name__ == "__main__" and sys.argv[1:] == ["--zygote"]:
    _zygote_main()
