"""The course directory (the folder holding ``nbgrader_config.py``) and running nbgrader inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current folder) that holds nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no {CONFIG_FILE} found in {here} or its parents: run this inside the course folder")


def assignments(root: Path) -> list[str]:
    """Assignment names, one per folder of ``source/`` holding a notebook, sorted."""
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb") if p.stem == p.parent.name)


def dask_nanny_variables() -> dict[str, str]:
    """The variables a Dask nanny sets for its worker process (``distributed.nanny.pre-spawn-environ``, and the
    fixed ``PYTHONHASHSEED`` it adds), empty where no nanny was imported.

    The nanny sets them in its own process's environment too, for good ("poisoning the process running the
    Nanny", as distributed's docs say): after a ``LocalCluster`` starts, the process that started it, and every
    worker, carries glibc's ``MALLOC_TRIM_THRESHOLD_=65536`` (measured: a PyTorch training loop makes ~40% more
    page faults and runs ~20% slower under it), one math-library thread and a fixed string-hash seed.
    """
    if "distributed.nanny" not in sys.modules:
        return {}
    import dask

    preset = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    variables = {str(name): str(value) for name, value in dict(preset).items()}
    if variables.get("PYTHONHASHSEED") in (None, "0"):
        variables["PYTHONHASHSEED"] = "6640"  # distributed.nanny's constant
    return variables


def tool_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses and grading sandboxes: this interpreter's scripts (alembic,
    jupyter) on PATH, less the variables a Dask nanny put there (:func:`dask_nanny_variables`, where they still
    hold the nanny's values), so a notebook graded on a Dask worker, or after a cluster was started, runs in the
    environment (and at the speed) of a plain local run."""
    nanny = dask_nanny_variables()
    env = {name: value for name, value in os.environ.items() if nanny.get(name) != value}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(
    root: Path, *args: str, check: bool = True, quiet: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in the course folder with this interpreter (in ``env``, default :func:`tool_env`);
    raise with its log if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args]
    if quiet:
        command.append("--log-level=WARN")
    result = subprocess.run(command, cwd=root, env=env or tool_env(), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return result


def db_url(root: Path) -> str:
    """The gradebook URL that nbgrader_config.py gives (SQLite in the course folder by default)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    return str(config.CourseDirectory.db_url)


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for ``assignment``, sorted."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())
