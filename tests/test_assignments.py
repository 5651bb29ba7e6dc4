"""Every assignment: its solution passes every autograded cell, its stub fails all of them, every
catalogued wrong answer (``tests/cases/<assignment>.py``) loses the points of exactly the cells it names (and
the visible test already fails where the catalogue says so), every catalogued correct variant keeps full
marks, and the release states none of the catalogue's ``ANSWERS`` outside the solution regions.

The cells run in-process (see notebook_harness); whole-notebook nbgrader runs live in test_notebooks.py.
A catalogue that sets ``INDEPENDENT_PARTS = True`` promises that its notebook's parts share nothing but the
preamble, so each bug runs only the parts it touches.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

import pytest
from conftest import ROOT
from notebook_harness import (
    RunResult,
    answer_cells,
    apply_bug,
    graded_test_ids,
    load_source,
    parts_with,
    run_cells,
    stub_answers,
)

from labs import course
from labs.grading.coursedir import assignments
from labs.grading.reference import load_reference
from labs.grading.verdicts import why_incomplete

ASSIGNMENTS = assignments(ROOT)


@cache
def notebook(name: str):
    return load_source(name)


def catalogue(name: str):
    return import_module(f"cases.{name}")


ALL_BUGS = [(name, bug) for name in ASSIGNMENTS for bug in catalogue(name).BUGS]


@cache
def solution_run(name: str) -> RunResult:
    """The solution's in-process run (sealed test cells: passes and statement records), once per session."""
    return run_cells(notebook(name))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_passes_every_test_cell(name):
    result = solution_run(name)
    assert result.failed == {} and result.errors == {}
    assert result.passed == set(graded_test_ids(notebook(name)))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_trusted_run_is_current_and_matches_the_harness(name):
    """reference/<ps>.json (made by `labs release` in a real kernel) is up to date with the source notebook and
    records, cell by cell, the statements that the in-process run of the sealed solution completes."""
    stored = load_reference(ROOT, name)
    assert stored is not None, f"reference/{name}.json is missing or stale: run `labs release {name}`"
    assert stored.records[name] == solution_run(name).records


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_stub_fails_every_test_cell(name):
    result = run_cells(notebook(name), stub_answers(notebook(name)))
    assert result.passed == set(), "these cells pass on the blank release: they test nothing"
    assert set(result.failed) == set(graded_test_ids(notebook(name)))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_catalogue_covers_every_test_cell(name):
    graded, answers = set(graded_test_ids(notebook(name))), set(answer_cells(notebook(name)))
    bugs = catalogue(name).BUGS
    assert graded <= {cell for bug in bugs for cell in bug.fails}, "every test cell needs a bug it catches"
    for bug in bugs:
        assert bug.cell in answers and set(bug.fails) <= graded, bug.name
    assert len({bug.name for bug in bugs}) == len(bugs), "bug names must be unique"


@pytest.mark.parametrize(("name", "bug"), ALL_BUGS, ids=[f"{name}: {bug.name}" for name, bug in ALL_BUGS])
def test_bug_loses_exactly_its_points(name, bug):
    nb = notebook(name)
    if getattr(catalogue(name), "INDEPENDENT_PARTS", False):
        nb = parts_with(nb, {bug.cell, *bug.fails})
    result = run_cells(nb, apply_bug(notebook(name), bug))
    missed = [cell for cell in bug.fails if cell not in result.failed]
    assert not missed, f"{bug.name!r} still passes {missed}"
    assert set(result.failed) <= set(bug.fails), f"{bug.name!r} also fails {set(result.failed) - set(bug.fails)}"


ALL_VARIANTS = [(name, variant) for name in ASSIGNMENTS for variant in getattr(catalogue(name), "VARIANTS", [])]
VISIBLE_BUGS = [(name, bug) for name, bug in ALL_BUGS if bug.visible]


@pytest.mark.parametrize(("name", "variant"), ALL_VARIANTS,
                         ids=[f"{name}: {variant.name}" for name, variant in ALL_VARIANTS])
def test_correct_variant_keeps_full_marks(name, variant):
    nb = notebook(name)
    if getattr(catalogue(name), "INDEPENDENT_PARTS", False) and variant.old != "":
        # An edit inside one part can only change that part's scores; code prepended at top level (names that
        # shadow builtins, say) stays for the rest of the notebook, so those variants run everything.
        nb = parts_with(nb, {variant.cell})
    result = run_cells(nb, apply_bug(notebook(name), variant))
    assert result.failed == {}, f"correct variant {variant.name!r} loses points: {result.failed}"
    for cell, record in result.records.items():  # the grader's verdict check, against the solution's record
        assert why_incomplete([record], solution_run(name).records[cell]) is None, cell


@pytest.mark.parametrize(("name", "bug"), VISIBLE_BUGS, ids=[f"{name}: {bug.name}" for name, bug in VISIBLE_BUGS])
def test_visible_test_catches_bug(name, bug):
    nb = notebook(name)
    if getattr(catalogue(name), "INDEPENDENT_PARTS", False):
        nb = parts_with(nb, {bug.cell, *bug.visible})
    result = run_cells(nb, apply_bug(notebook(name), bug), visible_only=True)
    missed = [cell for cell in bug.visible if cell not in result.failed]
    assert not missed, f"the visible part of {missed} passes {bug.name!r}: the student is told all is well"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_catalogue_has_correct_variants(name):
    assert len(getattr(catalogue(name), "VARIANTS", [])) >= 8, "catalogue at least 8 correct-but-different answers"
    assert len({v.name for v in catalogue(name).VARIANTS}) == len(catalogue(name).VARIANTS)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_states_no_graded_answer(name):
    """The catalogue's ANSWERS (formulas and values of graded answers) appear nowhere in the release."""
    text = (ROOT / course.release_path(name)).read_text()
    leaked = [answer for answer in getattr(catalogue(name), "ANSWERS", []) if answer in text]
    assert getattr(catalogue(name), "ANSWERS", None), "list the graded answers' formulas in ANSWERS"
    assert not leaked, f"release/{name} states graded answers: {leaked}"
