"""Data sets used by the labs, each with an offline source so tests and autograding never need a network."""

from labs.data.boston import BostonSplit, load_boston
from labs.data.mnist import MnistSplit, load_mnist, mnist_loaders
from labs.data.toy import toy_regression_1d

__all__ = ["BostonSplit", "MnistSplit", "load_boston", "load_mnist", "mnist_loaders", "toy_regression_1d"]
from labs.data.functions2d import checkerboard, grid_2d, ring, ripple  # noqa: E402

__all__ += ["checkerboard", "grid_2d", "ring", "ripple"]
from labs.data.mnist_variants import (  # noqa: E402
    centre_digits,
    mnist_variant,
    paste_digits,
    pixel_permutation,
    random_offsets,
    scramble_pixels,
    shift_digits,
)

__all__ += ["centre_digits", "mnist_variant", "paste_digits", "pixel_permutation", "random_offsets",
            "scramble_pixels", "shift_digits"]
