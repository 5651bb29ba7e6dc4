"""Every assignment: its solution passes every autograded cell, its stub fails all of them, and every
catalogued wrong answer (``tests/cases/<assignment>.py``) loses the points of the cells it names.

The cells run in-process (see notebook_harness); whole-notebook nbgrader runs live in test_notebooks.py.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

import pytest
from conftest import ROOT
from notebook_harness import apply_bug, graded_test_ids, load_source, run_cells, stub_answers

from labs.grading.coursedir import assignments

ASSIGNMENTS = assignments(ROOT)


@cache
def notebook(name: str):
    return load_source(name)


def bugs(name: str) -> list:
    return import_module(f"cases.{name}").BUGS


ALL_BUGS = [(name, bug) for name in ASSIGNMENTS for bug in bugs(name)]


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
def test_every_test_cell_has_a_catalogued_bug(name):
    caught = {cell for bug in bugs(name) for cell in bug.fails}
    assert set(graded_test_ids(notebook(name))) <= caught


@pytest.mark.parametrize(("name", "bug"), ALL_BUGS, ids=[f"{name}: {bug.name}" for name, bug in ALL_BUGS])
def test_bug_loses_its_points(name, bug):
    result = run_cells(notebook(name), apply_bug(notebook(name), bug))
    missed = [cell for cell in bug.fails if cell not in result.failed]
    assert not missed, f"{bug.name!r} still passes {missed}"
