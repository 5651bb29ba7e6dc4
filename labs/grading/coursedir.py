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


def tool_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses: this interpreter's scripts (alembic, jupyter) on PATH."""
    env = dict(os.environ)
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
