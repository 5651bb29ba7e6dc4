"""Feedback removes exactly the hidden regions: visible code and text that resemble hidden lines stay."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_output

from labs.grading.feedback import REDACTED, TRACEBACK_NOTE, HideHiddenTests

TEST_CELL = """model = NNLinearRegression().to(device)
assert_close(model(x), expected, name="forward")
### BEGIN HIDDEN TESTS
_model = NNLinearRegression().to(device)
print("secret value 1234")
### END HIDDEN TESTS"""


def _preprocessor(hidden: dict[str, set[str]]) -> HideHiddenTests:
    from nbgrader.preprocessors import ClearHiddenTests

    pre = HideHiddenTests()
    pre._clear = ClearHiddenTests(enforce_metadata=False)
    pre._hidden = hidden
    return pre


def _cell(grade_id: str, source: str, outputs: list) -> object:
    meta = {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": True, "points": 1, "solution": False,
                         "schema_version": 3}}
    return new_code_cell(source, metadata=meta, outputs=outputs)


def test_only_the_hidden_region_and_its_echoes_are_removed():
    hidden = {"_model = NNLinearRegression().to(device)", 'print("secret value 1234")'}
    pre = _preprocessor({"test_forward": hidden})
    outputs = [new_output("stream", name="stdout", text='print("secret value 1234")\nvisible line\n'),
               new_output("error", ename="CheckFailed", evalue="forward: expected 1, got 2",
                          traceback=["Traceback", '_model = NNLinearRegression().to(device)'])]
    cell, _ = pre.preprocess_cell(_cell("test_forward", TEST_CELL, outputs), {}, 0)
    assert "BEGIN HIDDEN" not in cell.source and "_model" not in cell.source
    assert "model = NNLinearRegression().to(device)" in cell.source  # visible line resembling a hidden one
    assert cell.outputs[0]["text"] == f"{REDACTED}\nvisible line\n"
    assert cell.outputs[1]["traceback"] == ["CheckFailed: forward: expected 1, got 2", TRACEBACK_NOTE]


def test_cells_without_hidden_tests_are_untouched():
    pre = _preprocessor({"test_forward": {"nn_linear_model = NNLinearRegression().to(device)"}})
    locked = new_code_cell("nn_linear_model = NNLinearRegression().to(device)",
                           outputs=[new_output("error", ename="E", evalue="v", traceback=["frame", "E: v"])])
    cell, _ = pre.preprocess_cell(locked, {}, 0)
    assert cell.source == "nn_linear_model = NNLinearRegression().to(device)"
    assert cell.outputs[0]["traceback"] == ["frame", "E: v"] and REDACTED not in str(cell)


def test_long_failure_lines_wrap(tmp_path):
    from labs.grading.feedback import WRAP_STYLE, wrap_long_lines

    page = tmp_path / "ps01.html"
    page.write_text("<html><head><title>t</title></head><body><pre>" + "x" * 500 + "</pre></body></html>")
    wrap_long_lines(page)
    wrap_long_lines(page)
    assert page.read_text().count(WRAP_STYLE) == 1


# --- feedback before manual grading ---------------------------------------------------------------------------


def test_pending_answers_read_not_graded_yet_and_the_header_says_so():
    from labs.grading.feedback import NOT_GRADED, PENDING_SCORE, show_pending

    page = ("<html><head></head><body><h4>tiny (Score: 1.0 / 3.0)</h4><ol>"
            f"<li>Test cell (Score: 1.0 / 1.0)</li><li>Written response (Score: {PENDING_SCORE} / 2.0)</li></ol>"
            f"<span>Score: {PENDING_SCORE} / 2.0</span></body></html>")
    shown = show_pending(page, {"answer_why": 2.0})
    assert str(PENDING_SCORE) not in shown and shown.count(f"Score: {NOT_GRADED} / 2.0") == 2
    assert "Manual grading pending:</b> 1 answer worth 2 points is not graded yet" in shown
    assert shown.index("Manual grading pending") > shown.index("</h4>")
    assert show_pending(shown, {"answer_why": 2.0}) == shown  # once
    assert show_pending("<h4>t (Score: 3.0 / 3.0)</h4>", {}) == "<h4>t (Score: 3.0 / 3.0)</h4>"


def _tiny_course(root):
    """A one-task course: a code answer with its test cell (1 point) and a written answer (2 points)."""
    import shutil

    import nbformat
    from conftest import ROOT

    from labs.authoring import answer, notebook, tests, text, written
    from labs.grading.coursedir import nbgrader

    root.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    cells = [
        text("part1", "## Part 1 (3 points)\n\nWrite `double(x)`."),
        answer("double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        tests("test_double", 1, "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n"
                                "### END HIDDEN TESTS"),
        text("question", "Why does `double` work?"),
        written("answer_why", 2, "### BEGIN SOLUTION\nBecause it multiplies by two.\n### END SOLUTION"),
    ]
    (root / "source" / "tiny").mkdir(parents=True)
    nbformat.write(notebook("tiny", cells), root / "source" / "tiny" / "tiny.ipynb")
    nbgrader(root, "generate_assignment", "tiny", "--force")
    submission = nbformat.read(root / "release" / "tiny" / "tiny.ipynb", as_version=4)
    for cell in submission.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "double":
            cell.source = "def double(x):\n    return x + x"
        elif grade_id == "answer_why":
            cell.source = "Adding x to itself is twice x."
    (root / "submitted" / "ann" / "tiny").mkdir(parents=True)
    nbformat.write(submission, root / "submitted" / "ann" / "tiny" / "tiny.ipynb")
    nbgrader(root, "autograde", "tiny")
    return root


@pytest.mark.slow
def test_feedback_before_and_after_manual_grading(tmp_path):
    """End to end with nbgrader (about 15 s): an answered written question is "not graded yet" before a TA
    grades it, and shows its real score afterwards."""
    import html

    from nbgrader.api import Gradebook

    from labs.grading.coursedir import db_url
    from labs.grading.feedback import NOT_GRADED, PENDING_NOTE_CLASS, generate_feedback

    root = _tiny_course(tmp_path / "course")
    [page] = generate_feedback(root, "tiny")
    before = html.unescape(page.read_text())
    assert PENDING_NOTE_CLASS in before and "1 answer worth 2 points is not graded yet" in before
    assert f"Score: {NOT_GRADED} / 2.0" in before and "No response" not in before
    assert "Score: 1.0 / 1.0" in before  # the autograded test cell keeps its score

    with Gradebook(db_url(root)) as gradebook:
        grade = gradebook.find_grade("answer_why", "tiny", "tiny", "ann")
        grade.manual_score = 1.5
        gradebook.db.commit()
    [page] = generate_feedback(root, "tiny")
    after = html.unescape(page.read_text())
    assert PENDING_NOTE_CLASS not in after and NOT_GRADED not in after
    assert "Score: 1.5 / 2.0" in after and "Score: 2.5 / 3.0" in after
