"""Grading mode: nbgrader sets ``NBGRADER_EXECUTION`` while it validates or autogrades a notebook."""

from __future__ import annotations

import os
from typing import TypeVar

GRADING_ENV = "NBGRADER_EXECUTION"

T = TypeVar("T")


def grading_mode() -> str | None:
    """Return ``"autograde"`` or ``"validate"`` while nbgrader runs the notebook, else ``None``."""
    return os.environ.get(GRADING_ENV) or None


def budget(full: T, graded: T) -> T:
    """Return ``graded`` (a small budget: epochs, samples) under nbgrader, ``full`` for a student's run."""
    return graded if grading_mode() else full
