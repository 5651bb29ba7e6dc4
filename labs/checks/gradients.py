"""Gradient checks: autograd in float64, centred finite differences and the relative error between them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def assert_loss_and_gradient(
    loss_fn: Callable[..., torch.Tensor],
    reference_fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    *,
    name: str = "loss",
    wrt: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Check a student's loss and its gradient with respect to ``inputs[wrt]`` against a reference, in float64.

    The reference value and gradient are computed first, on copies; the student's loss must then be a 0-d
    tensor that stays connected to its input (a loss rebuilt from ``.item()`` or computed in numpy has no
    gradient and fails here), with the same value and the same gradient.
    """
    __tracebackhide__ = True

    def prepared() -> list[torch.Tensor]:
        copies = [x.detach().clone() for x in inputs]
        copies[wrt] = copies[wrt].double().requires_grad_(True)
        return copies

    reference_inputs = prepared()
    reference = reference_fn(*reference_inputs)
    (expected_grad,) = torch.autograd.grad(reference, reference_inputs[wrt])
    student_inputs = prepared()
    value = loss_fn(*student_inputs)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise CheckFailed(f"{name}: expected a 0-d tensor, got {type(value).__name__}"
                          + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else "") + ".")
    assert_close(value.reshape(()), reference.detach(), name=f"{name} (value)", rtol=rtol, atol=atol)
    if not value.requires_grad:
        raise CheckFailed(f"{name}: the loss has no gradient with respect to its input. Usual cause: it was rebuilt "
                          "from .item() or numpy, or computed under torch.no_grad(); keep it a torch computation.")
    (grad,) = torch.autograd.grad(value.reshape(()), student_inputs[wrt], allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(student_inputs[wrt])
    assert_close(grad, expected_grad, name=f"{name} (gradient with respect to input {wrt})", rtol=rtol,
                 atol=atol, hint="an operation that breaks the graph (.detach(), .item(), an in-place change).")
