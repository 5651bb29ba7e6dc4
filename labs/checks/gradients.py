"""Gradient checks: autograd in float64, centred finite differences and the relative error between them."""

from __future__ import annotations

from collections.abc import Callable

import torch

from labs.checks.tensors import CheckFailed, assert_close

ScalarFunction = Callable[[torch.Tensor], torch.Tensor]


def rel_error(x: torch.Tensor, y: torch.Tensor) -> float:
    """Largest element-wise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x64, y64 = x.detach().double(), y.detach().double()
    return float(((x64 - y64).abs() / ((x64.abs() + y64.abs()).clamp_min(1e-8))).max())


def autograd_gradient(f: ScalarFunction, x: torch.Tensor) -> torch.Tensor:
    """Gradient of the scalar ``f`` at ``x``, computed by torch.autograd in float64."""
    point = x.detach().double().clone().requires_grad_(True)
    value = f(point)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise CheckFailed("the function must return a scalar tensor to take its gradient.")
    (grad,) = torch.autograd.grad(value.reshape(()), point, allow_unused=True)
    return torch.zeros_like(point) if grad is None else grad.detach()


def numerical_gradient(f: ScalarFunction, x: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """Gradient of the scalar ``f`` at ``x`` by centred differences ``(f(x + h e_i) - f(x - h e_i)) / 2h``."""
    point = x.detach().double().clone()
    grad = torch.zeros_like(point)
    flat_point, flat_grad = point.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat_point.numel()):
            original = flat_point[i].item()
            flat_point[i] = original + h
            plus = float(f(point))
            flat_point[i] = original - h
            minus = float(f(point))
            flat_point[i] = original
            flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def assert_matches_autograd(
    gradient: Callable[[torch.Tensor], torch.Tensor],
    f: ScalarFunction,
    x: torch.Tensor,
    *,
    name: str = "gradient",
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Check a hand-written ``gradient(x)`` of ``f`` against torch.autograd, both evaluated in float64."""
    point = x.detach().double().clone()
    expected = autograd_gradient(f, point)
    assert_close(gradient(point.clone()), expected, name=name, rtol=rtol, atol=atol)
