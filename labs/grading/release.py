"""Release stage: refresh the Colab cells of each source notebook, generate ``release/`` with nbgrader and
make the trusted run's counts (``reference/``, only when the source changed)."""

from __future__ import annotations

from pathlib import Path

from labs.authoring import refresh_course_cells
from labs.grading.coursedir import assignments, nbgrader
from labs.grading.reference import reference_records


def release(root: Path, names: list[str] | None = None) -> list[str]:
    """Generate the student version of each assignment (default: all) into ``release/``; returns their names."""
    names = names or assignments(root)
    for name in names:
        refresh_course_cells(root / "source" / name / f"{name}.ipynb", name)
        nbgrader(root, "generate_assignment", name, "--force")
        reference_records(root, name)
    return names
