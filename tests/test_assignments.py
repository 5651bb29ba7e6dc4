"""Every assignment: its solution passes every autograded cell, its stub fails all of them, and every
catalogued wrong answer (``tests/cases/<assignment>.py``) loses the points of exactly the cells it names.

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
    answer_cells,
    apply_bug,
    graded_test_ids,
    load_source,
    parts_with,
    run_cells,
    stub_answers,
)

from labs.grading.coursedir import assignments

ASSIGNMENTS = assignments(ROOT)


@cache
def notebook(name: str):
    return load_source(name)


def catalogue(name: str):
    return import_module(f"cases.{name}")


ALL_BUGS = [(name, bug) for name in ASSIGNMENTS for bug in catalogue(name).BUGS]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_passes_every_test_cell(name):
    result = run_cells(notebook(name))
    assert result.failed == {} and result.errors == {}
    assert result.passed == set(graded_test_ids(notebook(name)))


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
