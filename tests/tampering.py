"""One-line (or few-line) kernel tampering that fakes test results under plain nbgrader, one per class.

Each entry is code a submission puts into its first answer cell. Under plain nbgrader every one of them turns
failing test cells into passing ones (the kernel reports no error); with sealed test cells
(:mod:`labs.grading.verdicts`) none may earn a point, and each must be flagged.
``RUNS_LATER_CELLS`` says whether the later cells still execute (then honest answers keep their points).
"""

from __future__ import annotations

TAMPERING: dict[str, str] = {
    # IPython input transformer that blanks every later cell
    "blank_cells": "get_ipython().input_transformers_post.append(lambda lines: [])",
    # AST transformer that wraps every later top-level statement in try/except: pass
    "ast_try": (
        "import ast\n"
        "class _Swallow(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        node.body = [ast.Try([s], [ast.ExceptHandler(None, None, [ast.Pass()])], [], []) for s in node.body]\n"
        "        return ast.fix_missing_locations(node)\n"
        "get_ipython().ast_transformers.append(_Swallow())"),
    # the same, at every depth (defeats a cell made of a single block)
    "ast_try_deep": (
        "import ast\n"
        "class _SwallowAll(ast.NodeTransformer):\n"
        "    def generic_visit(self, node):\n"
        "        super().generic_visit(node)\n"
        "        for field in ('body', 'orelse', 'finalbody'):\n"
        "            stmts = getattr(node, field, None)\n"
        "            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt) and \\\n"
        "                    not isinstance(node, ast.Try):\n"
        "                setattr(node, field, [ast.Try([s], [ast.ExceptHandler(None, None, [ast.Pass()])], [], [])\n"
        "                                      for s in stmts])\n"
        "        return node\n"
        "    def visit_Module(self, node):\n"
        "        return ast.fix_missing_locations(self.generic_visit(node))\n"
        "get_ipython().ast_transformers.append(_SwallowAll())"),
    # the shell's run_cell replaced: every later cell runs as `pass`
    "run_cell": ("_ip = get_ipython(); _run = _ip.run_cell\n"
                 "_ip.run_cell = lambda raw_cell, *a, **k: _run('pass', *a, **k)"),
    # the kernel's do_execute replaced: every later cell runs as `pass`
    "do_execute": ("_k = get_ipython().kernel; _do = _k.do_execute\n"
                   "_k.do_execute = lambda code, silent, *a, **k: _do('pass', silent, *a, **k)"),
    # outgoing messages rewritten: error outputs dropped, error replies turned into ok replies
    "session_send": (
        "_s = get_ipython().kernel.session; _send = _s.send\n"
        "def _quiet(stream, kind, content=None, *a, **k):\n"
        "    if kind == 'error':\n"
        "        return None\n"
        "    if kind == 'execute_reply' and isinstance(content, dict) and content.get('status') == 'error':\n"
        "        content = {'status': 'ok', 'execution_count': content.get('execution_count'), "
        "'payload': [], 'user_expressions': {}}\n"
        "    return _send(stream, kind, content, *a, **k)\n"
        "_s.send = _quiet"),
    # a custom exception handler that swallows every exception (no error output)
    "custom_exc": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    # sys.stderr replaced (warnings and tracebacks printed by checks vanish)
    "stderr": "import io, sys\nsys.stderr = io.StringIO()",
    # a fake labs.checks.fresh in sys.modules: hidden tests would get checks that accept anything
    "fake_fresh": (
        "import sys, types\n"
        "_fake = types.ModuleType('labs.checks.fresh')\n"
        "_fake.fresh = lambda *names: (lambda *a, **k: None) if len(names) == 1 else "
        "tuple((lambda *a, **k: None) for _ in names)\n"
        "sys.modules['labs.checks.fresh'] = _fake"),
}

#: Tampering after which later cells still run as written (honest answers after it keep their points).
RUNS_LATER_CELLS = {"ast_try", "ast_try_deep", "session_send", "custom_exc", "stderr", "fake_fresh"}
#: Tampering that fakes results only of hidden tests (its case uses a bug that only a hidden test catches).
HIDDEN_ONLY = {"fake_fresh"}
