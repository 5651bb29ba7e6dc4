"""Progress bars that behave in every place a notebook runs: JupyterLab, Colab, a terminal, the grader.

``from labs.progress import tqdm`` replaces ``from tqdm.auto import tqdm`` in the notebooks:

- in a Jupyter kernel with ``ipywidgets`` installed it draws tqdm's widget bar, and when the bar finishes it
  replaces the widget by a line of text (the finished bar), so a saved notebook reopens without
  "Error displaying widget: model not found";
- anywhere else (no ``ipywidgets``, a terminal, a plain script) it draws a text bar on stdout, without the red
  ``TqdmWarning`` that ``tqdm.auto`` prints when ``ipywidgets`` is missing.

:func:`optimizer_steps` shows a bar for code that trains without a loop of its own to wrap, e.g. a student's
function that runs its own optimiser: it counts every ``torch.optim`` step while the ``with`` block runs.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm.std import tqdm as _StdTqdm

__all__ = ["optimizer_steps", "tqdm", "trange", "widgets_available"]


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbclient), False in a terminal or script."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def widgets_available() -> bool:
    """True when widget progress bars can be drawn: a Jupyter kernel with ``ipywidgets`` importable."""
    return _in_kernel() and importlib.util.find_spec("ipywidgets") is not None


class _TextTqdm(_StdTqdm):
    """tqdm's text bar, written to stdout (stderr output is shown in red by Jupyter and graded as an error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("file", sys.stdout)
        super().__init__(*args, **kwargs)


@functools.cache
def _widget_class() -> type:
    """tqdm's notebook bar, closed into a line of text: nothing in the saved notebook refers to a live widget."""
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm

    class _WidgetTqdm(notebook_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._handle = None
            shown = kwargs.pop("display", True)
            super().__init__(*args, display=False, **kwargs)
            if shown and not self.disable:
                self._handle = display(self.container, display_id=True)

        def close(self) -> None:
            if self.disable or self._handle is None:
                return super().close()
            super().close()
            handle, self._handle = self._handle, None
            text = _StdTqdm.format_meter(**{**self.format_dict, "ncols": 100}) if self.leave else ""
            handle.update({"text/plain": text}, raw=True)

    return _WidgetTqdm


def tqdm(*args: Any, **kwargs: Any) -> _StdTqdm:
    """A progress bar over an iterable (same arguments as ``tqdm.tqdm``): a widget in a notebook with
    ``ipywidgets``, else a text bar on stdout."""
    cls = _widget_class() if widgets_available() else _TextTqdm
    return cls(*args, **kwargs)


def trange(*args: Any, **kwargs: Any) -> _StdTqdm:
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)


@contextmanager
def optimizer_steps(total: int, desc: str | None = None) -> Iterator[_StdTqdm]:
    """A progress bar of ``total`` optimiser steps: every ``torch.optim`` optimiser's ``step()`` inside the
    ``with`` block advances it by one."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    with tqdm(total=total, desc=desc) as bar:
        hook = register_optimizer_step_post_hook(lambda *_: bar.update())
        try:
            yield bar
        finally:
            hook.remove()
