"""Enforce a rule a task states ("without autograd", "do not call torch.softmax") while the student's code runs.

:func:`forbidden_calls` is a context manager that watches every torch call made inside it through a
``TorchFunctionMode``: aliases (``from torch.autograd import grad``), methods (``x.softmax(0)``) and the
library functions built on a forbidden one (``torch.func.grad`` calls ``torch.autograd.grad``) are all seen.
A forbidden call is recorded, and :class:`CheckFailed` is raised when the block ends, naming the call, even
if the student's code caught the error that was raised at the call itself::

    with forbidden_calls(AUTOGRAD, task="first_weight_gradient", reason="derive the gradient by hand"):
        got = first_weight_gradient(x0, weights, biases, c)

Compute references *outside* the block. The solution, which calls none of them, is unaffected.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from labs.checks.tensors import CheckFailed

#: Every way to get a derivative from torch: backward, autograd.grad (which torch.func and
#: torch.autograd.functional use), and forward-mode dual numbers (torch.func.jvp/jacfwd, forward_ad).
AUTOGRAD: dict[object, str] = {
    torch.Tensor.backward: "Tensor.backward",
    torch.autograd.backward: "torch.autograd.backward",
    torch.autograd.grad: "torch.autograd.grad (also behind torch.func.grad, jacrev, vjp, autograd.functional)",
    torch._make_dual: "forward-mode autograd (torch.func.jvp, jacfwd, torch.autograd.forward_ad)",
}

#: The library softmax functions, in all their spellings.
SOFTMAX: dict[object, str] = {
    torch.softmax: "torch.softmax", F.softmax: "F.softmax", torch.Tensor.softmax: "Tensor.softmax",
    torch.log_softmax: "torch.log_softmax", F.log_softmax: "F.log_softmax",
    torch.Tensor.log_softmax: "Tensor.log_softmax", torch.special.softmax: "torch.special.softmax",
    torch.special.log_softmax: "torch.special.log_softmax",
}

#: The library losses built on the softmax.
CROSS_ENTROPY: dict[object, str] = {
    F.cross_entropy: "F.cross_entropy", F.nll_loss: "F.nll_loss", F.kl_div: "F.kl_div",
}

#: Stable log-sum-exp, which does the max subtraction for the student.
LOGSUMEXP: dict[object, str] = {torch.logsumexp: "torch.logsumexp", torch.Tensor.logsumexp: "Tensor.logsumexp",
                                torch.special.logsumexp: "torch.special.logsumexp"}


def _code_key(code: types.CodeType) -> tuple[str, str]:
    """What identifies a function's code even when its module was loaded again (labs.checks.fresh)."""
    return code.co_filename, getattr(code, "co_qualname", code.co_name)


def _helpers() -> dict[object, str]:
    """The gradient helpers of labs.checks, which a task asking the student to write them must forbid."""
    from labs.checks.gradients import autograd_gradient, numerical_gradient, rel_error

    return {numerical_gradient: "labs.checks.numerical_gradient", autograd_gradient: "labs.checks.autograd_gradient",
            rel_error: "labs.checks.rel_error"}


#: The course's own gradient helpers (plain Python functions: watched by a profile hook, see forbidden_calls).
GRADIENT_HELPERS: dict[object, str] = _helpers()


def _merge(groups: Iterable[dict[object, str]]) -> dict[object, str]:
    """One table from several groups of forbidden calls."""
    table: dict[object, str] = {}
    for group in groups:
        table.update(group)
    return table


class _Watch(TorchFunctionMode):
    """Records (and refuses) calls of the forbidden functions made while it is active."""

    def __init__(self, forbidden: dict[object, str], message: str) -> None:
        super().__init__()
        self.forbidden = forbidden
        self.message = message
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's protocol
        name = self.forbidden.get(func)
        if name is not None:
            self.seen.append(name)
            raise CheckFailed(self.message.format(call=name))
        return func(*args, **(kwargs or {}))


@contextmanager
def forbidden_calls(*groups: dict[object, str], task: str, reason: str) -> Iterator[None]:
    """Fail the check if code inside the block calls any function of ``groups`` (e.g. ``AUTOGRAD``).

    ``task`` names the student's function and ``reason`` says why the rule exists; both go into the message.
    """
    __tracebackhide__ = True
    message = f"{task} called {{call}}, which this task does not allow: {reason}."
    table = _merge(groups)
    watch = _Watch(table, message)
    python = {_code_key(f.__code__): name for f, name in table.items()
              if isinstance(f, types.FunctionType) and f.__module__.startswith("labs.")}
    previous = sys.getprofile()

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call":
            name = python.get(_code_key(frame.f_code))
            if name is not None:
                watch.seen.append(name)

    error: BaseException | None = None
    try:
        if python:
            sys.setprofile(profile)
        with watch:
            yield
    except Exception as raised:  # noqa: BLE001 - re-raised below unless a forbidden call explains it
        error = raised
    finally:
        if python:
            sys.setprofile(previous)
    if watch.seen:
        raise CheckFailed(message.format(call=watch.seen[0])) from None
    if error is not None:
        raise error
