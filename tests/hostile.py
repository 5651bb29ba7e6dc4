"""A corpus of broken and hostile ps01 submissions, built programmatically, with what grading must do to each.

Most cases start from a *partial* submission (only ``gradient_of``, ``my_linear_regression`` and ``mse_loss``
answered: 3 of 17 points) so that they grade in seconds; the attack then targets ``gradient_of``. Each case says
which test cells must score 0 or full marks, which audit flags it must raise, and what the runner must
record as the reason. ``write_corpus`` writes them under ``submitted/<student>/ps01/``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notebook_harness import answer_cells, load_source, nbgrader_meta  # noqa: E402
from submissions import fill, load_release, solved  # noqa: E402
from tampering import HIDDEN_ONLY, RUNS_LATER_CELLS, TAMPERING  # noqa: E402

ASSIGNMENT = "ps01"
ALL_TESTS = ("test_gradient_of", "test_my_linear_regression", "test_mse_loss", "test_train",
             "test_nn_linear_regression", "test_mlp", "test_mlp_training", "test_first_weight_gradient",
             "test_centred_gradient", "test_relative_error", "test_steepest_sigmoid_net")
PARTIAL = ("gradient_of", "my_linear_regression", "mse_loss")  # the answer cells of the partial submission
PARTIAL_FULL = ("test_gradient_of", "test_my_linear_regression", "test_mse_loss")
REST = tuple(test for test in ALL_TESTS if test not in PARTIAL_FULL)  # what the partial submission leaves at 0
WRONG_GRADIENT = "def gradient_of(f, x):\n    return torch.zeros_like(x)\n"


@dataclass(frozen=True)
class Case:
    """One submission of the corpus and what grading it must lead to."""

    student: str
    kind: str
    build: Callable[[Path], bytes]
    zero: tuple[str, ...] = ()  # test cells that must score 0
    full: tuple[str, ...] = ()  # test cells that must score full marks
    flags: tuple[str, ...] = ()  # audit flag kinds of which at least one must be raised
    reason: str = ""  # text the runner's reason must contain (case-insensitive)
    status: str = "graded"
    clean: bool = False  # must raise no audit flag
    runtime: bool = False  # must also be flagged while it runs (a "kernel" flag from the grader's probes)


def _answers() -> dict[str, str]:
    return answer_cells(load_source(ASSIGNMENT))


def _partial(root: Path, **changes: str) -> nbformat.NotebookNode:
    """The release with the answers in ``PARTIAL`` filled in, then ``changes`` (grade_id -> source)."""
    answers = _answers()
    filled = {cell: answers[cell] for cell in PARTIAL}
    filled.update(changes)
    return fill(load_release(ASSIGNMENT, root), filled)


def _append(root: Path, cell: str, code: str, base: Callable[[Path], nbformat.NotebookNode] | None = None,
            prepend: bool = False) -> nbformat.NotebookNode:
    """``base`` (default: the partial submission) with ``code`` added to answer cell ``cell``."""
    nb = (base or _partial)(root)
    for c in nb.cells:
        if nbgrader_meta(c).get("grade_id") == cell:
            c.source = f"{code}\n{c.source}" if prepend else f"{c.source}\n{code}"
    return nb


def _bytes(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _attack(code: str) -> Callable[[Path], bytes]:
    """A builder: the partial submission with a wrong gradient_of followed by ``code`` in the same cell."""
    return lambda root: _bytes(_partial(root, gradient_of=WRONG_GRADIENT + code))


def colab_round_trip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a Colab download may look like: no nbgrader metadata, new cell ids, Colab's own metadata."""
    out = copy.deepcopy(nb)
    for number, cell in enumerate(out.cells):
        cell.metadata = nbformat.NotebookNode({"id": f"Xk{number:04d}q"})
        cell["id"] = f"Xk{number:04d}q"
    out.metadata["colab"] = {"provenance": [], "name": "ps01.ipynb"}
    return out


def _bug(name: str) -> Callable[[Path], bytes]:
    """A builder: the full solution with the catalogued bug ``name`` (tests/cases/ps01.py)."""
    from cases.ps01 import BUGS

    bug = next((b for b in BUGS if b.name == name), None) or next(b for b in BUGS if b.cell == "train")
    return lambda root: _bytes(solved(ASSIGNMENT, bug, root))


def _stub_of_train(root: Path) -> str:
    for cell in load_release(ASSIGNMENT, root).cells:
        if nbgrader_meta(cell).get("grade_id") == "train":
            return cell.source
    raise KeyError("train")


