"""labs.data.boston_raw: the unsplit, unscaled Boston table that ps04 splits with scikit-learn."""

import numpy as np

from labs.data.boston_raw import FEATURE_NAMES, boston_table


def test_boston_table_is_the_raw_506_by_13_table():
    features, target = boston_table()
    assert features.shape == (506, 13) and target.shape == (506,)
    assert features.dtype == np.float64 and target.dtype == np.float64
    assert len(FEATURE_NAMES) == 13 and FEATURE_NAMES[-1] == "LSTAT"
    assert np.isfinite(features).all() and np.isfinite(target).all()
    # first row of the original StatLib table: CRIM 0.00632, ZN 18, ..., LSTAT 4.98, MEDV 24.0
    assert features[0, 0] == 0.00632 and features[0, 1] == 18.0 and features[0, 12] == 4.98 and target[0] == 24.0
    assert 5.0 <= target.min() and target.max() == 50.0


def test_boston_table_returns_fresh_copies():
    features, target = boston_table()
    features[0, 0] = -1.0
    target[0] = -1.0
    again, target_again = boston_table()
    assert again[0, 0] == 0.00632 and target_again[0] == 24.0
