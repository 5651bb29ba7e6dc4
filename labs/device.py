"""Pick the best available torch device: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import os

import torch

#: Environment variable that forces a device, e.g. ``LABS_DEVICE=cpu`` or ``LABS_DEVICE=cuda:1``.
DEVICE_ENV = "LABS_DEVICE"

_announced: set[str] = set()


def _mps_available() -> bool:
    """True when Apple's Metal backend exists and works in this torch build."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(verbose: bool = True) -> torch.device:
    """Return the best device (CUDA > MPS > CPU), or the one forced by ``$LABS_DEVICE``.

    The choice is printed once per device so a notebook shows where it runs.
    """
    forced = os.environ.get(DEVICE_ENV, "").strip()
    if forced:
        device = torch.device(forced)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{DEVICE_ENV}={forced!r} but torch sees no CUDA device on this machine.")
        reason = f"forced by {DEVICE_ENV}"
    elif torch.cuda.is_available():
        device, reason = torch.device("cuda"), torch.cuda.get_device_name(0)
    elif _mps_available():
        device, reason = torch.device("mps"), "Apple Metal"
    else:
        device, reason = torch.device("cpu"), "no GPU found"
    if verbose and str(device) not in _announced:
        _announced.add(str(device))
        print(f"Using device: {device} ({reason})")
    return device
