"""Warm kernels: a submission's kernel forked from a process that has torch & co. already imported.

A cold kernel is a new interpreter that imports torch, torchvision, numpy, matplotlib and labs again for
every notebook (seconds of start-up that no student code needs). Here the grading fork server
(:class:`~labs.grading.sandbox.Zygote`) imports them once (:data:`BOOT`, recording which import brought in
which module, without running a torch op, so no thread pool is started), each sandbox forks one *spare* per
notebook before nbgrader starts anything (:func:`fork_spares`: the sandbox is single-threaded then, with no
zmq context and no event loop), and the kernel provisioner of :mod:`labs.grading.provisioner`, selected by a
private kernelspec, hands a spare the kernel command, environment and working folder instead of starting a
new process. The spare then becomes the kernel (:func:`_become_kernel`):

* environment, working folder, ``sys.argv``/``sys.orig_argv``, ``sys.path`` (the interpreter's own, cwd
  added by IPython as usual), root logger, warnings filters and signal handlers as a new interpreter has them;
* numpy's global generator reseeded (Python's ``random`` reseeds itself on fork; torch's generator is
  untouched: a cold kernel starts from the same default seed), torch's threads set from ``OMP_NUM_THREADS``;
* matplotlib's backend taken from ``MPLBACKEND`` as ipykernel sets it (the inline backend);
* the preloaded modules are hidden from ``sys.modules`` (:class:`_Stash`) and put back, the same module
  objects, when the notebook first imports them, with what that import brought in when it was preloaded;
  so ``'torch' in sys.modules`` is False until the notebook imports torch, as in a cold kernel.

A spare is a child of the sandbox, forked after its resource limits, file-system seal and environment were
applied, so the watchdog, limits and clean-up treat the kernel exactly as a cold one. Each spare serves one
kernel and is never reused. Anything that does not fit (another kernel command, a ``PYTHON*`` variable that
differs, a submission file shadowing a preloaded package, a spare that does not answer) gets a cold kernel
and a note. What a fork cannot reproduce: the interpreter's string-hash seed is the fork server's.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.abc
import importlib.util
import json
import os
import select
import signal
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

#: The name of the kernel provisioner (entry point ``jupyter_client.kernel_provisioners`` in pyproject.toml).
PROVISIONER = "labs-warm-provisioner"
#: Imported once by the fork server, in this order (each one's new modules are recorded as its group).
PRELOAD = ("numpy", "torch", "torchvision", "matplotlib", "matplotlib.pyplot", "tqdm", "tqdm.auto", "labs",
           "labs.checks", "labs.data", "IPython", "ipykernel.ipkernel", "ipykernel.zmqshell")
#: Folder (in a job folder) of the private kernelspec that selects the warm provisioner.
KERNELS_DIR = ".kernels"

#: The fork server's start: record what each preload brings in, then serve forks (labs.grading.sandbox).
BOOT = f"""
import sys, importlib, os, warnings
_path = sys.path[1:] if sys.path and sys.path[0] == "" else list(sys.path)
_env = dict(os.environ)
_seen, _groups, _base, _filters = set(sys.modules), {{}}, list(warnings.filters), {{}}
for _name in {PRELOAD!r} + ("labs.grading.sandbox",):
    _before = list(warnings.filters)
    try:
        importlib.import_module(_name)
    except Exception:
        pass
    _now = set(sys.modules)
    _groups[_name] = sorted(_now - _seen)
    _filters[_name] = [_f for _f in warnings.filters if _f not in _before]
    _seen = _now
