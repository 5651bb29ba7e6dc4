"""Run a source notebook's cells in-process, with chosen answer cells swapped for buggy or blank versions.

Whole-notebook nbgrader runs cost seconds each; to show that every plausible wrong answer loses its
points it is enough to execute the notebook's own cells (read with nbformat) in one namespace and record
which autograded test cells raise. This module does exactly that, in grading mode.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import secrets
import types
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import nbformat
import torch

from labs.authoring import is_autograded_test, nbgrader_meta
from labs.grading.seal import VERDICT_MIME, seal

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


#: ``old`` value of a Bug or Variant that stands for everything between the cell's solution markers.
SOLUTION = "<the solution region>"


@dataclass(frozen=True)
class Bug:
    """A plausible wrong answer: in answer cell ``cell`` replace ``old`` by ``new``; ``fails`` must then fail.

    ``visible`` names the test cells whose *visible* part alone must already fail (the bug the task's hint
    warns about); ``old=SOLUTION`` replaces the whole solution region.
    """

    name: str
    cell: str
    old: str
    new: str
    fails: tuple[str, ...]
    visible: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    """A correct answer written differently (another library call, a loop, numpy floats, a helper): in answer
    cell ``cell`` replace ``old`` by ``new`` (``old=SOLUTION``: the whole solution region); every test passes."""

    name: str
    cell: str
    old: str
    new: str


@dataclass
class RunResult:
    """Outcome of one in-process run: which autograded test cells passed and why the others failed."""

    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # failures of cells that carry no points
    records: dict[str, dict] = field(default_factory=dict)  # what each passing sealed test cell completed


def load_source(assignment: str) -> nbformat.NotebookNode:
    """Read ``source/<assignment>/<assignment>.ipynb``."""
    return nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def graded_test_ids(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the autograded test cells (code cells with points)."""
    return [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if is_autograded_test(c)
    ]


