"""Warm kernels (labs.grading.warm): a forked kernel sees what a cold one sees and grades the same.

One module-scoped pair of runs over a small course: a few ps01 submissions of the hostile corpus (a kernel that
dies, hogs memory, kills its grader, patches torch) and three "facts" submissions whose first cell prints
the kernel's environment, graded once with warm kernels (the default) and once with ``--cold-kernels`` through
the command line. About a minute on 2 cores. The hostile corpus against plain serial nbgrader, with warm kernels,
is tests/test_grading_batch.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import hostile
import nbformat
import pytest
from submissions import load_release
from test_grading_batch import make_course, scores

from labs.grading.jobs import GIB, Limits
from labs.grading.run import autograde

pytestmark = pytest.mark.xdist_group("warm_kernels")  # one worker runs this module (module fixtures)

ASSIGNMENT = hostile.ASSIGNMENT
CASES = ["partial", "os_exit", "memory_hog", "kill_grader", "patch_torch"]
#: A cold kernel's imports take over 10 s on a busy 2-core machine: a cell timeout that both kinds survive.
LIMITS = Limits(cell_timeout=40, time_limit=300, memory_limit=int(1.5 * GIB), output_limit=1024 * 1024, threads=1)
FACTS_STUDENTS = ["facts_a", "facts_b"]  # two warm kernels of the same grading process, one after the other

FACTS = r'''
import sys as _s, os as _o, json as _j, threading as _t, logging as _l, warnings as _w, signal as _sg
import resource as _r, random as _rd
_f = {"cwd": _o.getcwd(), "argv0": _o.path.basename(_s.argv[0]), "argv_n": len(_s.argv),
      "orig_argv": _s.orig_argv[1:3], "path": _s.path,
      "env": {k: v for k, v in _o.environ.items() if k != "JPY_PARENT_PID"},
      "parent_is_jpy_parent": str(_o.getppid()) == _o.environ.get("JPY_PARENT_PID"),
      "main": sorted(k for k in vars(_s.modules["__main__"]) if not k.startswith("_")),
      "thread_names": sorted(_t.current_thread().name if t is _t.current_thread() else type(t).__name__
                             for t in _t.enumerate()),
      "root_logger": [_l.getLogger().level, len(_l.getLogger().handlers)],
      "filters": sorted(str(f) for f in _w.filters), "sigint": str(_sg.getsignal(_sg.SIGINT)),
      "rlimit_as": _r.getrlimit(_r.RLIMIT_AS), "own_session": _o.getsid(0) == _o.getpid(),
      "preloaded": sorted(m for m in ("torch", "numpy", "matplotlib", "labs", "nbgrader", "torchvision")
                          if m in _s.modules),
      "modules": sorted(_s.modules), "meta_path": [type(f).__name__ for f in _s.meta_path],
      "random": _rd.random()}
import numpy, torch, matplotlib, matplotlib.pyplot, labs
_f.update(torch_threads=torch.get_num_threads(), torch_seed=torch.initial_seed(), numpy_random=numpy.random.rand(),
          backend=matplotlib.get_backend(), leak=getattr(labs, "_leak", None),
          nbgrader_after="nbgrader" in _s.modules, filters_after=sorted(str(f) for f in _w.filters))
labs._leak = "a previous submission"
print("FACTS" + _j.dumps(_f))
'''


def _facts_notebook(root: Path) -> bytes:
    nb = load_release(ASSIGNMENT, root)
    nb.cells[:0] = [nbformat.v4.new_code_cell(FACTS), nbformat.v4.new_code_cell("import os; os._exit(0)")]
    return nbformat.writes(nb).encode()


def _facts(root: Path, student: str) -> dict:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    found = [line[5:] for line in text.splitlines() if line.startswith("FACTS")]
    assert found, f"no facts from {student}: {nb.cells[0].outputs}"
    return json.loads(found[0])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = make_course(tmp_path_factory.mktemp("warm"))
    cases = {case.student: case for case in hostile.cases()}
    hostile.write_corpus(root, [cases[name] for name in CASES])
    facts = _facts_notebook(root)
    for student in [*FACTS_STUDENTS, "facts_cold"]:
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(facts)
    warm = {o.student: o for o in autograde(root, ASSIGNMENT, workers=1, limits=LIMITS, progress=False,
                                           students=FACTS_STUDENTS, repair=False)}
    warm.update({o.student: o for o in autograde(root, ASSIGNMENT, workers=2, limits=LIMITS, progress=False,
                                                students=CASES)})
    result = {"warm": warm, "warm_scores": scores(root),
              "facts": {s: _facts(root, s) for s in FACTS_STUDENTS}}

    from labs.cli import main

    limits = ["--cell-timeout", str(LIMITS.cell_timeout), "--time-limit", str(LIMITS.time_limit),
              "--memory-limit", str(LIMITS.memory_limit), "--threads", "1", "--quiet", "--force"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(["--course", str(root), "autograde", ASSIGNMENT, "--cold-kernels", "--workers", "1", "--no-repair",
              "--student", "facts_cold", *limits])
        main(["--course", str(root), "autograde", ASSIGNMENT, "--cold-kernels", "--workers", "2",
              *[arg for name in CASES for arg in ("--student", name)], *limits])
    result.update(cold_printed=printed.getvalue(), cold_scores=scores(root), cold_facts=_facts(root, "facts_cold"))
    return result


def _normalise(value: object) -> object:
    """Facts with the private job folder's name (different for every submission) blanked out."""
    text = json.dumps(value, sort_keys=True)
    text = re.sub(r"/job-[A-Za-z0-9_]+", "/job-X", text)
    text = re.sub(r"/(facts_[a-z]+)/", "/STUDENT/", text)
    return json.loads(text)