def _reordered(root: Path) -> bytes:
    nb = solved(ASSIGNMENT, root=root)
    index = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}
    stub = copy.deepcopy(nb.cells[index["train"]])
    stub.source = _stub_of_train(root)
    nb.cells.insert(index["train"] + 1, stub)  # a duplicated, unanswered copy after the answer
    nb.cells.insert(index["part1"], copy.deepcopy(nb.cells[index["part1"]]))
    index = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}
    test = nb.cells.pop(index["test_gradient_of"])
    nb.cells.insert(index["gradient_of"], test)  # the test now runs before the function exists
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell{number}"
    return _bytes(nb)


def _edited_test(root: Path) -> bytes:
    nb = _partial(root, gradient_of=WRONG_GRADIENT)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "test_gradient_of":
            cell.source = 'passed("gradient_of")'
    return _bytes(nb)


def _deleted_test(root: Path) -> bytes:
    nb = _partial(root, gradient_of=WRONG_GRADIENT)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != "test_gradient_of"]
    return _bytes(nb)


STUBBORN_LOOP = """import time
while True:
    try:
        time.sleep(0.2)
    except KeyboardInterrupt:
        pass"""

IPYTHON_HOOK = """def _swallow(lines):
    return ["try:\\n"] + ["    " + line for line in lines] + ["\\n", "except BaseException:\\n", "    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)"""

EQ_OVERRIDE = """class _Liar(torch.Tensor):
    def __eq__(self, other):
        return True

def gradient_of(f, x):
    return torch.zeros_like(x).as_subclass(_Liar)
"""


