"""Sealed test cells and their verdicts, without a kernel: what a sealed cell reports, how the grader reads it.

The kernel-level cases (a real IPython kernel under nbgrader, one per class of tampering) are in
tests/hostile.py and run in tests/test_grading_batch.py.
"""

from __future__ import annotations

import ast
import builtins
import sys

import nbformat
import pytest
from tampering import TAMPERING

from labs.grading.seal import PROBE_MIME, VERDICT_MIME, changes, seal
from labs.grading.verdicts import INCOMPLETE, VerdictBook, check_notebook, seal_notebook, why_incomplete

SINK = "_sink"
EMIT = SINK + '({{"{mime}": {payload}}})'
TEST = """from labs.checks import assert_close
import torch
values = [torch.ones(2) * i for i in range(3)]
for i, value in enumerate(values):
    assert_close(value, torch.full((2,), float(i)), name=f"value {i}")
total = torch.stack(values).sum()
assert total == 6, "the sum of the values"
try:
    int("not a number")
except ValueError:
    pass
"""


def run_sealed(source: str, namespace: dict | None = None, transform: ast.NodeTransformer | None = None) -> dict:
    """Run ``source`` sealed (after ``transform`` of the sealed code, as a hostile AST hook would); its verdict."""
    namespace = {} if namespace is None else namespace
    verdicts: list[dict] = []
    namespace[SINK] = verdicts.append
    code = seal(source, "0123456789abcdef0123", emit=EMIT)
    if transform is not None:
        tree = transform.visit(ast.parse(code))
        code = ast.unparse(ast.fix_missing_locations(tree))
    exec(compile(code, "<sealed>", "exec"), namespace)
    assert len(verdicts) == 1
    return verdicts[0][VERDICT_MIME]


def _swallow_everywhere() -> ast.NodeTransformer:
    space: dict = {"get_ipython": lambda: type("Shell", (), {"ast_transformers": []})()}
    exec(TAMPERING["ast_try_deep"].replace("get_ipython().ast_transformers.append(_SwallowAll())", ""), space)
    return space["_SwallowAll"]()


def test_a_sealed_cell_runs_as_written_and_reports_what_completed() -> None:
    namespace: dict = {}
    verdict = run_sealed(TEST, namespace)
    assert verdict["secret"] == "0123456789abcdef0123"
    assert "5:4" in verdict["done"] and "7:0" in verdict["done"]  # the check in the loop, the assert
    assert verdict["cut"] == ["9:4"]  # the test's own try/except
    assert float(namespace["total"]) == 6.0 and len(namespace["values"]) == 3  # globals as before


def test_a_failing_check_still_raises_its_own_message() -> None:
    with pytest.raises(AssertionError, match="the sum of the values"):
        run_sealed(TEST.replace("== 6", "== 7"))


def test_a_hook_that_swallows_every_failure_leaves_a_statement_cut_short() -> None:
    reference = run_sealed(TEST)
    wrong = run_sealed(TEST.replace("float(i)", "float(i + 1)"), transform=_swallow_everywhere())
    assert why_incomplete([wrong], reference) is not None
    assert why_incomplete([run_sealed(TEST, transform=_swallow_everywhere())], reference) is None


def test_a_loop_of_any_length_gives_the_same_verdict() -> None:
    reference = run_sealed(TEST)
    longer = run_sealed(TEST.replace("range(3)", "range(5)").replace("== 6", "== 20"))
    assert why_incomplete([longer], reference) is None


def test_magics_and_empty_cells_can_be_sealed() -> None:
    shell = type("Shell", (), {"run_line_magic": lambda self, name, line: None})()
    assert run_sealed("%time x = 1\n", {"get_ipython": lambda: shell})["done"] == ["1:0"]
    assert run_sealed("# nothing but a comment\n") == {"secret": "0123456789abcdef0123", "done": [], "cut": []}


def test_sealed_imports_of_checks_ignore_a_replaced_sys_modules_entry() -> None:
    import labs.checks.fresh  # noqa: F401 - in sys.modules, to be replaced
    fake = type(sys)("labs.checks.fresh")
    fake.fresh = lambda *names: (lambda *a, **k: None)
    saved = sys.modules["labs.checks.fresh"]
    sys.modules["labs.checks.fresh"] = fake
    try:
        with pytest.raises(AssertionError, match="expected 2"):
            run_sealed("from labs.checks.fresh import fresh as _fresh\n_close = _fresh('assert_close')\n"
                       "_close(1.0, 2.0, name='x')\n")
    finally:
        sys.modules["labs.checks.fresh"] = saved
    assert sys.modules["labs.checks.fresh"] is saved


