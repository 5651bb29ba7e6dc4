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

The pieces: :mod:`labs.grading.jobs` (the data), :mod:`labs.grading.sandbox` (the sandbox process),
:mod:`labs.grading.execute` (nbgrader inside it), :mod:`labs.grading.gradebook` (the main gradebook) and
:mod:`labs.grading.state` (what is done); this module prepares the jobs, grades them and merges the results.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labs.grading.coursedir import nbgrader, submitted_students
from labs.grading.gradebook import course_config, graded_students, merge_result, notebook_names, template_gradebook
from labs.grading.jobs import FINAL_STATUSES, MAX_RESULT_BYTES, GradeJob, GradeResult, Limits, Outcome, Status
from labs.grading.sandbox import run_sandboxed, write_private_course
from labs.grading.state import digest, load_outcome, save_outcome, tree_digest

__all__ = ["autograde", "autograde_serial", "grade_job", "submitted_students"]


# --------------------------------------------------------------------------------------------------
# Plain nbgrader (the reference)
# --------------------------------------------------------------------------------------------------


def autograde_serial(root: Path, assignment: str, force: bool = True) -> None:
    """Plain ``nbgrader autograde`` of every submitted student (the reference the parallel runner matches)."""
    args = ["autograde", assignment, "--create"]
    if force:
        args.append("--force")
    nbgrader(root, *args)


# --------------------------------------------------------------------------------------------------
# One job: private course, sandbox process, result
# --------------------------------------------------------------------------------------------------


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
        write_private_course(job, jobdir)
        killed, notes = run_sandboxed(job, jobdir)
        result_file = jobdir / "result.json"
        if killed or not result_file.exists():
            reason = killed or "the grading process died before it could save a result"
            result = GradeResult(job.student, job.assignment, Status.FAILED, reason, notes)
        else:
            data = json.loads(result_file.read_text())
            result = GradeResult(job.student, job.assignment, data["status"], data.get("reason", ""),
                                 notes + data.get("notes", []), data.get("scores", {}), data.get("comments", {}),
                                 data.get("late_penalty", {}), data.get("timestamp"), records=data.get("records", {}),
                                 flags=data.get("flags", []))
            result.kernels = data.get("kernels", {})
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
    result.worker = worker_name()
    return result


def worker_name() -> str:
    """Which machine and process graded a job: ``host/pid``."""
    return f"{socket.gethostname()}/{os.getpid()}"


# --------------------------------------------------------------------------------------------------
# The main process: prepare jobs, merge results (single writer), remember what is done
# --------------------------------------------------------------------------------------------------


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
class BatchBase:
    """What every job of a batch shares: the course, its config and template gradebook, the release notebooks
    (to repair and audit against) and the locked test cells (for the audit)."""

    course_id: str
    url: str
    config_text: str
    template_db: bytes
    notebooks: list[str]
    releases: dict[str, Any]
    tests: dict[str, dict[str, str]]
    source_files: dict[str, bytes]
    limits: Limits
    ignore: list[str] = field(default_factory=list)
    cold_kernels: bool = False  # every kernel a new process (no warm fork, labs.grading.warm)
    expected_records: dict[str, dict[str, dict[str, list[str]]]] | None = None  # see labs.grading.reference
    verdicts: bool = True  # seal test cells and check their verdicts (off only to measure what they cost)


@dataclass
class Prepared:
    """A job ready to run, or a result known without running (invalid notebook, nothing to grade)."""

    outcome: Outcome
    job: GradeJob | None = None
    result: GradeResult | None = None


def prepare(root: Path, assignment: str, student: str, base: BatchBase, repair: bool = True) -> Prepared:
    """Read a submission, repair its notebooks against the release, audit it and build its job."""
    import nbformat

    from labs.grading.audit import audit_notebook
    from labs.grading.repair import repair_notebook

    files = submission_files(root, student, assignment, base.ignore)
    outcome = Outcome(student, Status.PENDING, digest=digest(files))
    for name in base.notebooks:
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
            return Prepared(outcome, result=GradeResult(student, assignment, Status.FAILED, reason))
        release = base.releases.get(name)
        if release is None:
            continue
        fixed, report = repair_notebook(nb, release)
        outcome.flags.extend(asdict(flag) for flag in audit_notebook(
            nb, release, notebook=name, test_sources=base.tests.get(name, {}), repair=report))
        if repair and report.changed:
            outcome.repairs[name] = report.actions
            files[key] = nbformat.writes(fixed).encode("utf-8")
    if not any(f"{name}.ipynb" in files for name in base.notebooks):
        reason = "; ".join(outcome.notes) or "no notebook to grade"
        return Prepared(outcome, result=GradeResult(student, assignment, Status.FAILED, reason))
    job = GradeJob(student, assignment, base.course_id, base.notebooks, base.config_text, base.template_db, files,
                   base.source_files, base.limits, str(root.resolve()), expected_records=base.expected_records,
                   cold_kernels=base.cold_kernels, verdicts=base.verdicts)
    return Prepared(outcome, job=job)


def batch_base(root: Path, assignment: str, limits: Limits) -> BatchBase:
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
    return BatchBase(course_id, url, (root / "nbgrader_config.py").read_text(), template_db, names, releases, tests,
                     source_files, limits, ignore)


