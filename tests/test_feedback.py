"""Feedback removes exactly the hidden regions: visible code and text that resemble hidden lines stay."""

from __future__ import annotations

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
