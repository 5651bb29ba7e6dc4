"""ps01: the solution passes every autograded cell, the stub fails all of them, and every catalogued bug loses."""

from __future__ import annotations

import pytest
from cases.ps01 import BUGS
from notebook_harness import apply_bug, graded_test_ids, load_source, run_cells, stub_answers


@pytest.fixture(scope="module")
def notebook():
    return load_source("ps01")


def test_solution_passes_every_test_cell(notebook):
    result = run_cells(notebook)
    assert result.failed == {} and result.errors == {}
    assert result.passed == set(graded_test_ids(notebook))


def test_stub_fails_every_test_cell(notebook):
    result = run_cells(notebook, stub_answers(notebook))
    assert result.passed == set()
    assert set(result.failed) == set(graded_test_ids(notebook))


def test_every_test_cell_has_a_catalogued_bug(notebook):
    assert set(graded_test_ids(notebook)) <= {cell for bug in BUGS for cell in bug.fails}


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_loses_its_points(notebook, bug):
    result = run_cells(notebook, apply_bug(notebook, bug))
    missed = [cell for cell in bug.fails if cell not in result.failed]
    assert not missed, f"{bug.name!r} still passes {missed}"
    # the bug costs only what it breaks: other items keep their points
    assert set(result.failed) <= set(bug.fails) | {"test_mlp_training", "test_train"}
