"""Checks shared by the notebooks' visible and hidden tests; each failure says what to fix.

Every check raises :class:`CheckFailed` (an ``AssertionError``) with a message naming what was expected,
what came, and which shape, dtype or value differed, and where a ``hint`` is given, the usual cause.

* values: :func:`assert_close`, :func:`assert_true`, :func:`assert_float`, :func:`assert_int`,
  :func:`assert_float_list` (numpy numbers count as numbers; tensors do not);
* gradients: :func:`autograd_gradient`, :func:`numerical_gradient`, :func:`rel_error`,
  :func:`assert_matches_autograd`, :func:`assert_loss_and_gradient`;
* architectures: :func:`describe_layers` / :func:`assert_layers` (what the forward pass calls),
  :func:`registered_layers`, :func:`model_device`;
* rules: :func:`forbidden_calls` with the groups ``AUTOGRAD``, ``SOFTMAX``, ``CROSS_ENTROPY``, ``LOGSUMEXP``,
  ``GRADIENT_HELPERS`` (the course's own numerical_gradient, autograd_gradient, rel_error);
* :func:`fresh` gives hidden tests check functions a submission cannot have patched.
"""

from labs.checks.fresh import fresh
from labs.checks.gradients import (
    assert_loss_and_gradient,
    assert_matches_autograd,
    autograd_gradient,
    numerical_gradient,
    rel_error,
)
from labs.checks.modules import assert_layers, describe_layers, model_device, registered_layers
from labs.checks.rules import AUTOGRAD, CROSS_ENTROPY, GRADIENT_HELPERS, LOGSUMEXP, SOFTMAX, forbidden_calls
from labs.checks.tensors import (
    CheckFailed,
    assert_close,
    assert_float,
    assert_float_list,
    assert_int,
    assert_true,
    fail,
    format_pair,
    is_float,
    is_int,
    passed,
)

__all__ = [
    "AUTOGRAD",
    "CROSS_ENTROPY",
    "LOGSUMEXP",
    "SOFTMAX",
    "CheckFailed",
    "GRADIENT_HELPERS",
    "assert_close",
    "assert_float",
    "assert_float_list",
    "assert_int",
    "assert_layers",
    "assert_loss_and_gradient",
    "assert_matches_autograd",
    "assert_true",
    "autograd_gradient",
    "describe_layers",
    "fail",
    "forbidden_calls",
    "format_pair",
    "fresh",
    "is_float",
    "is_int",
    "model_device",
    "numerical_gradient",
    "passed",
    "registered_layers",
    "rel_error",
]