#: What may differ: the hidden-module finder itself, and the few stdlib helpers a new interpreter imports to
#: start (runpy) or the fork server's multiprocessing alias of __main__.
START_ONLY = {"runpy", "__mp_main__"}


@pytest.mark.slow
def test_a_warm_kernel_sees_what_a_cold_kernel_sees(runs: dict) -> None:
    cold = _normalise(runs["cold_facts"])
    for student in FACTS_STUDENTS:
        warm = _normalise(runs["facts"][student])
        assert warm["meta_path"][0] == "_Stash" and "_Stash" not in cold["meta_path"], "not a warm kernel"
        warm["meta_path"] = warm["meta_path"][1:]
        assert set(warm.pop("modules")) ^ set(cold["modules"]) <= START_ONLY
        for key in sorted(cold):
            if key in ("random", "torch_seed", "numpy_random", "modules", "leak"):
                continue
            assert warm[key] == cold[key], f"{key}: warm {warm[key]!r} != cold {cold[key]!r}"
        assert warm["preloaded"] == [] and warm["leak"] is None and not warm["nbgrader_after"]
    a, b = runs["facts"]["facts_a"], runs["facts"]["facts_b"]
    for key in ("random", "torch_seed", "numpy_random"):
        assert a[key] != b[key], f"{key}: two warm kernels drew the same random state"
    assert a["env"]["NBGRADER_EXECUTION"] == "autograde" and a["parent_is_jpy_parent"]
    assert a["torch_threads"] == 1 and a["backend"] == "module://matplotlib_inline.backend_inline"


@pytest.mark.slow
def test_warm_and_cold_kernels_give_the_same_scores(runs: dict) -> None:
    for student in CASES:
        assert runs["warm_scores"][student] == runs["cold_scores"][student], student
        assert not any(note.startswith("cold kernel") for note in runs["warm"][student].notes), \
            runs["warm"][student].notes


@pytest.mark.slow
@pytest.mark.parametrize("student", ["os_exit", "memory_hog", "kill_grader"])
def test_a_bad_warm_kernel_is_handled_as_a_cold_one(runs: dict, student: str) -> None:
    case = next(c for c in hostile.cases() if c.student == student)
    outcome = runs["warm"][student]
    assert outcome.status == case.status
    if case.reason:
        assert case.reason.lower() in outcome.reason.lower(), outcome.reason
    assert f"{student} [" in runs["cold_printed"]


def test_hidden_modules_come_back_as_the_same_objects_with_what_they_imported() -> None:
    """The stash in-process, on made-up modules: hidden until imported, then the same objects, their spec
    intact, with the module they refer to (a dependency) but not unrelated ones."""
    import importlib
    import sys
    import types

    from labs.grading.warm import _Stash

    names = ["wk_pkg", "wk_pkg.sub", "wk_dep", "wk_other"]
    made = {name: types.ModuleType(name) for name in names}
    for name, module in made.items():
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=f"/made/up/{name}.py")
    made["wk_pkg"].__path__ = []
    made["wk_pkg"].sub, made["wk_pkg"].dep = made["wk_pkg.sub"], made["wk_dep"]
    stash = _Stash(dict(made), {"wk_pkg": "wk_pkg", "wk_pkg.sub": "wk_pkg", "wk_dep": "wk_dep", "wk_other": "x"})
    sys.meta_path.insert(0, stash)
    try:
        assert not any(name in sys.modules for name in names)
        pkg = importlib.import_module("wk_pkg")
        assert pkg is made["wk_pkg"] and pkg.__spec__.origin == "/made/up/wk_pkg.py"
        assert sys.modules["wk_pkg.sub"] is made["wk_pkg.sub"] and sys.modules["wk_dep"] is made["wk_dep"]
        assert "wk_other" not in sys.modules
        assert importlib.import_module("wk_other") is made["wk_other"]
    finally:
        sys.meta_path.remove(stash)
        for name in names:
            sys.modules.pop(name, None)


def test_the_cold_kernel_baseline_is_recomputed_when_packages_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A baseline cached with other installed packages is not reused: it would hide modules a cold kernel
    has (a package upgrade that adds a submodule) or keep ones it has not."""
    from labs.grading import warm

    before = warm.baseline_cache()
    assert warm.baseline_cache() == before, "the same packages must find the same cache"
    monkeypatch.setattr(warm, "_installed_stamp", lambda: "site-packages:changed")
    assert warm.baseline_cache() != before
