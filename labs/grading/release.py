"""Release stage: refresh the Colab cells of each source notebook and generate ``release/`` with nbgrader."""

from __future__ import annotations

from pathlib import Path

from labs.authoring import refresh_course_cells
from labs.grading.coursedir import assignments, nbgrader


def release(root: Path, names: list[str] | None = None) -> list[str]:
    """Generate the student version of each assignment (default: all) into ``release/``; returns their names."""
    names = names or assignments(root)
    for name in names:
        refresh_course_cells(root / "source" / name / f"{name}.ipynb", name)
        nbgrader(root, "generate_assignment", name, "--force")
    return names
