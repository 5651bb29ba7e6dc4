"""Compare a student's tensor or number with the expected one: type, shape, dtype, finiteness, values."""

from __future__ import annotations

import math
from numbers import Real

import torch


class CheckFailed(AssertionError):
    """A check on a student's answer failed; the message says what was expected and what came."""


def passed(name: str) -> None:
    """Print a one-line confirmation that the checks on ``name`` passed."""
    print(f"\N{CHECK MARK} {name}: all checks passed.")


def assert_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` is exactly ``True``."""
    if condition is not True and not (isinstance(condition, torch.Tensor) and condition.numel() == 1
                                      and bool(condition.item()) is True):
        raise CheckFailed(message)


def _index(flat_index: int, shape: torch.Size) -> tuple[int, ...]:
    """Turn a flat index into a tuple index of ``shape``."""
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def _as_tensor(value: object, name: str, expected: torch.Tensor) -> torch.Tensor:
    """Return ``value`` as a plain tensor, or fail if it is not a tensor when a tensor is expected."""
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        raise CheckFailed(
            f"{name}: expected a torch.Tensor of shape {tuple(expected.shape)}, got {type(value).__name__}."
        )
    return value.detach()


def _assert_number_close(actual: object, expected: float, name: str, rtol: float, atol: float) -> None:
    """Compare a Python/numpy/0-d tensor number with ``expected``."""
    if isinstance(actual, torch.Tensor) and actual.numel() == 1:
        actual = actual.detach().item()
    if isinstance(actual, bool) or not isinstance(actual, Real):
        raise CheckFailed(f"{name}: expected a number close to {expected:.6g}, got {type(actual).__name__}.")
    actual = float(actual)
    if not math.isfinite(actual):
        raise CheckFailed(f"{name}: expected the finite value {expected:.6g}, got {actual}.")
    if not abs(actual - expected) <= atol + rtol * abs(expected):
        raise CheckFailed(f"{name}: expected {expected:.6g}, got {actual:.6g} (difference {actual - expected:.3g}).")


def assert_close(
    actual: object,
    expected: torch.Tensor | float,
    *,
    name: str = "result",
    rtol: float = 1e-5,
    atol: float = 1e-8,
    check_dtype: bool = False,
) -> None:
    """Check that ``actual`` matches ``expected`` within ``atol + rtol * |expected|``, element by element.

    A tensor ``expected`` demands a tensor of the same shape (and dtype if ``check_dtype``) with finite
    values; a number ``expected`` accepts a Python number or a one-element tensor.
    """
    if not isinstance(expected, torch.Tensor):
        _assert_number_close(actual, float(expected), name, rtol, atol)
        return
    tensor = _as_tensor(actual, name, expected)
    if tensor.shape != expected.shape:
        hint = ""
        if tensor.numel() == expected.numel():
            hint = " Same number of elements: check for a missing/extra dimension or a transpose."
        raise CheckFailed(f"{name}: expected shape {tuple(expected.shape)}, got {tuple(tensor.shape)}.{hint}")
    if check_dtype and tensor.dtype != expected.dtype:
        raise CheckFailed(f"{name}: expected dtype {expected.dtype}, got {tensor.dtype}.")
    if tensor.is_complex() != expected.is_complex():
        raise CheckFailed(f"{name}: expected a {'complex' if expected.is_complex() else 'real'} tensor.")
    got = tensor.to(device="cpu", dtype=torch.float64).reshape(-1)
    want = expected.detach().to(device="cpu", dtype=torch.float64).reshape(-1)
    bad_values = ~torch.isfinite(got) & torch.isfinite(want)
    if bool(bad_values.any()):
        first = _index(int(bad_values.nonzero()[0]), tensor.shape)
        raise CheckFailed(
            f"{name}: {int(bad_values.sum())} of {got.numel()} values are NaN or infinite (first at index "
            f"{first}: {got[bad_values][0].item()}); all should be finite. Look for exp() of a large number, "
            "log(0) or a division by zero."
        )
    both = torch.isfinite(want)
    diff = torch.where(both, (got - want).abs(), torch.zeros_like(got))
    too_far = diff > atol + rtol * want.abs()
    too_far |= ~both & (got != want)
    if bool(too_far.any()):
        worst = int(torch.where(too_far, diff, torch.full_like(diff, -1.0)).argmax())
        raise CheckFailed(
            f"{name}: {int(too_far.sum())} of {got.numel()} values differ; worst at index "
            f"{_index(worst, tensor.shape)}: expected {want[worst].item():.6g}, got {got[worst].item():.6g} "
            f"(tolerance {atol:g} + {rtol:g} * |expected|)."
        )
