"""Audit stage: flag submissions that tamper with grading instead of answering.

A static read of each notebook against its release (nothing of the student's code is run):

* locked cells (tests, set-up, data) edited or deleted, nbgrader metadata altered - compared with the
  release with nbgrader's own ``compute_checksum``;
* names the tests rely on rebound in the student's cells (``assert_close = ...``, ``def isinstance``),
  ``labs.checks`` / ``torch`` / ``builtins`` objects monkeypatched (assignment, ``setattr``, ``globals()``);
* hooks that change how later cells run (``get_ipython()``, ``sys.settrace``, ``sys.excepthook``),
  objects faking comparisons (``__eq__``), dynamic code (``exec``, ``eval``, ``__import__``);
* exits, signals, processes and native code (``sys.exit``, ``os._exit``, ``os.kill``, ``subprocess``,
  ``ctypes``);
* file-system access that could read hidden tests or touch other files (``open``, ``glob``, ``sqlite3``,
  paths such as ``gradebook.db``, ``source/`` or ``../``).

A flag is a reason for a TA to look, not a verdict; flagged notebooks are marked ``flagged`` in nbgrader's
gradebook and listed by ``labs report``.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from labs.authoring import nbgrader_meta
from labs.grading.repair import RepairReport, repair_notebook

#: Module prefixes whose attributes a submission must not assign to.
PROTECTED_MODULES = ("labs", "torch", "numpy", "builtins", "math", "nbgrader", "IPython", "ipykernel", "unittest",
                     "operator", "functools", "inspect", "importlib", "types")
#: ``sys`` attributes through which a submission can change what the kernel reports.
SYS_HOOKS = ("sys.stderr", "sys.stdout", "sys.excepthook", "sys.displayhook", "sys.meta_path", "sys.path_hooks",
             "sys.__stderr__", "sys.__stdout__")
#: Attributes of the IPython shell and kernel through which cells can be blanked or results rewritten.
KERNEL_ATTRIBUTES = {"input_transformers_post", "input_transformers_cleanup", "input_transformer_manager",
                     "ast_transformers", "set_custom_exc", "custom_exceptions", "do_execute", "execute_request",
                     "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback", "_showtraceback",
                     "display_pub", "send_response", "iopub_socket", "shell_stream"}
#: Attribute paths that may be assigned (settings, not checking code).
ALLOWED_ASSIGNMENTS = ("torch.backends.", "numpy.random.seed", "torch.manual_seed")
EXIT_CALLS = {"exit", "quit", "sys.exit", "os._exit", "os.abort", "os.kill", "os.killpg", "os.fork", "os.forkpty",
              "os.system", "os.popen", "os.execv", "os.execve", "os.execl", "os.spawnl", "signal.signal",
              "signal.raise_signal", "signal.alarm", "faulthandler._sigsegv", "os.setsid", "os.getppid"}
PROCESS_MODULES = ("subprocess", "multiprocessing", "ctypes", "signal", "pty", "socket", "threading", "asyncio")
HOOK_CALLS = {"get_ipython", "sys.settrace", "sys.setprofile", "sys.excepthook", "sys.displayhook",
              "sys.modules", "threading.settrace", "sys.set_asyncgen_hooks", "atexit.register"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "importlib.import_module", "importlib.reload", "globals",
                 "builtins.exec", "builtins.eval"}
#: IPython modules students use for display only.
HARMLESS_IPYTHON = ("IPython.display",)
FILE_CALLS = {"open", "io.open", "os.open", "os.listdir", "os.scandir", "os.walk", "os.remove", "os.unlink",
              "os.rename", "os.replace", "os.rmdir", "os.chdir", "os.chmod", "glob.glob", "glob.iglob",
              "shutil.rmtree", "shutil.copy", "shutil.copyfile", "shutil.move", "sqlite3.connect", "pathlib.Path",
              "Path", "os.getcwd", "os.path.abspath", "os.path.realpath"}
FILE_MODULES = ("sqlite3", "glob", "shutil", "pathlib", "tempfile", "zipfile", "pickle")
SUSPICIOUS_TEXT = ("gradebook", "source/", "release/", "autograded", "submitted", ".ipynb", ".db", "../",
                   "labs-grade", "hidden test", "nbgrader")
FAKE_COMPARISON = {"__eq__", "__ne__", "__bool__", "__instancecheck__", "__subclasscheck__", "__float__",
                   "__lt__", "__le__", "__gt__", "__ge__", "__abs__", "__len__"}


@dataclass(frozen=True)
class Flag:
    """One suspicious thing in one cell of a submission."""

    notebook: str
    cell: str  # grade_id of the cell, or "cell <n>" for a cell the release does not have
    kind: str  # locked-cell | metadata | rebinding | monkeypatch | hook | dynamic-code | exit | process | files
    detail: str


_HARMLESS_MAGIC = re.compile(r"^(\s*)%{1,2}(?:matplotlib|config\s+InlineBackend)\b.*$", re.MULTILINE)
_TIMING_MAGIC = re.compile(r"^(\s*)%{1,2}(?:time|timeit)\b(?:\s+-\S+)*\s*", re.MULTILINE)


def _python(source: str) -> ast.Module | None:
    """Parse a code cell (IPython magics turned into Python first); None if it does not parse.

    Plotting and timing magics (``%matplotlib inline``, ``%timeit``) are dropped first: they are harmless.
    """
    source = _TIMING_MAGIC.sub(r"\1", _HARMLESS_MAGIC.sub(r"\1pass", source))
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - plain Python then
        pass
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain (subscripts and calls keep their base), else None."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return None


def _resolve(name: str | None, aliases: dict[str, str]) -> str | None:
    """Replace the first part of a dotted name by what it was imported as (``nn.Module`` -> ``torch.nn.Module``)."""
    if not name:
        return None
    head, _, rest = name.partition(".")
    full = aliases.get(head, head)
    return f"{full}.{rest}" if rest else full


def _imports(tree: ast.AST, aliases: dict[str, str]) -> None:
    """Record the names that ``import`` statements in ``tree`` bind."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _top_level_bindings(tree: ast.Module) -> dict[str, ast.AST]:
    """Names bound at the top level of a cell (and through ``global`` in functions), with the binding node."""
    bound: dict[str, ast.AST] = {}

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Tuple | ast.List):
            return [n for elt in node.elts for n in targets(elt)]
        if isinstance(node, ast.Starred):
            return targets(node.value)
        return []

    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Assign):
            names = [n for t in node.targets for n in targets(t)]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            names = targets(node.target)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.asname or a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.For | ast.AsyncFor):
            names = targets(node.target)
        elif isinstance(node, ast.With | ast.AsyncWith):
            names = [n for item in node.items if item.optional_vars is not None for n in targets(item.optional_vars)]
        elif isinstance(node, ast.Delete):
            names = [n for t in node.targets for n in targets(t)]
        for name in names:
            bound.setdefault(name, node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                bound.setdefault(name, node)
    return bound


def _free_names(source: str) -> set[str]:
    """Names a test cell reads that it does not bind itself (what it takes from the notebook)."""
    tree = _python(source)
    if tree is None:
        return set()
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    bound = set(_top_level_bindings(tree))
    return read - bound


def _import_targets(node: ast.AST) -> dict[str, str]:
    found: dict[str, str] = {}
    _imports(node, found)
    return found


class _CellAuditor(ast.NodeVisitor):
    """Collects flags for one student cell."""

    def __init__(self, aliases: dict[str, str], protected: dict[str, str]) -> None:
        self.aliases = aliases
        self.protected = protected  # name -> what the locked cells bound it to
        self.found: list[tuple[str, str]] = []

    def flag(self, kind: str, detail: str) -> None:
        if (kind, detail) not in self.found:
            self.found.append((kind, detail))

    def full(self, node: ast.AST) -> str | None:
        return _resolve(_dotted(node), self.aliases)

    def _store_target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._store_target(elt, verb)
            return
        if not isinstance(target, ast.Attribute | ast.Subscript):
            return
        path = self.full(target)
        if path is None:
            return
        if path.startswith(("__builtins__", "builtins")):
            self.flag("monkeypatch", f"{verb} {path}")
        elif path.split(".")[0] == "globals" or path.startswith("sys.modules"):
            self.flag("monkeypatch", f"{verb} {path}")
        elif path.startswith(SYS_HOOKS):
            self.flag("hook", f"{verb} {path} (changes how the kernel reports results)")
        elif path.startswith(PROTECTED_MODULES) and not path.startswith(ALLOWED_ASSIGNMENTS):
            self.flag("monkeypatch", f"{verb} {path}")
        elif path.split(".")[0] in self.protected and "." in path:
            self.flag("monkeypatch", f"{verb} {path} ({path.split('.')[0]} is used by the tests)")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store_target(target, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._store_target(node.target, "assigns")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._store_target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._store_target(target, "deletes")
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._module(node.module or "")
        self.generic_visit(node)

    def _module(self, name: str) -> None:
        top = name.split(".")[0]
        if top in PROCESS_MODULES:
            self.flag("process", f"imports {name}")
        elif top in FILE_MODULES:
            self.flag("files", f"imports {name}")
        elif top in ("IPython", "ipykernel", "builtins", "importlib", "inspect", "gc") and \
                not name.startswith(HARMLESS_IPYTHON):
            self.flag("hook", f"imports {name}")

    def visit_Call(self, node: ast.Call) -> None:
        path = self.full(node.func) or ""
        if path in EXIT_CALLS or path.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            self.flag("exit", f"calls {path}()")
        elif path in HOOK_CALLS or path.startswith(("sys.set", "get_ipython")):
            self.flag("hook", f"calls {path}()")
        elif path in ("setattr", "delattr") and node.args:
            target = self.full(node.args[0]) or ""
            if target.startswith(PROTECTED_MODULES) or target.split(".")[0] in self.protected or \
                    target.startswith(("__builtins__", "sys.modules")):
                self.flag("monkeypatch", f"calls {path}({target}, ...)")
        elif path in DYNAMIC_CALLS:
            self.flag("dynamic-code", f"calls {path}()")
        elif path in FILE_CALLS or path.startswith(("os.path.", "shutil.", "sqlite3.", "glob.")):
            if path not in ("os.path.join", "os.path.exists", "os.path.basename", "os.path.splitext"):
                self.flag("files", f"calls {path}()")
        elif path.startswith("subprocess.") or path.startswith("ctypes."):
            self.flag("process", f"calls {path}()")
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if node.exc is not None and (self.full(node.exc) or "").startswith(("SystemExit", "KeyboardInterrupt")):
            self.flag("exit", "raises SystemExit/KeyboardInterrupt")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("__builtins__", "get_ipython", "__loader__", "__spec__"):
            self.flag("hook", f"uses {node.id}")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("__globals__", "__code__", "__builtins__", "__subclasses__", "f_globals", "f_back",
                         "__closure__", "__dict__", "__file__"):
            self.flag("hook", f"uses .{node.attr}")
        elif node.attr in KERNEL_ATTRIBUTES:
            self.flag("hook", f"uses .{node.attr} (the kernel's execution machinery)")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name in FAKE_COMPARISON:
                self.flag("monkeypatch", f"class {node.name} defines {item.name} (can fool comparisons in tests)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and len(node.value) < 400:
            lowered = node.value.lower()
            for text in SUSPICIOUS_TEXT:
                if text in lowered:
                    self.flag("files", f"mentions {text!r} in a string")
                    break
            if node.value.startswith("/") and len(node.value) > 1 and "\n" not in node.value:
                self.flag("files", f"uses the absolute path {node.value[:60]!r}")


def _protected_names(release: NotebookNode, test_sources: dict[str, str]) -> dict[str, str]:
    """Names the tests read that the locked cells (or Python) provide: rebinding them changes the tests."""
    provided: dict[str, str] = {}
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("locked") and not meta.get("grade"):
            tree = _python(cell.source)
            if tree is not None:
                imported = _import_targets(tree)
                for name in _top_level_bindings(tree):
                    provided[name] = imported.get(name, f"locked cell {meta.get('grade_id')}")
    tests = dict(test_sources)
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and meta.get("locked"):
            tests.setdefault(meta["grade_id"], cell.source)
    used: set[str] = set()
    for source in tests.values():
        used |= _free_names(source)
    protected = {name: origin for name, origin in provided.items() if name in used}
    protected.update({name: f"builtins.{name}" for name in used if name in dir(builtins)})
    return protected


def audit_notebook(
    nb: NotebookNode,
    release: NotebookNode,
    *,
    notebook: str = "",
    test_sources: dict[str, str] | None = None,
    repair: RepairReport | None = None,
) -> list[Flag]:
    """Flags for one submitted notebook. ``test_sources`` (grade_id -> full source with hidden tests, from
    the gradebook) widens the set of names the tests rely on; ``repair`` reuses a match already made."""
    from nbgrader.utils import compute_checksum

    if repair is None:
        _, repair = repair_notebook(nb, release)
    flags: list[Flag] = []
    release_by_gid = {nbgrader_meta(c)["grade_id"]: c for c in release.cells if nbgrader_meta(c).get("grade_id")}
    index_gid = {index: gid for gid, index in repair.matches.items()}

    for gid in repair.reinserted:
        if nbgrader_meta(release_by_gid[gid]).get("locked"):
            flags.append(Flag(notebook, gid, "locked-cell", "locked cell deleted from the submission"))
    for gid in repair.changed_metadata:
        flags.append(Flag(notebook, gid, "metadata", "nbgrader metadata (grade/locked/points) changed"))
    for gid, index in repair.matches.items():
        ref = release_by_gid[gid]
        if not nbgrader_meta(ref).get("locked"):
            continue
        if compute_checksum(comparable(nb.cells[index], ref)) != compute_checksum(comparable(ref, ref)):
            flags.append(Flag(notebook, gid, "locked-cell", "locked cell edited (nbgrader restores it when grading)"))

    protected = _protected_names(release, test_sources or {})
    aliases: dict[str, str] = {}
    for cell in release.cells:  # what the locked set-up cells import
        if cell.cell_type == "code" and nbgrader_meta(cell).get("locked"):
            tree = _python(cell.source)
            if tree is not None:
                _imports(tree, aliases)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = index_gid.get(index)
        if gid is not None and nbgrader_meta(release_by_gid[gid]).get("locked"):
            continue  # a locked cell: compared with the release above
        tree = _python(cell.source)
        if tree is None:
            continue
        name = gid or f"cell {index}"
        own_aliases = dict(aliases)
        _imports(tree, own_aliases)
        auditor = _CellAuditor(own_aliases, protected)
        auditor.visit(tree)
        for bound, node in _top_level_bindings(tree).items():
            if bound not in protected:
                continue
            if isinstance(node, ast.Import | ast.ImportFrom) and _import_targets(node).get(bound) == protected[bound]:
                continue  # importing the same thing again
            auditor.flag("rebinding", f"rebinds {bound!r}, which the tests use ({protected[bound]})")
        flags.extend(Flag(notebook, name, kind, detail) for kind, detail in auditor.found)
        aliases = own_aliases
    return flags


def comparable(cell: NotebookNode, ref: NotebookNode) -> NotebookNode:
    """A copy of ``cell`` with ``ref``'s nbgrader metadata and whitespace-normalised source, for
    ``compute_checksum``: a Colab-stripped or re-indented-at-the-end cell compares by content only."""
    import copy

    from labs.grading.repair import normal_source

    mine = copy.deepcopy(cell)
    mine.source = normal_source(mine.source)
    mine.setdefault("metadata", NotebookNode())
    mine.metadata["nbgrader"] = copy.deepcopy(nbgrader_meta(ref))
    return mine


def audit_assignment(root: Path, assignment: str, students: list[str] | None = None) -> dict[str, list[Flag]]:
    """Audit every submission of ``assignment`` (or ``students``) against its release; student -> flags."""
    import nbformat
    from nbgrader.api import Gradebook

    from labs.grading.coursedir import submitted_students
    from labs.grading.gradebook import course_config

    course_id, url = course_config(root)
    tests: dict[str, dict[str, str]] = {}
    with Gradebook(url, course_id) as gradebook:
        for nb in gradebook.find_assignment(assignment).notebooks:
            graded = {c.name for c in nb.grade_cells}
            tests[nb.name] = {c.name: c.source for c in nb.source_cells if c.locked and c.name in graded}
    result: dict[str, list[Flag]] = {}
    for student in students or submitted_students(root, assignment):
        flags: list[Flag] = []
        for name in sorted(tests):
            path = root / "submitted" / student / assignment / f"{name}.ipynb"
            release_path = root / "release" / assignment / f"{name}.ipynb"
            if not path.exists() or not release_path.exists():
                continue
            try:
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001 - invalid notebooks are reported by autograde
                continue
            flags.extend(audit_notebook(nb, nbformat.read(release_path, as_version=4), notebook=name,
                                        test_sources=tests[name]))
        result[student] = flags
    return result