import labs.grading.warm as _warm
_warm.booted(_groups, _path, _env, _base, _filters)
from labs.grading.sandbox import _zygote_main
_zygote_main()
"""


class _State:
    """What the fork server recorded at boot and what this sandbox holds (module-level, one per process)."""

    groups: dict[str, str] = {}  # module name -> the preload item that brought it in
    base_path: list[str] | None = None  # sys.path of a fresh interpreter (no script folder)
    boot_env: dict[str, str] = {}
    boot_filters: list = []  # warnings filters of a fresh interpreter
    item_filters: dict[str, list] = {}  # preload item -> the warnings filters its import added
    spares: list[Spare] = []
    jupyter_path: str | None = None  # JUPYTER_PATH before the private kernelspec was added
    notes: list[str] = []
    counts: dict[str, int] = {"warm": 0, "cold": 0}


def booted(groups: dict[str, list[str]], path: list[str], env: dict[str, str], filters: list,
           item_filters: dict[str, list]) -> None:
    """Called once by :data:`BOOT` in the fork server: remember the preload record."""
    _State.groups = {name: item for item, names in groups.items() for name in names}
    _State.base_path, _State.boot_env, _State.boot_filters = path, env, filters
    _State.item_filters = item_filters
    cold_modules()  # once, before the first fork


def available() -> str:
    """'' when warm kernels can be used in this process, else why not."""
    if _State.base_path is None:
        return "the grading process was not started by the warm fork server"
    if sys.platform != "linux":
        return "warm kernels need Linux"
    return ""


# --------------------------------------------------------------------------------------------------
# The sandbox side: spares, the private kernelspec, release
# --------------------------------------------------------------------------------------------------


class Spare:
    """A forked child of the sandbox that waits for one kernel request (see :func:`_become_kernel`)."""

    def __init__(self) -> None:
        request_r, request_w = os.pipe()
        ack_r, ack_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the spare
            code = 70
            try:
                code = _become_kernel(request_r, ack_w)
            except BaseException:  # noqa: BLE001 - a spare never returns into the sandbox's code
                with contextlib.suppress(Exception):
                    import traceback

                    traceback.print_exc()
            finally:
                os._exit(code)
        os.close(request_r)
        os.close(ack_w)
        self.pid, self._request, self._ack = pid, request_w, ack_r
        self.returncode: int | None = None

    def launch(self, argv: list[str], env: dict[str, str], cwd: str, timeout: float = 20.0) -> bool:
        """Send the kernel command; True once the spare confirms it became that kernel."""
        data = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._request, view)
                view = view[written:]
            os.close(self._request)
            self._request = -1
            deadline = time.monotonic() + timeout
            answer = b""
            while time.monotonic() < deadline and not answer.endswith(b"\n"):
                ready, _, _ = select.select([self._ack], [], [], 0.1)
                if ready:
                    chunk = os.read(self._ack, 64)
                    if not chunk:
                        break
                    answer += chunk
            return answer == b"ok\n"
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                os.close(self._ack)
            self._ack = -1

    # -- the subprocess.Popen interface jupyter_client's LocalProvisioner uses ---------------------------
    stdin = stdout = stderr = None

    def poll(self) -> int | None:
        """The exit status once the kernel has ended (it is reaped here), else None."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0  # reaped elsewhere
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end; returns its exit status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"warm kernel {self.pid}", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (not once it has been reaped: its pid may be reused)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def release(self) -> None:
        """An unused spare: close its request pipe (it exits) and reap it."""
        for fd in (self._request, self._ack):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._request = self._ack = -1
        with contextlib.suppress(Exception):
            self.wait(5)
            return
        with contextlib.suppress(OSError):
            self.kill()
        with contextlib.suppress(Exception):
            self.wait(5)


def fork_spares(count: int) -> None:
    """In the sandbox, before nbgrader starts: fork ``count`` spares (one per notebook to grade)."""
    for _ in range(max(0, count)):
        _State.spares.append(Spare())


def take_spare() -> Spare | None:
    """A spare for the kernel being started (None when there is none left)."""
    return _State.spares.pop(0) if _State.spares else None


def release_spares() -> None:
    """Let the spares no notebook used exit (before the sandbox kills what the submission left running)."""
    while _State.spares:
        _State.spares.pop().release()


def note(text: str) -> None:
    """Record why a kernel started cold (returned with the result)."""
    if text not in _State.notes:
        _State.notes.append(text)


def count(kind: str) -> None:
    """Count a kernel started ``kind`` ('warm' or 'cold')."""
    _State.counts[kind] = _State.counts.get(kind, 0) + 1


def report() -> tuple[dict[str, int], list[str]]:
    """(kernels started warm/cold, notes) of this sandbox."""
    return dict(_State.counts), list(_State.notes)


