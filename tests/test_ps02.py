"""ps02: the solution passes every autograded cell, the stub fails all of them, every catalogued bug loses its
points, and the 2-D target functions of labs.data behave as the notebook says."""

from __future__ import annotations

import copy
import math
import re

import pytest
import torch
from cases.ps02 import BUGS
from notebook_harness import (
    Bug,
    answer_cells,
    apply_bug,
    graded_test_ids,
    load_source,
    nbgrader_meta,
    run_cells,
    stub_answers,
)

from labs.data import checkerboard, grid_2d, ring, ripple


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Run on one thread, as the notebook does while graded (it calls torch.set_num_threads(1)); restore after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def notebook():
    return load_source("ps02")


def _parts_with(notebook, cells: set[str]):
    """The notebook's preamble plus only the parts ("## N." sections) holding ``cells``.

    The parts share nothing but the imports, so a bug in one part cannot change the score of another; running
    only the parts involved keeps the bug catalogue fast.
    """
    ids = [nbgrader_meta(c).get("grade_id", "") for c in notebook.cells]
    starts = [i for i, grade_id in enumerate(ids) if re.fullmatch(r"part\d+", grade_id)]
    keep = list(range(starts[0]))
    for start, end in zip(starts, starts[1:] + [len(ids)], strict=True):
        if cells & set(ids[start:end]):
            keep += range(start, end)
    trimmed = copy.copy(notebook)
    trimmed.cells = [notebook.cells[i] for i in keep]
    return trimmed


def test_solution_passes_every_test_cell(notebook):
    result = run_cells(notebook)
    assert result.failed == {} and result.errors == {}
    assert result.passed == set(graded_test_ids(notebook))


def test_stub_fails_every_test_cell(notebook):
    result = run_cells(notebook, stub_answers(notebook))
    assert result.passed == set()
    assert set(result.failed) == set(graded_test_ids(notebook))


def test_parts_split_the_notebook(notebook):
    assert [c.get("id") for c in notebook.cells if re.fullmatch(r"part\d+", c.get("id", ""))] == [
        f"part{i}" for i in range(1, 7)
    ]
    every_part = _parts_with(notebook, set(graded_test_ids(notebook)))
    assert len(every_part.cells) == len(notebook.cells)


def test_every_test_cell_has_a_catalogued_bug(notebook):
    assert set(graded_test_ids(notebook)) <= {cell for bug in BUGS for cell in bug.fails}


def test_bugs_name_real_cells(notebook):
    graded, answers = set(graded_test_ids(notebook)), set(answer_cells(notebook))
    for bug in BUGS:
        assert isinstance(bug, Bug) and bug.cell in answers and set(bug.fails) <= graded, bug.name
    assert len({bug.name for bug in BUGS}) == len(BUGS), "bug names must be unique"


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_loses_its_points(notebook, bug):
    result = run_cells(_parts_with(notebook, {bug.cell, *bug.fails}), apply_bug(notebook, bug))
    missed = [cell for cell in bug.fails if cell not in result.failed]
    assert not missed, f"{bug.name!r} still passes {missed}"
    # the bug costs only what it breaks: other items keep their points
    assert set(result.failed) <= set(bug.fails), f"{bug.name!r} also fails {set(result.failed) - set(bug.fails)}"


# --- labs.data.functions2d -----------------------------------------------------------------------------------


def test_grid_2d_shape_order_and_midpoints():
    grid = grid_2d(3)
    assert grid.shape == (9, 2) and grid.dtype == torch.float32
    expected = torch.tensor([[x, y] for y in (-1.0, 0.0, 1.0) for x in (-1.0, 0.0, 1.0)])
    torch.testing.assert_close(grid, expected)
    centres = grid_2d(3, midpoints=True)
    torch.testing.assert_close(centres, torch.tensor([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]]))
    assert grid_2d(65, midpoints=True).shape == (64 * 64, 2)
    wide = grid_2d(5, low=0.0, high=2.0)
    assert float(wide.min()) == 0.0 and float(wide.max()) == 2.0
    with pytest.raises(ValueError):
        grid_2d(1)


@pytest.mark.parametrize("target", [ripple, checkerboard, ring])
def test_targets_return_one_column_of_finite_values(target):
    points = grid_2d(17)
    values = target(points)
    assert values.shape == (17 * 17, 1) and values.dtype == torch.float32
    assert bool(torch.isfinite(values).all())
    assert target(points.double()).dtype == torch.float64
    assert target(points[:1]).shape == (1, 1)


def test_target_values():
    origin = torch.zeros(1, 2)
    torch.testing.assert_close(ripple(origin), torch.ones(1, 1))
    point = torch.tensor([[0.3, 0.4]])  # r = 0.5
    torch.testing.assert_close(ripple(point), torch.tensor([[math.cos(5.0) * math.exp(-1.0)]]))
    torch.testing.assert_close(ring(torch.tensor([[0.6, 0.0], [0.0, -0.6]])), torch.ones(2, 1))
    torch.testing.assert_close(ring(origin), torch.tensor([[math.exp(-0.36 / (2 * 0.15**2))]]))
    # 4 x 4 board of squares of side 0.5: +1 where the two square indices have an even sum
    squares = torch.tensor([[0.25, 0.25], [0.75, 0.25], [0.25, -0.25], [-0.75, -0.75], [-0.25, 0.75]])
    torch.testing.assert_close(checkerboard(squares), torch.tensor([[1.0], [-1.0], [-1.0], [1.0], [1.0]]))
    xor = torch.tensor([[0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [-0.5, -0.5]])
    torch.testing.assert_close(checkerboard(xor, cells=2), torch.tensor([[1.0], [-1.0], [-1.0], [1.0]]))
    assert set(checkerboard(grid_2d(33)).unique().tolist()) == {-1.0, 1.0}


def test_odd_grid_keeps_heldout_points_off_the_checkerboard_edges():
    centres = grid_2d(33, midpoints=True)
    distance_to_edge = ((centres * 2) - (centres * 2).round()).abs()  # edges at multiples of 0.5
    assert float(distance_to_edge.min()) > 1e-3
