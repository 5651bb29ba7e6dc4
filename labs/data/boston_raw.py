"""The raw Boston housing table (506 houses, 13 features, median value MEDV in k$), unsplit and unscaled.

``sklearn.datasets.load_boston`` was removed from scikit-learn in version 1.2; the helpers ship a copy of the
same StatLib table (see :mod:`labs.data.bundled`), so notebooks that split and scale the data themselves (with
scikit-learn's ``train_test_split`` and ``StandardScaler``, say) read it from here, offline.
"""

from __future__ import annotations

import numpy as np

from labs.data.boston import FEATURE_NAMES

__all__ = ["FEATURE_NAMES", "boston_table"]


def boston_table() -> tuple[np.ndarray, np.ndarray]:
    """Features (506, 13) and target MEDV (506,), both float64 numpy arrays in the table's original order."""
    from labs.data.bundled import boston_table as bundled_table

    return bundled_table()
