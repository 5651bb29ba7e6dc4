"""Run stage: autograde submissions with nbgrader (serially, one ``nbgrader autograde`` for the batch)."""

from __future__ import annotations

from pathlib import Path

from labs.grading.coursedir import nbgrader


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for ``assignment``, sorted."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def autograde_serial(root: Path, assignment: str, force: bool = True) -> None:
    """Plain ``nbgrader autograde`` of every submitted student (the reference the parallel runner matches)."""
    args = ["autograde", assignment, "--create"]
    if force:
        args.append("--force")
    nbgrader(root, *args)