def test_fresh_refuses_to_run_on_replaced_builtins() -> None:
    from labs.checks.fresh import fresh

    real = builtins.compile
    builtins.compile = lambda *a, **k: real(*a, **k)
    try:
        with pytest.raises(AssertionError, match="builtins.compile"):
            fresh("assert_close")
    finally:
        builtins.compile = real


def _graded_notebook() -> nbformat.NotebookNode:
    from nbformat.v4 import new_code_cell, new_notebook

    answer = new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "answer", "solution": True}})
    tests = [new_code_cell(f"assert x == 1  # {n}", metadata={
        "nbgrader": {"grade_id": f"test_{n}", "grade": True, "solution": False, "locked": True, "points": 1}})
        for n in range(3)]
    return new_notebook(cells=[answer, *tests])


def _verdict_output(payload: dict, mime: str = VERDICT_MIME) -> nbformat.NotebookNode:
    from nbformat.v4 import new_output

    return new_output("display_data", data={mime: payload})


def test_the_grader_scores_only_cells_whose_verdict_arrived_with_their_secret() -> None:
    nb = _graded_notebook()
    book = VerdictBook(expected={"ps": {f"test_{n}": {"done": ["1:0"], "cut": []} for n in range(3)}})
    seal_notebook(nb, "ps", book)
    assert [c.metadata.get("labs_seal") or c.metadata.get("labs_probe") or "answer" for c in nb.cells] == [
        "probe 0", "answer", "probe 2", "test_0", "test_1", "test_2"]  # probes first and after student code
    assert nb.cells[3].source.startswith("if True:")
    secrets = book.secrets["ps"]
    fingerprint = {"shell.run_cell": "IPython.core.interactiveshell.InteractiveShell.run_cell"}
    nb.cells[0].outputs = [_verdict_output({"secret": secrets["probe 0"], "found": fingerprint}, PROBE_MIME)]
    nb.cells[2].outputs = [_verdict_output({"secret": secrets["probe 2"],
                                            "found": {"shell.run_cell": "instance __main__.<lambda>"}}, PROBE_MIME)]
    nb.cells[3].outputs = [_verdict_output({"secret": secrets["test_0"], "done": ["1:0"], "cut": []})]
    nb.cells[4].outputs = [_verdict_output({"secret": "guessed", "done": ["1:0"], "cut": []})]
    nb.cells[5].outputs = []  # blanked: no error, no verdict
    check_notebook(nb, "ps", book)
    assert [c.source for c in nb.cells] == ["x = 1"] + [f"assert x == 1  # {n}" for n in range(3)]
    assert nb.cells[1].outputs == []
    assert [o.ename for o in nb.cells[2].outputs] == [INCOMPLETE]
    assert [o.ename for o in nb.cells[3].outputs] == [INCOMPLETE]
    assert book.incomplete and "test_1" in book.incomplete[0]
    details = " | ".join(f"{f.cell}: {f.detail}" for f in book.flags)
    assert "answer: this cell changed how the kernel runs cells: shell.run_cell" in details
    assert "2 test cell(s) reported no error but did not complete: test_1, test_2" in details


def test_probe_changes_ignore_modules_imported_for_the_first_time() -> None:
    before = {"sys.modules[labs]": "absent", "sys.stderr": "ipykernel.iostream.OutStream"}
    after = {"sys.modules[labs]": "module /x/labs/__init__.py", "sys.stderr": "_io.StringIO"}
    assert changes(before, after) == ["sys.stderr: ipykernel.iostream.OutStream -> _io.StringIO"]
    faked = {"sys.modules[labs]": "module ", "sys.stderr": "ipykernel.iostream.OutStream"}  # no file behind it
    assert changes(before, faked) == ["sys.modules[labs]: absent -> module "]


HELPER_TEST = """from labs.checks import assert_close
def _compare(got, want):
    assert_close(got, want, name="value")
def _unused():
    return 1
_compare(1.0, VALUE)
"""


def test_a_failure_swallowed_inside_a_helper_of_the_test_is_caught_and_unused_helpers_are_fine() -> None:
    reference = run_sealed(HELPER_TEST.replace("VALUE", "1.0"))
    assert reference["done"] == ["1:0", "6:0"] and reference["cut"] == []
    swallowed = run_sealed(HELPER_TEST.replace("VALUE", "2.0"), transform=_swallow_everywhere())
    assert why_incomplete([swallowed], reference) == "a failure inside it was swallowed (line 3)"
