"""Shared pytest set-up: tests/ on sys.path, headless matplotlib, and a throw-away copy of the course."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

COURSE_FILES = ("nbgrader_config.py", "source", "release", "reference")


def copy_course(destination: Path, with_submissions: bool = False, assignments: tuple[str, ...] = ()) -> Path:
    """Copy the course (config, source/, release/ and optionally submitted/) to ``destination``.

    ``assignments`` limits source/ and release/ to those assignments (default: all).
    """
    destination.mkdir(parents=True, exist_ok=True)
    keep = shutil.ignore_patterns(".ipynb_checkpoints")
    for name in COURSE_FILES + (("submitted",) if with_submissions else ()):
        src = ROOT / name
        if src.is_file():
            shutil.copy2(src, destination / name)
        elif assignments and name in ("source", "release"):
            for assignment in assignments:
                shutil.copytree(src / assignment, destination / name / assignment, ignore=keep)
        else:
            shutil.copytree(src, destination / name, ignore=keep)
    return destination


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path: compare two calls to prove nothing changed."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A fresh copy of the course in a temporary folder (no submissions)."""
    return copy_course(tmp_path / "course")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's data cache in one session-wide temporary folder, never the user's home."""
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path_factory.getbasetemp() / "labs-data"))
