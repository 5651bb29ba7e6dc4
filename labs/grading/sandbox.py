"""The per-student sandbox process: fork server, resource limits, file-system sealing and the watchdog.

A :class:`Zygote` (one per grading process) has nbgrader imported and forks one sandbox per job folder
(see :func:`write_private_course`). The sandbox seals its view of the file system, applies resource
limits and runs :func:`labs.grading.execute.autograde_in_sandbox`, writing ``result.json``; the caller
supervises it (:func:`run_sandboxed`) and kills it on the time or memory limit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from labs.grading import warm
from labs.grading.execute import autograde_in_sandbox
from labs.grading.jobs import ADDRESS_SPACE_HEADROOM, GIB, GRACE_SECONDS, WORKER_MEMORY, GradeJob, Limits
from labs.grading.processes import become_subreaper, descendants, kill_descendants, kill_known, tree_rss


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


_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
_KEPT_FLAGS = 2 | 4 | 8 | 1024 | 2048 | 4096  # nosuid, nodev, noexec, noatime, nodiratime, relatime
#: Folders and files of the course a submission has no business seeing while it is graded.
HIDDEN_IN_COURSE = ("submitted", "autograded", "feedback", "source", "release", "reports", "downloaded", ".work",
                    "reference")


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
    """Entry point of a sandbox process (forked for :func:`labs.grading.run.grade_job`): grade, write
    ``result.json``."""
    os.setsid()
    folder = Path(jobdir)
    with open(folder / "worker.log", "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    logging.basicConfig(level=logging.INFO, force=True, format="%(asctime)s %(levelname)s %(message)s")
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's add_submission, harmless
    logging.info("sandbox started")
    spec = json.loads((folder / "job.json").read_text())
    become_subreaper()
    _apply_limits(Limits(**spec["limits"]))
    sealed = _seal(spec.get("course_root"), folder)
    _worker_env(Limits(**spec["limits"]), folder)
    os.chdir(folder)
    if spec.get("warm"):
        _prepare_warm_kernels(folder, int(spec.get("kernels", 1)))
    try:
        result = autograde_in_sandbox(folder, spec)
    except BaseException as error:  # noqa: BLE001 - written for the parent to read
        result = {"status": "error", "reason": f"grader error: {type(error).__name__}: {error}", "notes": []}
    warm.release_spares()
    result["kernels"], kernel_notes = warm.report()
    result.setdefault("notes", []).extend(kernel_notes)
    if sealed:
        result.setdefault("notes", []).append(sealed)
    logging.info("result ready")
    tmp = folder / "result.json.tmp"
    tmp.write_text(json.dumps(result))
    tmp.replace(folder / "result.json")


def _prepare_warm_kernels(folder: Path, count: int) -> None:
    """Before nbgrader starts (this process is still single-threaded): the private kernelspec that selects
    the warm provisioner, and one spare per notebook forked from this process (see :mod:`labs.grading.warm`).
    On any failure the kernels start cold and the result says why."""
    from importlib.metadata import entry_points

    reason = warm.available()
    if not reason and not any(ep.name == warm.PROVISIONER
                              for ep in entry_points(group="jupyter_client.kernel_provisioners")):
        reason = f"the {warm.PROVISIONER} entry point is not installed (pip install -e .)"
    if not reason:
        try:
            warm.install_kernelspec(folder)
            warm.fork_spares(count)
        except Exception as error:  # noqa: BLE001 - graded with cold kernels
            warm.release_spares()
            reason = f"{type(error).__name__}: {error}"
    if reason:
        warm.note(f"cold kernels: {reason}")


class Zygote:
    """A small fork server: one process with nbgrader (and, for warm kernels, torch, torchvision, numpy,
    matplotlib, labs and ipykernel: :data:`labs.grading.warm.BOOT`) already imported that forks a fresh sandbox
    per job.

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
                single = dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), "1")
                self._process = subprocess.Popen(  # no math-library thread pools in the server (it forks)
                    [sys.executable, "-c", warm.BOOT], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**environment, **single},
                    start_new_session=True,
                    cwd=tempfile.gettempdir())

    def fork(self, jobdir: Path) -> int:
        """Fork a sandbox that grades ``jobdir``; returns its pid."""
        line = self._ask(str(jobdir))
        if not line:
            raise RuntimeError("the grading fork server stopped")
        return int(line)

    def _ask(self, line: str) -> bytes:
        """Send one line to the zygote (starting it if needed) and return its one-line answer, stripped."""
        self.start()
        with self._lock:
            assert self._process is not None
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(f"{line}\n".encode())
            self._process.stdin.flush()
            return self._process.stdout.readline().strip()

    def wait_ready(self) -> None:
        """Start the zygote if needed and return once its imports are done (it answers a blank line then)."""
        if self._ask("") != b"ready":
            raise RuntimeError("the grading fork server stopped while starting")

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
        if not jobdir:  # a readiness probe (Zygote.wait_ready): the imports above are done
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            continue
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.close(devnull)
                _worker_entry(jobdir)
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


ZYGOTE = Zygote()
atexit.register(ZYGOTE.close)


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
        kill_descendants(sandbox.pid)
        sandbox.kill()


def write_private_course(job: GradeJob, jobdir: Path) -> None:
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
            "limits": asdict(job.limits), "course_root": job.course_root, "expected_records": job.expected_records,
            "verdicts": job.verdicts}
    present = [name for name in job.notebooks
               if (jobdir / "submitted" / job.student / job.assignment / f"{name}.ipynb").is_file()]
    spec.update(warm=not job.cold_kernels, kernels=len(present))  # one warm kernel per notebook graded
    (jobdir / "job.json").write_text(json.dumps(spec))


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
        known.update(descendants(process.pid))
        elapsed = time.monotonic() - start
        if elapsed > hard_limit:
            killed = f"time limit: still running after {elapsed:.0f} s, killed"
            break
        own, kernels = tree_rss(process.pid)
        if kernels > job.limits.memory_limit:
            kill_descendants(process.pid)
            notes.append(f"memory limit: the kernel used {kernels / GIB:.1f} GiB (limit "
                         f"{job.limits.memory_limit / GIB:.1f} GiB) and was killed")
        if own > WORKER_MEMORY:
            killed = f"memory limit: the grading process used {own / GIB:.1f} GiB, killed"
            break
    if killed:
        kill_descendants(process.pid)
        process.kill()
        process.join(10)
    kill_known(known)
    return killed, notes


def run_sandboxed(job: GradeJob, jobdir: Path) -> tuple[str, list[str]]:
    """Fork a sandbox that grades the private course in ``jobdir`` and supervise it to the end.

    Returns (kill reason or '', notes) as :func:`_supervise` does; the sandbox is killed by :func:`stop_all`
    while it runs.
    """
    process = _Sandbox(ZYGOTE.fork(jobdir))
    _LIVE.add(process)
    try:
        return _supervise(process, job)
    finally:
        _LIVE.discard(process)


if __name__ == "__main__" and sys.argv[1:] == ["--zygote"]:
    _zygote_main()
