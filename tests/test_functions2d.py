"""labs.data.functions2d: the 2-D targets and grids of ps02 behave as the notebook says."""

from __future__ import annotations

import math

import pytest
import torch

from labs.data import checkerboard, grid_2d, ring, ripple


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