def _result_outcome(prepared: Prepared, result: GradeResult) -> Outcome:
    outcome = prepared.outcome
    outcome.status, outcome.reason = result.status, result.reason
    outcome.notes = outcome.notes + result.notes
    outcome.flags = outcome.flags + [flag for flag in result.flags if flag not in outcome.flags]
    outcome.seconds = round(result.seconds, 2)
    outcome.worker = result.worker
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
    cold_kernels: bool = False,
    verdicts: bool = True,
) -> list[Outcome]:
    """Autograde ``assignment`` for every submitted student (or ``students``).

    Jobs run on ``executor``, any ``concurrent.futures.Executor`` (a Dask cluster's, say); by default a
    :class:`~labs.grading.executor.LocalExecutor` with ``workers`` sandboxes at a time. Students already
    graded from the same files are skipped unless ``force``. This process alone writes the main gradebook,
    ``autograded/`` and ``.work/grading/<assignment>/``, in completion order; ``submitted/`` is checked to be
    unchanged at the end. Kernels start warm (forked, :mod:`labs.grading.warm`) unless ``cold_kernels``.
    Test cells are sealed and score only with a verdict that matches the trusted run of the solution
    (:mod:`labs.grading.verdicts`); ``verdicts=False`` grades as plain nbgrader does (to measure the cost).
    Returns one :class:`Outcome` per student.
    """
    from tqdm import tqdm

    from labs.grading.executor import LocalExecutor, default_workers, local_limits
    from labs.grading.reference import reference_records

    workers = workers or default_workers()
    limits = limits or local_limits(workers)
    available = submitted_students(root, assignment)
    names = students or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise ValueError(f"no submitted/<student>/{assignment}/ folder for: {', '.join(unknown)}")
    own_executor = executor is None
    executor = executor or LocalExecutor(workers)
    outcomes: dict[str, Outcome] = {}
    try:
        before = tree_digest(root / "submitted")
        base = batch_base(root, assignment, limits)
        base.cold_kernels = cold_kernels
        base.verdicts = verdicts
        if verdicts:
            base.expected_records = reference_records(root, assignment, limits)
        # each job is handed out as soon as it is prepared, so the workers start while the rest are read
        futures: dict[Future, Prepared] = {executor.submit(grade_job, p.job): p
                                           for p in _prepare_batch(root, assignment, names, base, force, repair,
                                                                   outcomes)}
        bar = tqdm(total=len(futures), desc=f"autograde {assignment}", unit="nb", disable=not progress)
        for future in as_completed(futures):
            prepared = futures[future]
            _finish(root, base, prepared, _result_of(future, prepared.job), outcomes)
            bar.update(1)
            bar.set_postfix(failed=sum(o.status not in (Status.GRADED, Status.SKIPPED) for o in outcomes.values()))
        bar.close()
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)  # what finished is saved; the rest runs next time
        raise
    finally:
        if own_executor:
            executor.shutdown(wait=True)
    if tree_digest(root / "submitted") != before:
        raise RuntimeError("submitted/ changed during grading: this must never happen, check the sandbox")
    return [outcomes[s] for s in names if s in outcomes]


def _prepare_batch(root: Path, assignment: str, names: list[str], base: BatchBase, force: bool, repair: bool,
                   outcomes: dict[str, Outcome]) -> Iterator[Prepared]:
    """Prepare each student's job in turn and yield the ones to run; record skipped and already-failed ones
    in ``outcomes``."""
    graded = graded_students(base.url, base.course_id, assignment)
    for student in names:
        prepared = prepare(root, assignment, student, base, repair=repair)
        previous = load_outcome(root, assignment, student)
        if (not force and previous is not None and previous.digest == prepared.outcome.digest
                and previous.status in FINAL_STATUSES and student in graded):
            previous_status = previous.status
            previous.status = Status.SKIPPED
            previous.reason = f"already {previous_status}" + (f": {previous.reason}" if previous.reason else "")
            outcomes[student] = previous
            continue
        if prepared.result is not None:
            _finish(root, base, prepared, prepared.result, outcomes)
        else:
            yield prepared


#: Exceptions of a cluster that mean the submission itself kept killing the workers that graded it.
WORKER_KILLERS = ("KilledWorker",)


def _result_of(future: Future, job: GradeJob) -> GradeResult:
    """The job's result, or what its exception means: the submission killed its workers (FAILED, recorded)
    or the grader broke (ERROR: nothing recorded, graded again on the next run)."""
    try:
        return future.result()
    except BaseException as error:  # noqa: BLE001 - every way a job can end is a result here
        if type(error).__name__ in WORKER_KILLERS:
            return GradeResult(job.student, job.assignment, Status.FAILED,
                               f"the submission killed the grading workers that ran it ({type(error).__name__})")
        return GradeResult(job.student, job.assignment, Status.ERROR, f"grader error: {error!r}")


def _finish(root: Path, base: BatchBase, prepared: Prepared, result: GradeResult,
            outcomes: dict[str, Outcome]) -> None:
    """Merge one result (gradebook, autograded/, state) unless it is a grader error."""
    outcome = _result_outcome(prepared, result)
    if result.status != Status.ERROR:
        merge_result(base.url, base.course_id, result, flagged=bool(outcome.flags))
        install_autograded(root, result)
    save_outcome(root, result.assignment, outcome)
    outcomes[outcome.student] = outcome