def install_kernelspec(folder: Path) -> None:
    """Write the private ``python3`` kernelspec that selects the warm provisioner and put it on JUPYTER_PATH.

    It is the kernelspec a cold kernel would use (same argv, resources) plus the provisioner's name; the
    kernel itself does not see the changed JUPYTER_PATH (the provisioner restores it).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    target = folder / KERNELS_DIR / "kernels" / "python3"
    target.mkdir(parents=True, exist_ok=True)
    for path in Path(spec.resource_dir).iterdir():
        if path.is_file() and path.name != "kernel.json":
            (target / path.name).write_bytes(path.read_bytes())
    data = spec.to_dict()
    data.setdefault("metadata", {})["kernel_provisioner"] = {"provisioner_name": PROVISIONER, "config": {}}
    (target / "kernel.json").write_text(json.dumps(data, indent=1))
    _State.jupyter_path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(folder / KERNELS_DIR)] + ([_State.jupyter_path] if _State.jupyter_path else []))


def kernel_env(env: dict[str, str]) -> dict[str, str]:
    """The kernel's environment without the private kernelspec's JUPYTER_PATH (as a cold kernel has it)."""
    env = dict(env)
    if _State.jupyter_path is None:
        env.pop("JUPYTER_PATH", None)
    else:
        env["JUPYTER_PATH"] = _State.jupyter_path
    return env


def cold_reason(argv: list[str], env: dict[str, str], cwd: str) -> str:
    """'' when a spare can become this kernel, else why a cold kernel is started instead."""
    if not _State.spares:
        return "no warm kernel left for this notebook"
    if len(argv) < 3 or argv[1:3] != ["-m", "ipykernel_launcher"] or (
            os.path.realpath(argv[0]) != os.path.realpath(sys.executable)):
        return f"kernel command {argv[:3]} is not this Python's ipykernel"
    python_vars = sorted(name for name in set(env) | set(_State.boot_env)
                         if name.startswith("PYTHON") and env.get(name) != _State.boot_env.get(name))
    if python_vars:
        return f"the kernel's {', '.join(python_vars)} differ from the grading process's"
    cold = cold_modules()
    tops = {name.partition(".")[0] for name in sys.modules if name not in cold}
    tops -= set(sys.builtin_module_names) | set(getattr(sys, "stdlib_module_names", ()))
    with contextlib.suppress(OSError):
        shadowing = sorted({Path(entry).stem.partition(".")[0] for entry in os.listdir(cwd)} & tops)
        if shadowing or os.path.exists(os.path.join(cwd, "matplotlibrc")):
            return f"submission files shadow preloaded modules ({', '.join(shadowing) or 'matplotlibrc'})"
    return ""


# --------------------------------------------------------------------------------------------------
# The spare side: become the kernel
# --------------------------------------------------------------------------------------------------


def _quiet_fds(keep: set[int]) -> None:
    """Point every inherited descriptor above 2 (other spares' pipes, the sandbox's files) at /dev/null.

    Not closed: a Python object of the sandbox that owns one would later close whatever reused its number.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    keep = keep | {devnull}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and fd not in keep:
                with contextlib.suppress(OSError):
                    os.fstat(fd)
                    os.dup2(devnull, fd, inheritable=False)
    os.close(devnull)


def _read_request(fd: int) -> dict | None:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return json.loads(b"".join(chunks)) if chunks else None


