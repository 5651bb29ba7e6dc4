"""Build nbgrader cells for source notebooks: read-only text, answer cells, test cells, written answers.

Instructors usually author in JupyterLab with nbgrader's "Create Assignment" toolbar; these functions
produce the same metadata from code, and :func:`refresh_course_cells` keeps each notebook's Colab badge
and set-up cell in step with :mod:`labs.course`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labs import course

SCHEMA_VERSION = 3


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The nbgrader metadata of ``cell`` ({} for a plain cell, or one that lost it on a Colab round trip)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_autograded_test(cell: NotebookNode) -> bool:
    """True for an autograded test cell: a code cell with points that is not an answer cell."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output (what nbgrader reads to give a test cell 0 points), its traceback one line."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    """nbgrader cell metadata in its schema version 3."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def text(grade_id: str, source: str) -> NotebookNode:
    """A read-only markdown cell (explanations, task statements)."""
    return new_markdown_cell(source.strip(), id=grade_id, metadata=_meta(grade_id, grade=False, solution=False,
                                                                          locked=True))


def code(grade_id: str, source: str) -> NotebookNode:
    """A read-only code cell the student runs but does not edit (imports, demos, plots)."""
    return new_code_cell(source.strip(), id=grade_id, metadata=_meta(grade_id, grade=False, solution=False,
                                                                      locked=True))


def answer(grade_id: str, source: str) -> NotebookNode:
    """A code answer cell: the part between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is cleared."""
    return new_code_cell(source.strip(), id=grade_id, metadata=_meta(grade_id, grade=False, solution=True,
                                                                      locked=False))


def tests(grade_id: str, points: float, source: str) -> NotebookNode:
    """An autograded test cell worth ``points``; hidden tests go between the HIDDEN TESTS markers."""
    return new_code_cell(source.strip(), id=grade_id, metadata=_meta(grade_id, grade=True, solution=False,
                                                                      locked=True, points=points))


def written(grade_id: str, points: float, source: str) -> NotebookNode:
    """A manually graded markdown answer cell worth ``points``."""
    return new_markdown_cell(source.strip(), id=grade_id, metadata=_meta(grade_id, grade=True, solution=True,
                                                                          locked=False, points=points))


def course_cells(assignment: str) -> list[NotebookNode]:
    """The Colab badge and the Colab set-up cell that open every notebook."""
    return [text("colab_badge", course.badge_markdown(assignment)), code("colab_setup", course.setup_cell_source())]


def notebook(assignment: str, cells: list[NotebookNode]) -> NotebookNode:
    """A complete source notebook: course cells first, then ``cells``; validated by nbformat."""
    nb = new_notebook(cells=course_cells(assignment) + cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def refresh_course_cells(path: Path, assignment: str) -> bool:
    """Rewrite the badge and set-up cells of the notebook at ``path`` from :mod:`labs.course`; True if changed."""
    nb = nbformat.read(path, as_version=4)
    fresh = {cell.id: cell.source for cell in course_cells(assignment)}
    changed = False
    for cell in nb.cells:
        if cell.get("id") in fresh and cell.source != fresh[cell.id]:
            cell.source = fresh[cell.id]
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed
