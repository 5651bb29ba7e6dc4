"""Checks shared by the notebooks' visible and hidden tests; each failure says what to fix.

Every check raises :class:`CheckFailed` (an ``AssertionError``) with a message naming what was expected,
what came, and which shape, dtype or value differed.
"""

from labs.checks.fresh import fresh
from labs.checks.gradients import (
    assert_matches_autograd,
    autograd_gradient,
    numerical_gradient,
    rel_error,
)
from labs.checks.modules import assert_layers, describe_layers
from labs.checks.tensors import CheckFailed, assert_close, assert_true, passed

__all__ = [
    "CheckFailed",
    "assert_close",
    "assert_layers",
    "assert_matches_autograd",
    "assert_true",
    "autograd_gradient",
    "describe_layers",
    "fresh",
    "numerical_gradient",
    "passed",
    "rel_error",
]
