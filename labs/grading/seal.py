"""Sealed test cells: the source a test cell runs as while graded, so that its verdict cannot be faked cheaply.

nbgrader decides that a test passed when the kernel reports no error, and the kernel is the student's process:
one hook (an input transformer that blanks cells, a replaced ``run_cell`` or ``session.send``) is enough to
report every test as passed. A sealed cell instead *proves* that it ran to its end:

* the whole cell becomes one ``if True:`` block, so a statement that raises ends the cell even when a hook
  wraps every top-level statement in ``try/except``;
* every simple statement records that it started and, fused with its own value (``x = _done(key, f(y))``,
  ``_assert(key, cond, lambda: message)``), that it completed, so a hook that swallows exceptions deeper down
  leaves a statement started but not completed;
* the last statement reports a verdict - the cell's secret (new for every cell of every run), the statements
  that completed at least once and those cut short at least once - as a display output of its own MIME type,
  which the grader compares with a trusted run of the solution (:mod:`labs.grading.verdicts`). Sets, not
  counts: a loop over the student's epochs may run any number of times;
* ``from labs.checks... import`` lines take the checks from source files loaded by the cell itself, not from
  ``sys.modules``, which the submission could have replaced.

:func:`probe_source` is the grader's check of the kernel between cells: a fingerprint of the machinery a
submission could replace to fake results (``run_cell``, ``do_execute``, ``session.send``, transformers, custom
exception handlers, ``sys.stderr``, the import system). The grader compares fingerprints and flags a change at
the cell after which it appeared.

Everything here is a pure source-to-source function: the test harness runs the same sealed cells in-process.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

#: MIME type of a sealed test cell's verdict.
VERDICT_MIME = "application/vnd.labs.verdict+json"
#: MIME type of a probe's fingerprint.
PROBE_MIME = "application/vnd.labs.probe+json"
#: How the kernel reports a verdict or a probe (a raw display output; IPython builds it).
KERNEL_EMIT = '__import__("IPython.display", fromlist=["display"]).display({{"{mime}": {payload}}}, raw=True)'

_FRESH_PATH = Path(__file__).resolve().parent.parent / "checks" / "fresh.py"


def _python_source(source: str) -> str:
    """``source`` as plain Python (IPython magics translated, as the kernel would)."""
    try:
        ast.parse(source)
        return source
    except SyntaxError:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)


class _Instrument(ast.NodeTransformer):
    """Make every simple statement report when it starts and, fused with its own work, when it has completed;
    ``from labs.checks... import`` lines take fresh checks.

    A statement is named by its position in the cell (``"line:column"``, ``"fline:column"`` inside a function
    or class the cell defines: whether those run depends on who calls them, so they count only when cut short).
    ``enter`` runs as a statement of its own; ``done`` wraps the statement's value (``x = done(id, value)``,
    ``done(id, f(x))``, ``check(id, cond, lambda: message)`` for an ``assert``), so no hook can let the
    statement fail and still have it reported as completed.
    """

    def __init__(self, enter: str, done: str, check: str, checks: str) -> None:
        self.enter, self.done, self.check, self.checks = enter, done, check, checks
        self.depth = 0  # > 0 inside a function or class the cell defines

    def _key(self, node: ast.stmt) -> ast.Constant:
        return ast.Constant(f"{'f' if self.depth else ''}{node.lineno}:{node.col_offset}")

    def _nested(self, node: ast.AST) -> Any:
        self.depth += 1
        try:
            return self.generic_visit(node)
        finally:
            self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _nested

    def _wrap(self, node: ast.stmt, value: ast.expr) -> ast.expr:
        return ast.Call(ast.Name(self.done, ast.Load()), [self._key(node), value], [])

    def _entered(self, node: ast.stmt, replacement: ast.stmt) -> list[ast.stmt]:
        enter = ast.Expr(ast.Call(ast.Name(self.enter, ast.Load()), [self._key(node)], []))
        return [ast.copy_location(enter, node), ast.copy_location(replacement, node)]

    def visit_Expr(self, node: ast.Expr) -> Any:
        self.generic_visit(node)
        if isinstance(node.value, ast.Constant):  # a docstring or a bare literal
            return node
        return self._entered(node, ast.Expr(self._wrap(node, node.value)))

    def visit_Assign(self, node: ast.Assign) -> Any:
        self.generic_visit(node)
        return self._entered(node, ast.Assign(node.targets, self._wrap(node, node.value)))

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        return self._entered(node, ast.AugAssign(node.target, node.op, self._wrap(node, node.value)))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        self.generic_visit(node)
        if node.value is None:
            return node
        return self._entered(node, ast.AnnAssign(node.target, node.annotation, self._wrap(node, node.value),
                                                 node.simple))

    def visit_Assert(self, node: ast.Assert) -> Any:
        self.generic_visit(node)
        message = node.msg if node.msg is not None else ast.Constant(None)
        lazy = ast.Lambda(ast.arguments([], [], None, [], [], None, []), message)
        call = ast.Call(ast.Name(self.check, ast.Load()), [self._key(node), node.test, lazy], [])
        return self._entered(node, ast.Expr(call))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        module = node.module or ""
        if node.level or not (module == "labs.checks" or module.startswith("labs.checks.")) or \
                any(alias.name == "*" for alias in node.names):
            return node
        targets = [ast.Name(alias.asname or alias.name, ast.Store()) for alias in node.names]
        call = ast.Call(ast.Name(self.checks, ast.Load()), [ast.Constant(a.name) for a in node.names], [])
        target: ast.expr = targets[0] if len(targets) == 1 else ast.Tuple(targets, ast.Store())
        value: ast.expr = call if len(targets) > 1 else ast.Subscript(call, ast.Constant(0), ast.Load())
        return self.visit_Assign(ast.copy_location(ast.Assign([target], value), node))


def _prologue(tag: str, fresh_path: Path) -> str:
    """Grader code that opens a sealed cell: the statement records, their helpers and fresh checks."""
    return f"""
