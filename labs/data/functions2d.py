"""Two-dimensional target functions on [-1, 1]^2 for the representational-capacity experiments.

Each target maps a batch of points ``xy`` of shape (N, 2) to values of shape (N, 1), so that it can be
compared directly with the output of a network ``nn.Linear(..., 1)``. :func:`grid_2d` makes the points.
"""

from __future__ import annotations

import math

import torch


def grid_2d(n: int = 65, low: float = -1.0, high: float = 1.0, *, midpoints: bool = False) -> torch.Tensor:
    """The n x n grid on [low, high]^2 as float32 points (n*n, 2), y outer; midpoints: its (n-1)^2 cell centres."""
    if n < 2:
        raise ValueError(f"a grid needs n >= 2 points per side, got {n}")
    axis = torch.linspace(low, high, n, dtype=torch.float64)
    if midpoints:
        axis = (axis[:-1] + axis[1:]) / 2
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1).float()


def _radius(xy: torch.Tensor) -> torch.Tensor:
    """Distance of each point of ``xy`` (N, 2) from the origin, as (N, 1)."""
    return xy.pow(2).sum(dim=1, keepdim=True).sqrt()


def ripple(xy: torch.Tensor, frequency: float = 10.0, decay: float = 4.0) -> torch.Tensor:
    """Smooth radial ripple cos(frequency r) exp(-decay r^2), with r the distance to the origin; (N, 1)."""
    r = _radius(xy)
    return torch.cos(frequency * r) * torch.exp(-decay * r**2)


def checkerboard(xy: torch.Tensor, cells: int = 4) -> torch.Tensor:
    """+1 / -1 squares of a cells x cells board on [-1, 1]^2 (cells=2 is the XOR pattern sign(x y)); (N, 1)."""
    waves = torch.sin(xy * (math.pi * cells / 2))
    return torch.where(waves[:, :1] * waves[:, 1:] >= 0, 1.0, -1.0).to(xy.dtype)


def ring(xy: torch.Tensor, radius: float = 0.6, width: float = 0.15) -> torch.Tensor:
    """Gaussian ring exp(-(r - radius)^2 / (2 width^2)) around the origin; values in (0, 1], shape (N, 1)."""
    return torch.exp(-((_radius(xy) - radius) ** 2) / (2 * width**2))
