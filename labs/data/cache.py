"""Where downloaded and converted data sets are kept."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "LABS_DATA_DIR"


def data_dir() -> Path:
    """The data folder: ``$LABS_DATA_DIR`` if set, else ``~/.cache/dl-labs``; created on first use."""
    root = Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "dl-labs")
    root.mkdir(parents=True, exist_ok=True)
    return root
