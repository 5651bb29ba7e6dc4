"""Resume state of a batch: each student's outcome, saved per student, and content digests of files."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from labs.grading.jobs import FINAL_STATUSES, Outcome

STATE_DIR = Path(".work") / "grading"
__all__ = ["FINAL_STATUSES", "digest", "load_outcome", "save_outcome", "state_path", "tree_digest"]


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
