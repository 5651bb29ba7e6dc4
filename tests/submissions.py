"""Build example student submissions from a release notebook: solved, blank, or with a catalogued bug.

``python tests/submissions.py`` rewrites the bundled examples under ``submitted/`` that ``make demo`` grades;
``tests/test_pipeline.py`` checks the committed files equal what this module makes.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_harness import ROOT, Bug, answer_cells, apply_bug, load_source, nbgrader_meta  # noqa: E402

#: student id -> (assignment, bug name or None for a correct answer, "blank" for the untouched release)
EXAMPLES = {
    "alice": ("ps01", None),
    "bob": ("ps01", "blank"),
    "carol": ("ps01", "gradients never cleared"),
}


def load_release(assignment: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """Read ``release/<assignment>/<assignment>.ipynb``."""
    return nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def written_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> text of each manually graded markdown answer in the source notebook."""
    return {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in source.cells
        if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")
    }


def fill(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the release notebook with the answer cells named in ``answers`` filled in."""
    filled = copy.deepcopy(release)
    for cell in filled.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return filled


def solved(assignment: str, bug: Bug | None = None, root: Path = ROOT) -> nbformat.NotebookNode:
    """The release notebook answered with the source solutions, with ``bug`` applied if given."""
    source = load_source(assignment)
    answers = {**answer_cells(source), **written_answers(source)}
    if bug is not None:
        answers.update(apply_bug(source, bug))
    return fill(load_release(assignment, root), answers)


def example(student: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """The bundled example submission of ``student`` (see :data:`EXAMPLES`)."""
    assignment, kind = EXAMPLES[student]
    if kind == "blank":
        return load_release(assignment, root)
    if kind is None:
        return solved(assignment, root=root)
    from importlib import import_module

    bugs = {b.name: b for b in import_module(f"cases.{assignment}").BUGS}
    return solved(assignment, bugs[kind], root)


def write_examples(root: Path = ROOT) -> list[Path]:
    """Write every example submission to ``submitted/<student>/<assignment>/<assignment>.ipynb``."""
    paths = []
    for student, (assignment, _) in EXAMPLES.items():
        path = root / "submitted" / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(example(student, root), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written_path in write_examples():
        print("wrote", written_path.relative_to(ROOT))
