"""ps02 with one class of kernel tampering per submission (tests/tampering.py): no test cell it did not honestly
pass earns a point, the grade and the reason are recorded, and the tampering is flagged where it happened.

The same classes on ps01 are part of the hostile corpus (tests/hostile.py, graded in test_grading_batch.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import copy_course
from notebook_harness import answer_cells, apply_bug, load_source
from submissions import fill, load_release
from tampering import HIDDEN_ONLY, RUNS_LATER_CELLS, TAMPERING

from labs.grading.coursedir import nbgrader
from labs.grading.jobs import GIB, Limits
from labs.grading.report import cell_scores
from labs.grading.run import autograde

pytestmark = pytest.mark.xdist_group("tampering")  # one worker runs this module (module fixtures)

ASSIGNMENT = "ps02"
LIMITS = Limits(cell_timeout=120, time_limit=300, memory_limit=int(2 * GIB), threads=1)
ANSWERED = ("stable_softmax", "cross_entropy")  # answered correctly; the rest of the notebook is left blank
HONEST = ("test_stable_softmax", "test_cross_entropy")


def _bug(cell: str, name: str | None = None) -> dict[str, str]:
    from cases.ps02 import BUGS

    bug = next(b for b in BUGS if b.cell == cell and (name is None or b.name == name))
    return apply_bug(load_source(ASSIGNMENT), bug)


def submission(root: Path, kind: str) -> nbformat.NotebookNode:
    """Tampering in the first answer cell (left unanswered: it still raises its stub's error), two later answers
    correct, or for tampering aimed at hidden tests one of them with a bug only a hidden test catches."""
    release = load_release(ASSIGNMENT, root)
    answers = {cell: source for cell, source in answer_cells(load_source(ASSIGNMENT)).items() if cell in ANSWERED}
    if kind in HIDDEN_ONLY:
        answers.update(_bug("cross_entropy", "cross_entropy computed in numpy"))
    answers["make_mlp"] = TAMPERING[kind] + "\n" + answer_cells(release)["make_mlp"]
    return fill(release, answers)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = copy_course(tmp_path_factory.mktemp("tampering"), assignments=(ASSIGNMENT,))
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    for kind in TAMPERING:
        path = root / "submitted" / kind / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(submission(root, kind), path)
    outcomes = {o.student: o for o in autograde(root, ASSIGNMENT, workers=2, limits=LIMITS, progress=False)}
    scores: dict[str, dict[str, float | None]] = {}
    maximum: dict[str, float] = {}
    for row in cell_scores(root, ASSIGNMENT):
        scores.setdefault(row.student, {})[row.cell] = row.score
        maximum[row.cell] = row.max_score
    return {"outcomes": outcomes, "scores": scores, "maximum": maximum}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_earns_nothing_and_is_flagged(graded: dict, kind: str) -> None:
    outcome, got, maximum = graded["outcomes"][kind], graded["scores"][kind], graded["maximum"]
    assert outcome.status == "graded", outcome.reason
    tests = [cell for cell in got if cell.startswith("test_")]
    if kind in HIDDEN_ONLY:
        honest = ("test_stable_softmax",)
    else:
        honest = HONEST if kind in RUNS_LATER_CELLS else ()
    for cell in tests:
        expected = maximum[cell] if cell in honest else 0
        assert got[cell] == expected, f"{kind}: {cell} scored {got[cell]}, expected {expected}"
    runtime = [f for f in outcome.flags if f["kind"] == "kernel"]
    assert runtime, f"{kind}: not flagged at run time: {outcome.flags}"
    if kind not in HIDDEN_ONLY | {"stderr", "custom_exc"}:
        assert "did not complete" in outcome.reason, outcome.reason