def _become_kernel(request_fd: int, ack_fd: int) -> int:
    """The spare: wait for the kernel request, make the process look like a new interpreter, run ipykernel."""
    _quiet_fds({request_fd, ack_fd})
    request = _read_request(request_fd)
    if request is None:
        return 0  # released unused
    argv, env, cwd = request["argv"], request["env"], request["cwd"]
    os.setsid()  # a process group of its own, as jupyter_client starts kernels (interrupts go to the group)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, signal.SIG_DFL)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    launcher = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [launcher.origin if launcher and launcher.origin else "ipykernel_launcher", *argv[3:]]
    sys.orig_argv = list(argv)
    sys.path[:] = list(_State.base_path or sys.path)
    _fresh_process_state()
    sys.modules.pop("ipykernel.kernelapp", None)  # its traits read JPY_PARENT_PID & co. when it is imported
    from ipykernel.kernelapp import IPKernelApp

    _hide_preloaded()
    importlib.invalidate_caches()
    os.write(ack_fd, b"ok\n")
    os.close(ack_fd)
    code = 0
    try:
        app = IPKernelApp.instance()
        app.initialize()
        _matplotlib_backend()
        app.start()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _fresh_process_state() -> None:
    """Undo what the sandbox set up in-process: logging, warnings filters; reseed; torch threads."""
    import logging
    import warnings

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    cold = cold_modules()
    warnings.filters[:] = [f for item, added in reversed(_State.item_filters.items()) if item in cold for f in added]
    warnings.filters.extend(_State.boot_filters)  # a new interpreter's, and those of the kernel's own imports
    warnings._filters_mutated()  # type: ignore[attr-defined]
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # a cold kernel seeds numpy's global generator from the OS at import
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.default_generator.seed()  # and torch's (its import seeds it from the OS too)
    # The math libraries read their thread counts when the fork server loaded them: set what a new
    # interpreter would read from this environment (no pool is started here: nothing has run yet).
    blas = _env_threads("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
    env = dict(os.environ)
    with contextlib.suppress(Exception):
        import threadpoolctl

        threadpoolctl.threadpool_limits(limits=blas, user_api="blas")
    if dict(os.environ) != env:  # threadpoolctl's import sets KMP_DUPLICATE_LIB_OK
        os.environ.clear()
        os.environ.update(env)
    if torch is not None:
        torch.set_num_threads(_env_threads("OMP_NUM_THREADS", "MKL_NUM_THREADS"))


def _env_threads(*names: str) -> int:
    """The thread count a library reading ``names`` (first set wins) would use; the cores otherwise."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _matplotlib_backend() -> None:
    """The backend a cold kernel's matplotlib would read from MPLBACKEND (ipykernel sets the inline one)."""
    mpl = sys.modules.get("matplotlib") or (_STASH.modules.get("matplotlib") if _STASH else None)
    if mpl is None:
        return
    backend = os.environ.get("MPLBACKEND") or dict.__getitem__(mpl.rcParamsOrig, "backend")
    dict.__setitem__(mpl.rcParams, "backend", backend)  # no validation: it would import the backend registry


# --------------------------------------------------------------------------------------------------
# Hiding the preloaded modules until the notebook imports them
# --------------------------------------------------------------------------------------------------


class _Restorer(importlib.abc.Loader):
    """Loader that hands back a stashed module object (no code runs again)."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec: Any) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        with contextlib.suppress(AttributeError, TypeError):
            module.__spec__ = self.spec  # import set it to the restoring spec; put the original back


class _Stash(importlib.abc.MetaPathFinder):
    """Meta-path finder holding the preloaded modules a cold kernel would not have imported yet.

    Importing one puts back its group (what importing it brought in when it was preloaded) and, transitively,
    the groups of the stashed modules those refer to. Stays installed (an unchanged ``sys.meta_path``).
    """

    def __init__(self, modules: dict[str, ModuleType], groups: dict[str, str]) -> None:
        self.modules = modules
        self.finders: dict[str, list] = {}  # module -> the meta-path finders it installed (put back with it)
        self.items = {name for name, item in groups.items() if name == item and name in modules}
        self.introduced: dict[str, list[str]] = {}
        for name in modules:
            if groups.get(name) in self.items:
                self.introduced.setdefault(groups[name], []).append(name)

    def members(self, name: str) -> list[str]:
        """A preloaded name brings back what its preload brought in; any other module, its own subpackage."""
        if name in self.items:
            return self.introduced.get(name, [])
        prefix = name + "."
        return [other for other in self.modules if other == name or other.startswith(prefix)]

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        module = self.modules.get(name)
        if module is None:
            return None
        self._restore(name)
        original = getattr(module, "__spec__", None)
        spec = importlib.util.spec_from_loader(
            name, _Restorer(module), origin=getattr(original, "origin", None),
            is_package=hasattr(module, "__path__"))
        if spec is not None and original is not None:
            spec.has_location = bool(getattr(original, "has_location", False))
        return spec

    def _restore(self, name: str) -> None:
        """Put ``name``'s group back into sys.modules and, transitively, the modules they refer to (other
        than their own submodules); ``name`` itself is added by the import system."""
        pending = [name]
        first = self.modules.get(name)
        while pending:
            group = pending.pop()
            restored = [first] if group == name and first is not None else []
            for member in self.members(group):
                module = self.modules.pop(member, None) if member != name else None
                if module is not None:
                    sys.modules.setdefault(member, module)
                    restored.append(module)
            if group in self.items:
                import warnings

                added = [f for f in _State.item_filters.get(group, []) if f not in warnings.filters]
                warnings.filters[:0] = added
                warnings._filters_mutated()  # type: ignore[attr-defined]
            for module in restored:
                sys.meta_path.extend(self.finders.pop(getattr(module, "__name__", ""), []))
            for module in restored:
                own = getattr(module, "__name__", "") + "."
                for value in list(getattr(module, "__dict__", {}).values()):
                    other = getattr(value, "__name__", None) if isinstance(value, ModuleType) else None
                    if other and other != name and not other.startswith(own) and self.modules.get(other) is value:
                        pending.append(other)
        self.modules.pop(name, None)


_STASH: _Stash | None = None


def _installed_stamp() -> str:
    """The site-packages folders with their modification times: changes when a package is installed,
    upgraded or removed (a baseline cached with other packages would hide or keep the wrong modules)."""
    import site

    stamps = []
    for folder in [*site.getsitepackages(), site.getusersitepackages()]:
        with contextlib.suppress(OSError):
            stamps.append(f"{folder}:{os.stat(folder).st_mtime_ns}")
    return "|".join(stamps)


def baseline_cache() -> Path:
    """Where :func:`_cold_modules` keeps its answer: one file per interpreter and set of installed packages."""
    import hashlib
    import tempfile

    import ipykernel

    key = hashlib.sha256(f"{sys.executable}|{sys.version}|{ipykernel.__version__}|{_installed_stamp()}".encode())
    return Path(tempfile.gettempdir()) / f"labs-cold-kernel-modules-{os.getuid()}-{key.hexdigest()[:16]}.json"


def _cold_modules() -> set[str]:
    """Modules a freshly started cold kernel has imported (computed once per installed environment, then
    cached in the temporary folder)."""
    import subprocess
    import tempfile

    cache = baseline_cache()
    with contextlib.suppress(OSError, ValueError):
        return set(json.loads(cache.read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.json"
        code = ("import sys, json\nfrom ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
                f"app.initialize(['-f', {str(Path(tmp) / 'kernel.json')!r}])\n"
                f"open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules)))\nimport os\nos._exit(0)\n")
        env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
        subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, timeout=120, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names = json.loads(out.read_text())
    tmp_cache = cache.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp_cache.write_text(json.dumps(names))
        tmp_cache.replace(cache)
    return set(names)


def cold_modules() -> set[str]:
    """:func:`_cold_modules`, memoised in this process (the fork server computes it before forking)."""
    global _COLD
    if _COLD is None:
        try:
            _COLD = _cold_modules()
        except Exception:  # noqa: BLE001 - no baseline: hide nothing, still warm
            _COLD = set()
    return _COLD


_COLD: set[str] | None = None


def _hide_preloaded() -> None:
    """Move the modules a cold kernel would not have into a :class:`_Stash` at the front of sys.meta_path."""
    global _STASH
    cold = cold_modules()
    if not cold:
        return
    hidden = {name: module for name, module in list(sys.modules.items())
              if name not in cold and name not in ("__main__", "__mp_main__") and isinstance(module, ModuleType)}
    for name in hidden:
        del sys.modules[name]
    _STASH = _Stash(hidden, _State.groups)
    for finder in list(sys.meta_path):
        owner = type(finder).__module__
        if owner in hidden:
            sys.meta_path.remove(finder)
            _STASH.finders.setdefault(owner, []).append(finder)
    sys.meta_path.insert(0, _STASH)
