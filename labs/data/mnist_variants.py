"""MNIST variants that test a model's inductive bias: digits shifted inside a larger canvas, scrambled pixels.

* *centred*: each 28 x 28 digit pasted in the middle of a larger, black ``canvas x canvas`` image;
* *shifted*: each digit pasted at its own random offset in that canvas (seeded, so the same every run);
* *scrambled*: the centred canvas with its pixels reordered by one fixed random permutation, the same for
  every image (so the information is all there, but neighbouring pixels are no longer neighbours).

A convolutional network shares its filters across positions, so it should cope with shifts and lose its
edge on scrambled images; a fully connected network sees a flat vector and does not care about the order of
its inputs. Everything here is deterministic for a given seed and works on any ``(N, 1, H, W)`` batch.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch.utils.data import TensorDataset

Kind = Literal["centred", "shifted", "scrambled"]
KINDS: tuple[Kind, ...] = ("centred", "shifted", "scrambled")
DEFAULT_CANVAS = 40


def _check_images(images: torch.Tensor, canvas: int) -> None:
    """Raise ValueError unless ``images`` is an (N, 1, H, W) batch that fits in a ``canvas`` square."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected images of shape (N, 1, H, W), got {tuple(images.shape)}")
    if canvas < max(images.shape[2], images.shape[3]):
        raise ValueError(f"canvas {canvas} is smaller than the images {tuple(images.shape[2:])}")


def random_offsets(n: int, max_offset: int, seed: int = 0) -> torch.Tensor:
    """``n`` (row, column) offsets drawn uniformly from ``0..max_offset`` with ``seed``: an int64 (n, 2) tensor."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, max_offset + 1, (n, 2), generator=generator)


def paste_digits(images: torch.Tensor, canvas: int, offsets: torch.Tensor) -> torch.Tensor:
    """Paste image ``i`` of ``images`` (N, 1, H, W) into a zero ``canvas x canvas`` image with its top-left
    corner at ``offsets[i] = (row, column)``; returns (N, 1, canvas, canvas) of the images' dtype."""
    _check_images(images, canvas)
    n, _, height, width = images.shape
    offsets = torch.as_tensor(offsets, dtype=torch.long)
    if tuple(offsets.shape) != (n, 2):
        raise ValueError(f"expected offsets of shape ({n}, 2), got {tuple(offsets.shape)}")
    if bool((offsets < 0).any()) or bool((offsets[:, 0] > canvas - height).any()) or bool(
            (offsets[:, 1] > canvas - width).any()):
        raise ValueError("an offset places a digit outside the canvas")
    out = images.new_zeros(n, 1, canvas, canvas)
    rows = offsets[:, 0, None, None] + torch.arange(height)[None, :, None]  # (N, H, 1)
    cols = offsets[:, 1, None, None] + torch.arange(width)[None, None, :]   # (N, 1, W)
    batch = torch.arange(n)[:, None, None]
    out[batch, 0, rows, cols] = images[:, 0]
    return out


def centre_digits(images: torch.Tensor, canvas: int = DEFAULT_CANVAS) -> torch.Tensor:
    """Every image pasted in the middle of a ``canvas x canvas`` black image (N, 1, canvas, canvas)."""
    _check_images(images, canvas)
    top, left = (canvas - images.shape[2]) // 2, (canvas - images.shape[3]) // 2
    offsets = torch.tensor([top, left]).repeat(images.shape[0], 1)
    return paste_digits(images, canvas, offsets)


def shift_digits(images: torch.Tensor, canvas: int = DEFAULT_CANVAS, seed: int = 0) -> torch.Tensor:
    """Every image pasted at its own random position in a ``canvas x canvas`` black image, drawn with ``seed``."""
    _check_images(images, canvas)
    if images.shape[2] != images.shape[3]:
        raise ValueError("shift_digits expects square images")
    offsets = random_offsets(images.shape[0], canvas - images.shape[2], seed)
    return paste_digits(images, canvas, offsets)


def pixel_permutation(num_pixels: int, seed: int = 0) -> torch.Tensor:
    """One fixed random permutation of ``range(num_pixels)`` (int64), drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(num_pixels, generator=generator)


def scramble_pixels(images: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """Reorder the ``H * W`` pixels of every image of (N, C, H, W) by ``permutation`` (the same for all images):
    pixel ``j`` of the flattened result is pixel ``permutation[j]`` of the flattened input."""
    n, channels, height, width = images.shape
    if tuple(permutation.shape) != (height * width,):
        raise ValueError(f"expected a permutation of {height * width} pixels, got shape {tuple(permutation.shape)}")
    flat = images.reshape(n, channels, height * width)
    return flat[:, :, permutation].reshape(n, channels, height, width)


def mnist_variant(dataset: TensorDataset, kind: Kind, canvas: int = DEFAULT_CANVAS, seed: int = 0,
                  permutation_seed: int = 0) -> TensorDataset:
    """A copy of an ``(image, label)`` data set with its images made ``kind`` ("centred", "shifted" or "scrambled")
    in a ``canvas x canvas`` frame. ``seed`` draws the shifts (use different seeds for train and test sets);
    ``permutation_seed`` draws the one pixel permutation (keep it equal for train and test sets)."""
    images, labels = dataset.tensors[0], dataset.tensors[1]
    if kind == "centred":
        out = centre_digits(images, canvas)
    elif kind == "shifted":
        out = shift_digits(images, canvas, seed)
    elif kind == "scrambled":
        out = scramble_pixels(centre_digits(images, canvas), pixel_permutation(canvas * canvas, permutation_seed))
    else:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return TensorDataset(out, labels.clone())
