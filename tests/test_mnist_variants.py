"""labs.data.mnist_variants: shifted and scrambled digits are deterministic and keep every pixel."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from labs.data import (
    centre_digits,
    mnist_variant,
    paste_digits,
    pixel_permutation,
    random_offsets,
    scramble_pixels,
    shift_digits,
)


def _digits(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_paste_puts_each_digit_at_its_offset():
    images = _digits(3)
    offsets = torch.tensor([[0, 0], [12, 5], [3, 12]])
    out = paste_digits(images, 40, offsets)
    assert out.shape == (3, 1, 40, 40) and out.dtype == images.dtype
    for i, (row, col) in enumerate(offsets.tolist()):
        assert torch.equal(out[i, :, row:row + 28, col:col + 28], images[i])
        rest = out[i].clone()
        rest[:, row:row + 28, col:col + 28] = 0
        assert not rest.any()


def test_paste_rejects_digits_outside_the_canvas():
    with pytest.raises(ValueError):
        paste_digits(_digits(1), 40, torch.tensor([[13, 0]]))
    with pytest.raises(ValueError):
        paste_digits(_digits(1), 20, torch.tensor([[0, 0]]))
    with pytest.raises(ValueError):
        paste_digits(torch.rand(2, 28, 28), 40, torch.zeros(2, 2, dtype=torch.long))


def test_centred_digits_sit_in_the_middle():
    images = _digits(2)
    out = centre_digits(images, 40)
    assert torch.equal(out[:, :, 6:34, 6:34], images)
    assert out.sum() == pytest.approx(images.sum().item(), rel=1e-6)


def test_shifts_are_seeded_varied_and_within_the_canvas():
    images = _digits(200)
    a, b, c = shift_digits(images, 40, seed=0), shift_digits(images, 40, seed=0), shift_digits(images, 40, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.testing.assert_close(a.sum(dim=(1, 2, 3)), images.sum(dim=(1, 2, 3)))  # every pixel kept
    offsets = random_offsets(200, 12, seed=0)
    assert offsets.min() >= 0 and offsets.max() <= 12 and len({tuple(o) for o in offsets.tolist()}) > 50
    assert torch.equal(a, paste_digits(images, 40, offsets))


def test_scrambling_is_one_fixed_invertible_permutation():
    perm = pixel_permutation(16, seed=3)
    assert torch.equal(perm, pixel_permutation(16, seed=3)) and torch.equal(perm.sort().values, torch.arange(16))
    images = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    out = scramble_pixels(images, perm)
    assert torch.equal(out.reshape(2, 16), images.reshape(2, 16)[:, perm])
    back = torch.empty_like(out.reshape(2, 16))
    back[:, perm] = out.reshape(2, 16)
    assert torch.equal(back.reshape(images.shape), images)
    with pytest.raises(ValueError):
        scramble_pixels(images, pixel_permutation(15))


def test_mnist_variant_keeps_labels_and_shares_the_permutation():
    labels = torch.arange(6) % 10
    train, test = TensorDataset(_digits(6, 0), labels), TensorDataset(_digits(6, 1), labels)
    for kind in ("centred", "shifted", "scrambled"):
        out = mnist_variant(train, kind, canvas=36)
        assert out.tensors[0].shape == (6, 1, 36, 36) and torch.equal(out.tensors[1], labels)
    scrambled_train = mnist_variant(train, "scrambled", canvas=36, seed=0)
    scrambled_test = mnist_variant(test, "scrambled", canvas=36, seed=1)
    perm = pixel_permutation(36 * 36, 0)
    assert torch.equal(scrambled_train.tensors[0], scramble_pixels(centre_digits(train.tensors[0], 36), perm))
    assert torch.equal(scrambled_test.tensors[0], scramble_pixels(centre_digits(test.tensors[0], 36), perm))
    with pytest.raises(ValueError):
        mnist_variant(train, "rotated")  # type: ignore[arg-type]