def stub_answers(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> what ``generate_assignment`` leaves of each code answer cell (nbgrader's ClearSolutions)."""
    from nbgrader.preprocessors import ClearSolutions
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    cleared, _ = ClearSolutions(config=config).preprocess(copy.deepcopy(nb), {})
    return answer_cells(cleared)


HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)
SOLUTION_REGION = re.compile(r"(### BEGIN SOLUTION\n)(.*?)(\s*### END SOLUTION)", re.DOTALL)


def visible_part(source: str) -> str:
    """A test cell's source without its hidden tests (what the student runs)."""
    return HIDDEN_TESTS.sub("", source)


#: Modules shared by every in-process run: a catalogued cheat that patches them must not outlive its run.
SHARED_MODULES = ("labs.checks", "labs.checks.tensors", "labs.checks.gradients", "labs.checks.modules",
                  "labs.checks.rules", "labs.checks.fresh", "torch", "torch.nn.functional", "builtins")


def _snapshot_shared_modules() -> dict[str, dict[str, object]]:
    """The attributes of the shared modules (and of torch.Tensor), to restore after a run."""
    import importlib

    saved = {name: dict(vars(importlib.import_module(name))) for name in SHARED_MODULES}
    saved["torch.Tensor"] = dict(vars(torch.Tensor))
    return saved


def _restore_shared_modules(saved: dict[str, dict[str, object]]) -> None:
    """Put back every attribute a run replaced, added or deleted in the shared modules."""
    import importlib

    for name, attributes in saved.items():
        target = torch.Tensor if name == "torch.Tensor" else importlib.import_module(name)
        current = dict(vars(target))
        for key in current.keys() - attributes.keys():
            if not isinstance(current[key], types.ModuleType):  # submodules imported meanwhile stay
                delattr(target, key)
        for key, value in attributes.items():
            if current.get(key) is not value:
                setattr(target, key, value)


#: Name of the function that receives sealed cells' verdicts in the harness's namespace.
SINK = "_labs_verdict_sink"


def run_cells(nb: nbformat.NotebookNode, replacements: dict[str, str] | None = None,
              visible_only: bool = False) -> RunResult:
    """Execute every code cell in order (answer cells replaced per ``replacements``) and grade the test cells.

    Errors in non-test cells are ignored, as in nbgrader: only autograded test cells score. ``visible_only``
    runs the test cells without their hidden tests, as the student sees them.
    """
    replacements = replacements or {}
    saved = _snapshot_shared_modules()
    namespace: dict[str, object] = {"__name__": "__main__"}
    result = RunResult()
    threads = torch.get_num_threads()  # notebooks may change it while graded: give it back to pytest
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "validate"
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = nbgrader_meta(cell)
            source = replacements.get(meta.get("grade_id", ""), cell.source)
            is_test = is_autograded_test(cell)
            if is_test and visible_only:
                source = visible_part(source)
            if is_test:  # sealed as when graded (labs.grading.seal): the verdict must arrive, with its count
                secret = secrets.token_hex(16)
                source = seal(source, secret, emit=SINK + '({{"{mime}": {payload}}})')
                verdicts: list[dict] = []
                namespace[SINK] = verdicts.append
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    exec(compile(source, f"<cell {meta.get('grade_id', '?')}>", "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - a failing cell is data here
                target = result.failed if is_test else result.errors
                target[meta.get("grade_id", "?")] = f"{type(error).__name__}: {error}"
                continue
            if is_test:
                verdict = [v[VERDICT_MIME] for v in verdicts if v.get(VERDICT_MIME, {}).get("secret") == secret]
                if len(verdict) != 1:
                    result.failed[meta["grade_id"]] = f"no verdict (the sealed cell did not complete): {verdicts}"
                    continue
                result.records[meta["grade_id"]] = {"done": verdict[0]["done"], "cut": verdict[0]["cut"]}
                result.passed.add(meta["grade_id"])
    finally:
        _restore_shared_modules(saved)
        torch.set_num_threads(threads)
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
        import matplotlib.pyplot as plt

        plt.close("all")
    return result


def answer_cells(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of every code answer cell."""
    return {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in nb.cells
        if c.cell_type == "code" and nbgrader_meta(c).get("solution")
    }


def parts_with(nb: nbformat.NotebookNode, cells: set[str]) -> nbformat.NotebookNode:
    """The notebook's preamble plus only the parts (cells from one ``partN`` heading to the next) holding ``cells``.

    Only for notebooks whose parts share nothing but the preamble: a bug in one part cannot change the score
    of another, so running only the parts involved keeps a bug catalogue fast.
    """
    ids = [nbgrader_meta(c).get("grade_id", "") for c in nb.cells]
    starts = [i for i, grade_id in enumerate(ids) if re.fullmatch(r"part\d+", grade_id)]
    keep = list(range(starts[0]))
    for start, end in zip(starts, starts[1:] + [len(ids)], strict=True):
        if cells & set(ids[start:end]):
            keep += range(start, end)
    trimmed = copy.copy(nb)
    trimmed.cells = [nb.cells[i] for i in keep]
    return trimmed


def apply_bug(nb: nbformat.NotebookNode, bug: Bug | Variant) -> dict[str, str]:
    """Replacement map for ``bug`` (or a variant); fails loudly if it no longer applies to the notebook."""
    source = answer_cells(nb)[bug.cell]
    if bug.old == SOLUTION:
        match = SOLUTION_REGION.search(source)
        if match is None:
            raise AssertionError(f"{bug.name!r}: answer cell {bug.cell!r} has no solution region")
        body = bug.new.rstrip("\n")
        return {bug.cell: source[:match.start(2)] + body + source[match.end(2):]}
    if bug.old not in source:
        raise AssertionError(f"{bug.name!r}: {bug.old!r} not found in answer cell {bug.cell!r}")
    return {bug.cell: source.replace(bug.old, bug.new, 1)}
