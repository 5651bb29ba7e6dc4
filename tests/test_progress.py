"""labs.progress: bars without red warnings, and no live widget left in a saved notebook."""

from __future__ import annotations

import warnings

import pytest
import torch

from labs.progress import optimizer_steps, tqdm, widgets_available


def test_text_bar_on_stdout_without_warnings(capsys):
    assert not widgets_available()  # not in a Jupyter kernel
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = 0
        for i in tqdm(range(5), desc="loop"):
            total += i
    out, err = capsys.readouterr()
    assert total == 10 and "loop: 100%" in out and err == ""


def test_optimizer_steps_counts_every_step_and_unhooks(capsys):
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([weight], lr=0.1)
    with optimizer_steps(7, desc="steps") as bar:
        for _ in range(7):
            weight.sum().backward()
            optimizer.step()
    assert bar.n == 7
    optimizer.step()
    assert bar.n == 7  # the hook is gone after the block
    assert "steps: 100%" in capsys.readouterr().out


@pytest.mark.slow
def test_in_a_kernel_the_finished_widget_becomes_text():
    """About 5 s: in a real kernel (with ipywidgets) the bar is a widget while it runs; what stays in the
    notebook afterwards is text, so a reopened notebook shows no "Error displaying widget"."""
    import nbformat
    from nbclient import NotebookClient

    pytest.importorskip("ipywidgets")
    code = ("from labs.progress import tqdm, widgets_available\nprint(widgets_available())\n"
            "for _ in tqdm(range(3), desc='kept'): pass\nfor _ in tqdm(range(3), desc='gone', leave=False): pass")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    outputs = nb.cells[0].outputs
    assert outputs[0].text == "True\n"
    shown = [o.data for o in outputs if o.output_type == "display_data"]
    assert all(set(data) == {"text/plain"} for data in shown), shown  # no widget-view left
    assert shown[0]["text/plain"].startswith("kept: 100%") and shown[1]["text/plain"] == ""
