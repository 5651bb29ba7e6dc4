"""The main job (`labs demo`): exact, repeatable scores for the bundled example submissions."""

from __future__ import annotations

import csv

import nbformat
import pytest
from conftest import ROOT, copy_course, file_digests
from submissions import EXAMPLES, example

from labs.grading.pipeline import demo
from labs.grading.report import cell_scores

PS01_POINTS = {
    "test_gradient_of": 1, "test_my_linear_regression": 1, "test_mse_loss": 1, "test_train": 2,
    "test_nn_linear_regression": 1, "test_mlp": 2, "test_mlp_training": 1, "test_first_weight_gradient": 3,
    "test_centred_gradient": 2, "test_relative_error": 1, "test_steepest_sigmoid_net": 2,
}
EXPECTED = {
    "alice": PS01_POINTS,
    "bob": dict.fromkeys(PS01_POINTS, 0),
    "carol": {**PS01_POINTS, "test_train": 0},  # forgot optimizer.zero_grad()
}


@pytest.mark.parametrize("student", sorted(EXAMPLES))
def test_bundled_examples_are_up_to_date(student):
    assignment = EXAMPLES[student][0]
    committed = nbformat.read(ROOT / "submitted" / student / assignment / f"{assignment}.ipynb", as_version=4)
    assert committed == example(student), "run `python tests/submissions.py` and commit submitted/"


@pytest.mark.slow
def test_demo_scores_are_exact_and_repeatable(tmp_path, capsys):
    course = copy_course(tmp_path / "course", with_submissions=True)
    before = file_digests(course / "submitted")

    tables = demo(course)
    first = {(r.student, r.cell): r.score for r in cell_scores(course, "ps01") if r.autograded}
    for student, expected in EXPECTED.items():
        assert {cell: first[(student, cell)] for cell in expected} == expected, student
    printed = capsys.readouterr().out
    assert "alice" in tables["ps01"] and "17/17" in printed and "0/17" in printed and "15/17" in printed

    with open(course / "grades.csv", newline="") as handle:
        grades = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)
                  if row["assignment"] == "ps01"}
    assert grades == {"alice": 17.0, "bob": 0.0, "carol": 15.0}

    graded = nbformat.read(course / "autograded" / "alice" / "ps01" / "ps01.ipynb", as_version=4)
    shown = [output for cell in graded.cells if cell.cell_type == "code" and "plt.show()" in cell.source
             for output in cell.outputs if output.output_type == "display_data"]
    assert shown and all(set(output.data) == {"text/plain"} and output.data["text/plain"].startswith("<Figure")
                         for output in shown), "figures are not drawn while grading (nbgrader_config.py)"

    demo(course)
    second = {(r.student, r.cell): r.score for r in cell_scores(course, "ps01") if r.autograded}
    assert second == first
    assert file_digests(course / "submitted") == before, "grading must never modify submitted/"


@pytest.mark.parametrize(("setting", "drawn"), [("", False), ("1", True)])
def test_figures_are_drawn_while_grading_only_on_request(monkeypatch, setting, drawn):
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("LABS_GRADED_FIGURES", setting)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    arguments = config.Execute.get("extra_arguments", [])
    assert ("--InlineBackend.figure_formats=[]" not in arguments) == drawn
