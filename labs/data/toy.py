"""Small synthetic data sets used by the labs."""

from __future__ import annotations

import torch


def toy_regression_1d(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A 1-D non-linear regression set: ``y = 2 tanh(2x) + x/2 + noise`` for ``x`` uniform in [-3, 3].

    Returns ``x`` and ``y`` as float32 tensors of shape (n, 1). A line fits it roughly, a small MLP well.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=generator) * 6 - 3
    y = 2 * torch.tanh(2 * x) + 0.5 * x + noise * torch.randn(n, 1, generator=generator)
    return x, y
