"""The labs helpers: device selection, seeding, grading mode, offline data and the answer checks."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

import labs
from labs import budget, get_device, grading_mode, seed_everything
from labs.checks import (
    CheckFailed,
    assert_close,
    assert_layers,
    assert_matches_autograd,
    assert_true,
    autograd_gradient,
    describe_layers,
    numerical_gradient,
    rel_error,
)
from labs.data import load_boston, load_mnist, mnist_loaders, toy_regression_1d

pytestmark = pytest.mark.xdist_group("helpers")  # one worker runs this module (module fixtures)

# --- device, seeding, grading mode -------------------------------------------------------------------------------


def test_forced_cpu_device(monkeypatch, capsys):
    monkeypatch.setenv("LABS_DEVICE", "cpu")
    monkeypatch.setattr(labs.device, "_announced", set())
    assert get_device() == torch.device("cpu")
    assert get_device() == torch.device("cpu")
    assert capsys.readouterr().out.count("Using device: cpu") == 1  # announced once


def test_forcing_missing_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LABS_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA device"):
        get_device()


def test_best_device_order(monkeypatch):
    monkeypatch.delenv("LABS_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(labs.device, "_mps_available", lambda: True)
    assert get_device(verbose=False) == torch.device("mps")
    monkeypatch.setattr(labs.device, "_mps_available", lambda: False)
    assert get_device(verbose=False) == torch.device("cpu")


def test_seed_everything_is_reproducible():
    def draw():
        generator = seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=generator)

    first, second = draw(), draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])


def test_grading_mode_and_budget(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading_mode() is None and budget(100, 3) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading_mode() == "autograde" and budget(100, 3) == 3


# --- data ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_sample():
    return load_mnist("sample")


def test_offline_mnist_sample(mnist_sample):
    images, labels = mnist_sample.train.tensors
    test_images, test_labels = mnist_sample.test.tensors
    assert mnist_sample.source == "sample"
    assert images.shape == (4000, 1, 28, 28) and test_images.shape == (1000, 1, 28, 28)
    assert images.dtype == torch.float32 and labels.dtype == torch.int64
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0 and float(images.max()) > 0.99
    assert torch.bincount(labels).tolist() == [400] * 10
    assert torch.bincount(test_labels).tolist() == [100] * 10
    assert 0.1 < float(images.mean()) < 0.15  # real digits: mostly black background


def test_mnist_auto_uses_sample_when_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    split = load_mnist(train_size=64, test_size=32)
    assert split.source == "sample" and len(split.train) == 64 and len(split.test) == 32


def test_mnist_loaders_are_seeded():
    first = next(iter(mnist_loaders(batch_size=16, source="sample", seed=3)[0]))[1]
    second = next(iter(mnist_loaders(batch_size=16, source="sample", seed=3)[0]))[1]
    assert torch.equal(first, second)


def test_mnist_rejects_unknown_source():
    with pytest.raises(ValueError, match="source must be"):
        load_mnist("kaggle")


def test_boston_split_and_standardisation():
    split = load_boston(test_fraction=0.2, seed=0)
    assert split.x_train.shape == (405, 13) and split.x_test.shape == (101, 13)
    assert split.y_train.shape == (405, 1) and split.y_test.shape == (101, 1)
    assert split.feature_names[5] == "RM" and len(split.feature_names) == 13
    assert torch.allclose(split.x_train.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(split.x_train.std(0), torch.ones(13), atol=1e-4)
    assert 5.0 <= float(torch.cat([split.y_train, split.y_test]).min()) and float(split.y_train.max()) <= 50.0
    raw = load_boston(standardize=False)
    assert float(raw.x_train[:, 9].mean()) > 300  # TAX stays in dollars per 10k


def test_toy_regression_is_deterministic():
    x, y = toy_regression_1d(n=50, seed=1)
    assert x.shape == y.shape == (50, 1) and float(x.abs().max()) <= 3
    assert torch.equal(y, toy_regression_1d(n=50, seed=1)[1])


# --- checks -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "message"),
    [
        ([1.0, 2.0], torch.zeros(2), "expected a torch.Tensor of shape (2,), got list"),
        (torch.zeros(2, 1), torch.zeros(2), "expected shape (2,), got (2, 1). Same number of elements"),
        (torch.tensor([1.0, float("nan")]), torch.zeros(2), "1 of 2 values are NaN or infinite"),
        (torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), "worst at index (1,): expected 2.5, got 2"),
        (3.0, 2.0, "expected 2, got 3"),
        ("3", 2.0, "expected a number close to 2, got str"),
        (float("inf"), 2.0, "expected the finite value 2, got inf"),
    ],
)
def test_assert_close_messages(actual, expected, message):
    with pytest.raises(CheckFailed) as failure:
        assert_close(actual, expected, name="answer")
    assert str(failure.value).startswith("answer: ") and message in str(failure.value)


def test_assert_close_passes_within_tolerance():
    assert_close(torch.tensor([1.0, 2.0]) + 1e-7, torch.tensor([1.0, 2.0]))
    assert_close(torch.tensor(2.0), 2.0)
    assert_close(torch.tensor([float("inf")]), torch.tensor([float("inf")]))


def test_assert_close_dtype_and_eq_override():
    with pytest.raises(CheckFailed, match="expected dtype torch.float64, got torch.float32"):
        assert_close(torch.zeros(2), torch.zeros(2, dtype=torch.float64), check_dtype=True)

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(CheckFailed, match="got AlwaysEqual"):
        assert_close(AlwaysEqual(), torch.zeros(2))
    with pytest.raises(CheckFailed, match="got AlwaysEqual"):
        assert_close(AlwaysEqual(), 1.0)


def test_assert_true_needs_exactly_true():
    assert_true(True, "unused")
    for value in (1, "yes", [1]):
        with pytest.raises(CheckFailed, match="explain"):
            assert_true(value, "explain")


def test_gradient_helpers():
    def f(t):
        return (t**3).sum()

    x = torch.randn(5, generator=torch.Generator().manual_seed(0))
    assert_close(autograd_gradient(f, x), 3 * x.double() ** 2, rtol=1e-12)
    assert autograd_gradient(f, x).dtype == torch.float64
    assert rel_error(numerical_gradient(f, x), 3 * x.double() ** 2) < 1e-8
    assert_matches_autograd(lambda t: 3 * t**2, f, x)
    with pytest.raises(CheckFailed, match="gradient: 5 of 5 values differ"):
        assert_matches_autograd(lambda t: -3 * t**2, f, x)


def test_rel_error_is_symmetric_and_zero_safe():
    assert rel_error(torch.zeros(3), torch.zeros(3)) == 0.0
    assert rel_error(torch.tensor([1.0]), torch.tensor([3.0])) == pytest.approx(0.5)


def test_layer_checks():
    model = nn.Sequential(nn.Linear(1, 4), nn.Sigmoid(), nn.Linear(4, 1))
    assert describe_layers(model) == ["Linear(1, 4)", "Sigmoid", "Linear(4, 1)"]
    assert_layers(model, ["Linear(1, 4)", "Sigmoid", "Linear(4, 1)"])
    with pytest.raises(CheckFailed, match=r"it called \['Linear\(1, 4\)', 'Sigmoid', 'Linear\(4, 1\)'\]"):
        assert_layers(model, ["Linear(1, 4)", "ReLU", "Linear(4, 1)"])
    with pytest.raises(CheckFailed, match="expected an nn.Module, got function"):
        assert_layers(lambda x: x, [])


def _write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the IDX format that MNIST's raw files use."""
    magic = 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_path_reads_raw_mnist_files(tmp_path, monkeypatch):
    """The Colab path (torchvision MNIST) runs here on raw files laid out as a finished download would be."""
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path))
    raw = tmp_path / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 12), ("t10k", 5)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, count))
    split = load_mnist("torchvision")
    images, labels = split.train.tensors
    assert split.source == "torchvision" and images.shape == (12, 1, 28, 28) and len(split.test) == 5
    assert images.dtype == torch.float32 and labels.dtype == torch.int64 and float(images.max()) <= 1.0
