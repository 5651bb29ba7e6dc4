"""Boston housing (506 houses, 13 features, median value MEDV in k$), shipped with the package (labs.data.bundled)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FEATURE_NAMES = (
    "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
)


@dataclass
class BostonSplit:
    """Standardised train/test tensors (float32); ``mean``/``std`` are the training statistics used."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    feature_names: tuple[str, ...]
    mean: torch.Tensor
    std: torch.Tensor


def load_boston(test_fraction: float = 0.2, seed: int = 0, standardize: bool = True) -> BostonSplit:
    """Shuffle with ``seed``, split off ``test_fraction`` and standardise features with training statistics.

    Targets ``y_*`` have shape (n, 1) and stay in thousands of dollars.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    from labs.data.bundled import boston_table

    features, target = boston_table()
    order = np.random.default_rng(seed).permutation(len(target))
    n_test = round(len(target) * test_fraction)
    test_idx, train_idx = order[:n_test], order[n_test:]
    x = torch.from_numpy(features).float()
    y = torch.from_numpy(target).float().reshape(-1, 1)
    x_train, x_test = x[train_idx], x[test_idx]
    mean, std = x_train.mean(0), x_train.std(0)
    if not standardize:
        mean, std = torch.zeros_like(mean), torch.ones_like(std)
    return BostonSplit(
        (x_train - mean) / std, y[train_idx], (x_test - mean) / std, y[test_idx], FEATURE_NAMES, mean, std
    )