_labs_in_{tag}, _labs_out_{tag} = {{}}, {{}}
def _labs_enter_{tag}(key):
    _labs_in_{tag}[key] = _labs_in_{tag}.get(key, 0) + 1
def _labs_done_{tag}(key, value=None):
    _labs_out_{tag}[key] = _labs_out_{tag}.get(key, 0) + 1
    return value
def _labs_assert_{tag}(key, condition, message):
    if not condition:
        text = message()
        raise AssertionError(*(() if text is None else (text,)))
    _labs_out_{tag}[key] = _labs_out_{tag}.get(key, 0) + 1
def _labs_checks_{tag}(*names):
    space = {{"__name__": "_labs_fresh_{tag}", "__file__": {str(fresh_path)!r}}}
    with open({str(fresh_path)!r}, encoding="utf-8") as file:
        exec(compile(file.read(), {str(fresh_path)!r}, "exec"), space)
    return space["fresh_names"](*names)
def _labs_record_{tag}():
    done = sorted(key for key in _labs_in_{tag} if _labs_out_{tag}.get(key) and not key.startswith("f"))
    cut = sorted(key for key in _labs_in_{tag} if _labs_out_{tag}.get(key, 0) != _labs_in_{tag}[key])
    return {{"done": done, "cut": cut}}