def cases() -> list[Case]:
    """The corpus: a correct and a blank submission, Colab-damaged ones, broken and hostile ones."""
    s = {
        "correct": lambda root: _bytes(solved(ASSIGNMENT, root=root)),
        "blank": lambda root: _bytes(load_release(ASSIGNMENT, root)),
    }
    return [
        Case("correct", "correct solution", s["correct"], full=ALL_TESTS, clean=True),
        Case("blank", "untouched release notebook", s["blank"], zero=ALL_TESTS, clean=True),
        Case("partial", "three answers", lambda r: _bytes(_partial(r)), full=PARTIAL_FULL, zero=REST,
             clean=True),
        Case("bug", "catalogued bug: gradients never cleared (hidden test fails)", _bug("gradients never cleared"),
             zero=("test_train",), full=("test_gradient_of", "test_first_weight_gradient"), clean=True),
        Case("colab", "Colab round trip: nbgrader metadata stripped, new ids",
             lambda r: _bytes(colab_round_trip(solved(ASSIGNMENT, root=r))), full=ALL_TESTS, clean=True),
        Case("reordered", "duplicated stub and markdown cell, test moved above its answer", _reordered,
             full=ALL_TESTS, clean=True),
        Case("loop", "infinite loop inside gradient_of (interruptible)",
             lambda r: _bytes(_partial(r, gradient_of="def gradient_of(f, x):\n    while True:\n        pass\n")),
             zero=("test_gradient_of",), full=("test_my_linear_regression",), reason="timed out"),
        Case("stubborn_loop", "top-level loop that swallows the interrupt",
             lambda r: _bytes(_append(r, "train", STUBBORN_LOOP)), full=PARTIAL_FULL, zero=REST,
             reason="did not stop"),
        Case("os_exit", "os._exit in an answer cell", lambda r: _bytes(_append(r, "train", "import os\nos._exit(3)")),
             full=PARTIAL_FULL, zero=REST, flags=("exit",), reason="kernel died"),
        Case("sys_exit", "sys.exit inside the graded function",
             lambda r: _bytes(_partial(r, gradient_of="import sys\n\ndef gradient_of(f, x):\n    sys.exit(0)\n")),
             zero=("test_gradient_of",), full=("test_my_linear_regression",), flags=("exit",)),
        Case("segfault", "segmentation fault (ctypes)",
             lambda r: _bytes(_append(r, "train", "import ctypes\nctypes.string_at(0)")), full=PARTIAL_FULL,
             zero=REST, flags=("process",), reason="kernel died"),
        Case("memory_hog", "allocates memory until it runs out",
             lambda r: _bytes(_append(r, "train", "_hog = []\nwhile True:\n    _hog.append(torch.ones(64, 1024, 1024))",
                                      prepend=True)),
             full=PARTIAL_FULL, zero=("test_train",), reason="memory"),
        Case("output_flood", "prints tens of megabytes",
             lambda r: _bytes(_append(r, "train", 'print("spam " * 5_000_000)\nfor _ in range(30000):\n'
                                      '    print("more spam")')),
             full=PARTIAL_FULL, reason="truncated"),
        Case("kill_grader", "kills the grading process (its parent)",
             lambda r: _bytes(_append(r, "train", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")),
             zero=ALL_TESTS, flags=("exit",), status="failed", reason="died"),
        Case("leftover_process", "starts a background process and leaves it running",
             lambda r: _bytes(_append(r, "train", 'import subprocess\n_p = subprocess.Popen(["sleep", "300"])')),
             full=PARTIAL_FULL, flags=("process",)),
        Case("not_a_notebook", "not a notebook at all", lambda r: b"{ this is not JSON", zero=ALL_TESTS,
             status="failed", reason="not a valid notebook"),
        Case("patch_checks", "monkeypatches labs.checks and rebinds the imported checks",
             _attack(
                 "import labs.checks\nlabs.checks.assert_close = lambda *a, **k: None\n"
                 "labs.checks.assert_true = lambda *a, **k: None\n"
                 "assert_close = labs.checks.assert_close\nassert_true = labs.checks.assert_true\n"),
             flags=("monkeypatch", "rebinding")),
        Case("patch_torch", "monkeypatches torch so that every comparison passes",
             _attack(
                 "torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)\n"
                 "torch.allclose = lambda *a, **k: True\n"),
             flags=("monkeypatch",)),
        Case("patch_builtins", "replaces a builtin the tests use",
             lambda r: _bytes(_append(r, "steepest_sigmoid_net",
                                      "import builtins\nbuiltins.all = lambda *a, **k: True")),
             full=PARTIAL_FULL, flags=("monkeypatch",)),
        Case("shadow_builtin", "shadows all() and isinstance() for the tests",
             _attack(
                 "def all(values):\n    return True\n\ndef isinstance(obj, cls):\n    return True\n"),
             flags=("rebinding",)),
        Case("eq_override", "returns a tensor subclass whose == is always True",
             lambda r: _bytes(_partial(r, gradient_of=EQ_OVERRIDE)), zero=("test_gradient_of",),
             flags=("monkeypatch",)),
        Case("edit_test", "replaces a locked test cell by passed()", _edited_test, zero=("test_gradient_of",),
             flags=("locked-cell",)),
        Case("delete_test", "deletes a locked test cell", _deleted_test, zero=("test_gradient_of",),
             flags=("locked-cell",)),
        Case("read_hidden", "looks for the hidden tests in the course files",
             _attack(
                 "import glob, sqlite3\n_found = glob.glob('../../../**/*.ipynb', recursive=True)\n"
                 "try:\n    _rows = sqlite3.connect('../../../gradebook.db').execute("
                 "'select source from source_cell').fetchall()\nexcept Exception:\n    _rows = []\n"),
             zero=("test_gradient_of",), flags=("files",)),
        Case("ipython_hook", "wraps every later cell in try/except with an IPython input transformer",
             lambda r: _bytes(_partial(r, gradient_of=WRONG_GRADIENT + IPYTHON_HOOK)), flags=("hook",)),
        Case("wipe_submitted", "tries to delete every submission",
             _attack(
                 "import shutil\nfor _up in ['..', '../..', '../../..', '../../../..']:\n"
                 "    shutil.rmtree(_up + '/submitted', ignore_errors=True)\n"),
             zero=("test_gradient_of",), flags=("files",)),
        *tampering_cases(),
    ]


def tampering_cases() -> list[Case]:
    """One case per class of kernel tampering (tests/tampering.py) in a partially wrong submission."""
    honest = ("test_my_linear_regression", "test_mse_loss")
    found = []
    for kind, code in TAMPERING.items():
        if kind in HIDDEN_ONLY:  # a bug only a hidden test catches, and checks faked for the hidden tests
            bug = _bug("gradients never cleared")
            found.append(Case(f"tamper_{kind}", f"kernel tampering ({kind}) to pass a hidden test",
                              lambda r, code=code, bug=bug: _bytes(_append(
                                  r, "gradient_of", code, base=lambda r2: nbformat.reads(bug(r2), as_version=4),
                                  prepend=True)),
                              zero=("test_train",), full=("test_gradient_of", "test_first_weight_gradient"),
                              flags=("hook", "monkeypatch"), runtime=True))
            continue
        runs = kind in RUNS_LATER_CELLS
        found.append(Case(f"tamper_{kind}", f"kernel tampering ({kind}) after a wrong answer", _attack(code),
                          zero=("test_gradient_of",) + REST + (() if runs else honest),
                          full=honest if runs else (), flags=("hook", "monkeypatch"), runtime=True,
                          reason="" if kind in ("stderr", "custom_exc") else "did not complete"))
    return found


def write_corpus(root: Path, selected: list[Case] | None = None) -> dict[str, Case]:
    """Write the corpus (or ``selected`` cases) to ``root/submitted``; returns student -> case."""
    written = {}
    for case in selected or cases():
        path = root / "submitted" / case.student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.build(root))
        written[case.student] = case
    return written
