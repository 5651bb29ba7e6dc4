"""Compare a student's tensor or number with the expected one: type, shape, dtype, finiteness, values.

Every check raises :class:`CheckFailed` with a message that says what was expected, what came, and (given a
``hint``) the usual cause. Numbers are printed with as many digits as it takes to tell them apart.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch


class CheckFailed(AssertionError):
    """A check on a student's answer failed; the message says what was expected and what came."""


def passed(name: str) -> None:
    """Print a one-line confirmation that the visible checks on ``name`` passed."""
    print(f"\N{CHECK MARK} {name}: visible checks passed; more checks run when your notebook is graded.")


def _with_hint(message: str, hint: str | None) -> str:
    """``message`` followed by ``Usual cause: hint`` when a hint is given."""
    return f"{message} Usual cause: {hint}" if hint else message


def fail(message: str, hint: str | None = None) -> None:
    """Raise :class:`CheckFailed` with ``message`` (and the usual cause, ``hint``)."""
    __tracebackhide__ = True
    raise CheckFailed(_with_hint(message, hint))


def format_pair(expected: float, actual: float) -> tuple[str, str]:
    """The two numbers printed with the fewest significant digits (at least 6) that show they differ."""
    for digits in range(6, 18):
        want, got = f"{expected:.{digits}g}", f"{actual:.{digits}g}"
        if want != got:
            return want, got
    return repr(expected), repr(actual)


def assert_true(condition: bool, message: str, hint: str | None = None) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` is exactly ``True``."""
    __tracebackhide__ = True
    if condition is not True and not (isinstance(condition, torch.Tensor) and condition.numel() == 1
                                      and bool(condition.item()) is True):
        raise CheckFailed(_with_hint(message, hint))


def is_float(value: object) -> bool:
    """True for a Python float or a numpy floating scalar (``np.float64`` subclasses float); False for tensors."""
    if isinstance(value, float):
        return True
    return isinstance(value, Real) and not isinstance(value, Integral) and not isinstance(value, torch.Tensor)


def is_int(value: object) -> bool:
    """True for a Python int or a numpy integer scalar, but not for ``bool``."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _kind(value: object) -> str:
    """A short description of ``value`` for messages: its type, and its shape for tensors."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} (use .item() for a number)"
    return type(value).__name__


FLOAT_HINT = "return a number such as loss.item(), not a tensor."


def assert_float(value: object, name: str, hint: str | None = FLOAT_HINT) -> None:
    """Check that ``value`` is a real floating-point number (Python or numpy), not a tensor or an int."""
    __tracebackhide__ = True
    if not is_float(value):
        raise CheckFailed(_with_hint(f"{name}: expected a float, got {_kind(value)}.", hint))


def assert_int(value: object, name: str) -> None:
    """Check that ``value`` is an integer (Python or numpy), not a float, bool or tensor."""
    __tracebackhide__ = True
    if not is_int(value):
        raise CheckFailed(f"{name}: expected an int, got {_kind(value)}" +
                          (f" ({value!r})" if isinstance(value, float) else "") + ".")


def assert_float_list(values: object, length: int, name: str) -> None:
    """Check that ``values`` is a list of ``length`` floats (Python or numpy; tensors are refused)."""
    __tracebackhide__ = True
    if not isinstance(values, list):
        raise CheckFailed(f"{name}: expected a list of {length} floats, got {_kind(values)}.")
    if len(values) != length:
        raise CheckFailed(f"{name}: expected a list of {length} floats, got a list of {len(values)}.")
    for i, value in enumerate(values):
        if not is_float(value):
            raise CheckFailed(f"{name}: entry {i} should be a float, got {_kind(value)}. Use .item() on a 0-d tensor.")


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


def _assert_number_close(actual: object, expected: float, name: str, rtol: float, atol: float,
                         hint: str | None) -> None:
    """Compare a Python/numpy/0-d tensor number with ``expected``."""
    if isinstance(actual, torch.Tensor) and actual.numel() == 1:
        actual = actual.detach().item()
    if isinstance(actual, bool) or not isinstance(actual, Real):
        raise CheckFailed(f"{name}: expected a number close to {expected:.6g}, got {_kind(actual)}.")
    actual = float(actual)
    if not math.isfinite(actual):
        raise CheckFailed(_with_hint(f"{name}: expected the finite value {expected:.6g}, got {actual}.", hint))
    if not abs(actual - expected) <= atol + rtol * abs(expected):
        want, got = format_pair(expected, actual)
        raise CheckFailed(_with_hint(f"{name}: expected {want}, got {got} (difference {actual - expected:.3g}).",
                                     hint))


def assert_close(
    actual: object,
    expected: torch.Tensor | float,
    *,
    name: str = "result",
    rtol: float = 1e-5,
    atol: float = 1e-8,
    check_dtype: bool = False,
    hint: str | None = None,
) -> None:
    """Check that ``actual`` matches ``expected`` within ``atol + rtol * |expected|``, element by element.

    A tensor ``expected`` demands a tensor of the same shape (and dtype if ``check_dtype``) with finite
    values, on any device; a number ``expected`` accepts a Python or numpy number or a one-element tensor.
    ``hint`` (the usual cause of a mismatch) is appended to a value mismatch.
    """
    __tracebackhide__ = True
    if not isinstance(expected, torch.Tensor):
        _assert_number_close(actual, float(expected), name, rtol, atol, hint)
        return
    tensor = _as_tensor(actual, name, expected)
    if tensor.shape != expected.shape:
        extra = ""
        if tensor.numel() == expected.numel():
            extra = " Same number of elements: check for a missing/extra dimension or a transpose."
        raise CheckFailed(f"{name}: expected shape {tuple(expected.shape)}, got {tuple(tensor.shape)}.{extra}")
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
        expected_text, got_text = format_pair(want[worst].item(), got[worst].item())
        raise CheckFailed(_with_hint(
            f"{name}: {int(too_far.sum())} of {got.numel()} values differ; worst at index "
            f"{_index(worst, tensor.shape)}: expected {expected_text}, got {got_text} "
            f"(tolerance {atol:g} + {rtol:g} * |expected|).", hint))