"""


def seal(source: str, secret: str, emit: str = KERNEL_EMIT, fresh_path: Path = _FRESH_PATH) -> str:
    """The sealed version of a test cell's ``source``; its verdict carries ``secret`` and the statement record.

    ``emit`` is a format string with ``{mime}`` and ``{payload}`` (a Python expression) that reports the verdict:
    a raw display output in a kernel, a plain function call in the in-process test harness.
    """
    tag = secret[:12]
    tree = ast.parse(_python_source(source))
    tree = _Instrument(*(f"_labs_{name}_{tag}" for name in ("enter", "done", "assert", "checks"))).visit(tree)
    ast.fix_missing_locations(tree)
    body = ast.unparse(tree) if tree.body else "pass"
    payload = f'{{"secret": {secret!r}, **_labs_record_{tag}()}}'
    verdict = emit.format(mime=VERDICT_MIME, payload=payload)
    block = _prologue(tag, fresh_path) + body + "\n" + verdict
    indented = "".join("    " + line if line.strip() else line for line in block.strip().splitlines(keepends=True))
    return "if True:\n" + indented + "\n"


#: What a probe fingerprints (grader code; every entry a short string, compared between probes).
_PROBE = """
if True:
    def _labs_probe_{tag}():
        import sys as _sys
        def _where(obj):
            func = getattr(obj, "__func__", obj)
            return getattr(func, "__module__", "?") + "." + getattr(func, "__qualname__", type(func).__name__)
        def _own(obj, name):
            return name in getattr(obj, "__dict__", {{}})
        found = {{}}
        ip = get_ipython()
        for name in ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                     "transform_ast", "showtraceback", "_showtraceback"):
            found["shell." + name] = ("instance " if _own(ip, name) else "") + _where(getattr(ip, name, None))
        found["input transformers"] = repr([_where(t) for t in ip.input_transformers_post])
        found["cleanup transformers"] = repr([_where(t) for t in ip.input_transformers_cleanup])
        manager = ip.input_transformer_manager
        found["transformer manager"] = _where(type(manager)) + repr(
            [_where(t) for t in getattr(manager, "token_transformers", [])])
        found["AST transformers"] = repr([_where(type(t)) for t in ip.ast_transformers])
        found["custom exception handler"] = repr(ip.custom_exceptions)
        kernel = getattr(ip, "kernel", None)
        if kernel is not None:
            for name in ("do_execute", "execute_request", "send_response"):
                found["kernel." + name] = ("instance " if _own(kernel, name) else "") + _where(
                    getattr(kernel, name, None))
            session = kernel.session
            found["session.send"] = ("instance " if _own(session, "send") else "") + _where(session.send)
            found["display publisher"] = ("instance " if _own(ip.display_pub, "publish") else "") + _where(
                ip.display_pub.publish)
        for name in ("stdout", "stderr", "excepthook", "displayhook"):
            found["sys." + name] = _where(type(getattr(_sys, name, None)))
        found["sys.stdout/stderr objects"] = repr((type(_sys.stdout) is type(_sys.stderr),
                                                  getattr(_sys.stderr, "name", "?")))
        found["import"] = _where(__builtins__["__import__"] if isinstance(__builtins__, dict)
                                 else __builtins__.__import__)
        found["meta path"] = repr([_where(type(f)) for f in _sys.meta_path])
        found["path hooks"] = repr(len(_sys.path_hooks))
        found["trace"] = repr((_sys.gettrace() is not None, _sys.getprofile() is not None))
        for name in ("labs", "labs.checks", "labs.checks.fresh", "labs.checks.tensors", "torch", "builtins"):
            module = _sys.modules.get(name)
            found["sys.modules[" + name + "]"] = "absent" if module is None else (
                type(module).__name__ + " " + str(getattr(module, "__file__", "")))
        return found
    {emit}
    del _labs_probe_{tag}
"""


def probe_source(secret: str, emit: str = KERNEL_EMIT) -> str:
    """A cell that reports a fingerprint of the kernel's execution machinery (see the module docstring)."""
    tag = secret[:12]
    payload = f'{{"secret": {secret!r}, "found": _labs_probe_{tag}()}}'
    return _PROBE.format(tag=tag, emit=emit.format(mime=VERDICT_MIME.replace("verdict", "probe"), payload=payload))


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two probe fingerprints, one readable line per item (a module imported for the
    first time from its file is not a change; one that appears from nowhere, without a file, is)."""
    lines = []
    for key in sorted(set(before) | set(after)):
        imported = str(after.get(key, "")).startswith("module /")
        if key.startswith("sys.modules[") and before.get(key) == "absent" and imported:
            continue
        if before.get(key) != after.get(key):
            lines.append(f"{key}: {before.get(key, 'absent')} -> {after.get(key, 'absent')}")
    return lines


def payload_of(output: dict, mime: str) -> dict | None:
    """The verdict or probe payload of one notebook output, or None."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {}).get(mime)
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None
