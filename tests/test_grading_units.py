"""Fast tests of the TA tool's parts: repair, audit, fresh checks, collect, executor, resilient execution, CLI.

No whole-notebook nbgrader run here (see test_grading_batch.py for that); the resilient-execution tests
start a plain Python kernel on tiny notebooks (a second or two each).
"""

from __future__ import annotations

import copy
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile  # noqa: E402
from notebook_harness import load_source, nbgrader_meta  # noqa: E402
from submissions import load_release, solved  # noqa: E402

from labs.grading.audit import audit_notebook  # noqa: E402
from labs.grading.repair import repair_notebook  # noqa: E402

pytestmark = pytest.mark.xdist_group("grading_units")  # one worker runs this module (module fixtures)

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps01"


def grade_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")]


@pytest.fixture(scope="module")
def release() -> nbformat.NotebookNode:
    return load_release(ASSIGNMENT)


@pytest.fixture(scope="module")
def tests_with_hidden() -> dict[str, str]:
    """grade_id -> full source (hidden tests included) of every test cell, as the gradebook stores it."""
    return {nbgrader_meta(c)["grade_id"]: c.source for c in load_source(ASSIGNMENT).cells
            if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("locked")}


# -- repair ------------------------------------------------------------------------------------------


def test_repair_leaves_a_good_notebook_alone(release: nbformat.NotebookNode) -> None:
    nb = solved(ASSIGNMENT)
    fixed, report = repair_notebook(nb, release)
    assert fixed is nb and not report.changed


def test_repair_restores_metadata_lost_on_colab(release: nbformat.NotebookNode) -> None:
    original = solved(ASSIGNMENT)
    fixed, report = repair_notebook(hostile.colab_round_trip(original), release)
    assert report.changed and len(report.restored_metadata) == len(grade_ids(release))
    assert grade_ids(fixed) == grade_ids(original)
    for mine, theirs in zip(fixed.cells, original.cells, strict=True):
        assert nbgrader_meta(mine) == nbgrader_meta(theirs)
        assert mine.source == theirs.source


def test_repair_undoes_duplicates_and_moves(release: nbformat.NotebookNode) -> None:
    nb = nbformat.reads(hostile._reordered(REPO).decode(), as_version=4)
    fixed, report = repair_notebook(nb, release)
    assert report.reordered and set(report.removed_duplicates) == {"part1", "train"}
    assert grade_ids(fixed) == grade_ids(release)
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in fixed.cells}
    assert "optimizer.zero_grad()" in answers["train"], "the answered copy is kept, the stub dropped"
    assert len({c.get("id") for c in fixed.cells}) == len(fixed.cells)


def test_repair_reinserts_a_deleted_test_cell(release: nbformat.NotebookNode) -> None:
    nb = nbformat.reads(hostile._deleted_test(REPO).decode(), as_version=4)
    assert "test_gradient_of" not in grade_ids(nb)
    fixed, report = repair_notebook(nb, release)
    assert report.reinserted == ["test_gradient_of"]
    assert grade_ids(fixed) == grade_ids(release)


# -- audit -------------------------------------------------------------------------------------------

STATIC = [c for c in hostile.cases() if c.student != "not_a_notebook"]


@pytest.mark.parametrize("case", STATIC, ids=[c.student for c in STATIC])
def test_audit_flags_hostile_code_and_nothing_else(case: hostile.Case, release: nbformat.NotebookNode,
                                                   tests_with_hidden: dict[str, str]) -> None:
    nb = nbformat.reads(case.build(REPO).decode(), as_version=4)
    flags = audit_notebook(nb, release, notebook=ASSIGNMENT, test_sources=tests_with_hidden)
    kinds = {f.kind for f in flags}
    if case.clean:
        assert not flags, [f"{f.cell}: {f.detail}" for f in flags]
    if case.flags:
        assert kinds & set(case.flags), (case.student, flags)


def test_audit_ignores_plotting_magics(release: nbformat.NotebookNode) -> None:
    nb = solved(ASSIGNMENT)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "mlp_training":
            cell.source = "%matplotlib inline\n%time x = 1\n" + cell.source
    assert audit_notebook(nb, release, notebook=ASSIGNMENT) == []


# -- fresh checks ------------------------------------------------------------------------------------


def test_fresh_checks_survive_monkeypatching() -> None:
    import torch

    import labs.checks
    import labs.checks.tensors as tensors
    from labs.checks import fresh

    saved = (labs.checks.assert_close, tensors.assert_close)
    try:
        labs.checks.assert_close = tensors.assert_close = lambda *a, **k: None
        close = fresh("assert_close")
        with pytest.raises(AssertionError, match="values differ"):
            close(torch.ones(3), torch.zeros(3), name="x")
        namespace = fresh()
        assert namespace.assert_true is not labs.checks.assert_true
    finally:
        labs.checks.assert_close, tensors.assert_close = saved
    assert labs.checks.assert_close is saved[0] and sys.modules["labs.checks.tensors"] is tensors


def test_fresh_refuses_a_tampered_environment() -> None:
    import torch

    from labs.checks import fresh

    original = torch.Tensor.any
    try:
        torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)
        with pytest.raises(AssertionError, match="torch.Tensor.any"):
            fresh("assert_close", "assert_true")
    finally:
        torch.Tensor.any = original
    close, true = fresh("assert_close", "assert_true")
    close(torch.ones(2), torch.ones(2))


# -- collect -----------------------------------------------------------------------------------------


def _course(tmp_path: Path) -> Path:
    (tmp_path / "release" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(load_release(ASSIGNMENT), tmp_path / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return tmp_path


def test_collect_moodle_export(tmp_path: Path) -> None:
    from labs.grading.collect import collect

    root = _course(tmp_path)
    colab = nbformat.writes(hostile.colab_round_trip(solved(ASSIGNMENT)))
    plain = nbformat.writes(solved(ASSIGNMENT))
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Ada Lovelace_123_assignsubmission_file_/ps01.ipynb", colab)
        zf.writestr("Bob Builder_456_assignsubmission_file_/Copy of ps01 (1).ipynb", plain)
        zf.writestr("Bob Builder_456_assignsubmission_file_/notes.pdf", b"%PDF")
        zf.writestr("Carl Broken_789_assignsubmission_file_/ps01.ipynb", "{ not json")
        zf.writestr("__MACOSX/._junk", b"")
        zf.writestr("readme.ipynb", plain)
    report = collect(root, ASSIGNMENT, archive)
    assert set(report.collected) == {"ada_lovelace", "bob_builder", "carl_broken"}
    assert list(report.repaired) == ["ada_lovelace"]
    assert [s for s, _ in report.invalid] == ["carl_broken"]
    skipped = dict(report.skipped)
    assert skipped["Bob Builder_456_assignsubmission_file_/notes.pdf"] == "not a notebook"
    assert "readme.ipynb" in skipped
    ada = nbformat.read(root / "submitted" / "ada_lovelace" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert grade_ids(ada) == grade_ids(load_release(ASSIGNMENT))
    again = collect(root, ASSIGNMENT, archive)
    assert not again.collected and any("exists" in reason for _, reason in again.skipped)
    assert "not collected" in report.format()


def test_collect_canvas_export_keeps_the_latest_resubmission(tmp_path: Path) -> None:
    from labs.grading.collect import collect

    root = _course(tmp_path)
    plain = nbformat.writes(solved(ASSIGNMENT))
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("lovelaceada_late_123_456_ps01.ipynb", (2024, 1, 1, 0, 0, 0)), plain)
        zf.writestr(zipfile.ZipInfo("builderbob_77_88_ps01-1.ipynb", (2024, 1, 1, 0, 0, 0)), plain)
        zf.writestr(zipfile.ZipInfo("builderbob_77_89_ps01-2.ipynb", (2024, 1, 2, 0, 0, 0)), plain)
    report = collect(root, ASSIGNMENT, archive, lms="canvas")
    assert set(report.collected) == {"lovelaceada", "builderbob"}
    assert report.skipped == [("builderbob_77_88_ps01-1.ipynb", "superseded by builderbob_77_89_ps01-2.ipynb")]


# -- executor ----------------------------------------------------------------------------------------


def _square(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x * x


def test_local_executor_is_a_concurrent_futures_executor() -> None:
    from concurrent.futures import Executor, as_completed

    from labs.grading.executor import LocalExecutor

    with LocalExecutor(2) as executor:
        assert isinstance(executor, Executor)
        futures = {executor.submit(_square, x): x for x in [1, 2, 3, 4]}
        results = {futures[f]: (f.exception() or f.result()) for f in as_completed(futures)}
    assert results[1] == 1 and results[4] == 16 and isinstance(results[3], ValueError)


def test_job_results_are_typed_and_a_worker_killer_is_recorded_as_failed() -> None:
    import pickle
    from concurrent.futures import Future

    from labs.grading.jobs import GradeJob, GradeResult, Outcome, Status
    from labs.grading.run import _result_of

    job = GradeJob("ann", "ps01", "course", ["ps01"], "", b"", {}, {})
    assert pickle.loads(pickle.dumps(job)) == job
    assert GradeResult("ann", "ps01", "graded").status is Status.GRADED
    assert Outcome("ann", "skipped").status == "skipped" and str(Status.FAILED) == "failed"

    class KilledWorker(Exception):  # what distributed raises after allowed-failures
        pass

    for error, status in [(KilledWorker("x"), Status.FAILED), (ConnectionError("lost"), Status.ERROR)]:
        future: Future = Future()
        future.set_exception(error)
        assert _result_of(future, job).status is status


# -- resilient execution (a plain kernel, tiny notebooks) ----------------------------------------------


def _run(tmp_path: Path, sources: list[str], **traits: object) -> tuple[nbformat.NotebookNode, list[str]]:
    from labs.grading.execute import _make_resilient_execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cls = _make_resilient_execute()
    executor = cls(kernel_name="python3", **traits)
    executor.events.clear()
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb, list(executor.events)


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def test_kernel_death_is_recorded_in_the_cells(tmp_path: Path) -> None:
    nb, events = _run(tmp_path, ["x = 1", "import os; os._exit(1)", "y = 2", "z = 3"], timeout=20)
    assert _errors(nb.cells[0]) == []
    assert _errors(nb.cells[1]) == ["KernelDied"]
    assert _errors(nb.cells[2]) == ["NotRun"] and _errors(nb.cells[3]) == ["NotRun"]
    assert any("kernel died" in e for e in events)


def test_output_is_capped_and_the_notebook_time_limit_holds(tmp_path: Path) -> None:
    flood = 'import sys\nprint("x" * 3_000_000)\nsys.stderr.write("e" * 3_000_000)'
    nb, events = _run(tmp_path, [flood, "import time; time.sleep(30)", "a = 1"], timeout=60, time_limit=4,
                      output_limit=100_000)
    texts = {o["name"]: o["text"] for o in nb.cells[0].outputs if o.get("output_type") == "stream"}
    assert set(texts) == {"stdout", "stderr"}, "a flooded stderr still shows (nbgrader gives 0 for it)"
    assert all(len(t) < 200_000 and "output truncated" in t for t in texts.values())
    assert "CellTimeoutError" in _errors(nb.cells[1]) and _errors(nb.cells[2]) == ["NotRun"]
    assert any("time limit" in e for e in events)


# -- command line ------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["release", "collect", "autograde", "audit", "report", "feedback", "demo"])
def test_every_verb_has_help(verb: str, capsys: pytest.CaptureFixture) -> None:
    from labs.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    assert "usage: labs" in capsys.readouterr().out


def test_sizes_parse() -> None:
    from labs.cli import _size

    assert _size("4G") == 4 * 1024**3 and _size("512M") == 512 * 1024**2 and _size("1000") == 1000


def test_question_stats_pick_the_most_common_failure() -> None:
    from labs.grading.report import CellScore, question_stats

    rows = [CellScore(s, "ps01", "test_a", score, 2.0, True) for s, score in [("a", 2.0), ("b", 0.0), ("c", 0.0)]]
    failures = {("b", "test_a"): "CheckFailed: expected 1, got 2", ("c", "test_a"): "CheckFailed: expected 1, got 3"}
    (stats,) = question_stats(rows, failures)
    assert stats.mean == pytest.approx(2 / 3) and stats.full_share == pytest.approx(1 / 3)
    assert stats.failure_count == 2 and stats.failure.startswith("CheckFailed: expected 1")


def test_corpus_builders_do_not_share_state() -> None:
    first = hostile.cases()[0].build(REPO)
    assert first == copy.deepcopy(hostile.cases()[0]).build(REPO)


# -- file-system sandbox -------------------------------------------------------------------------------


def test_sandbox_hides_the_course_and_the_other_jobs(tmp_path: Path) -> None:
    import json
    import os

    from labs.grading.sandbox import _seal

    course = tmp_path / "course"
    (course / "submitted" / "alice").mkdir(parents=True)
    (course / "submitted" / "alice" / "ps01.ipynb").write_text("alice's work")
    (course / "gradebook.db").write_text("hidden tests")
    parent = tmp_path / "jobs"
    mine, other = parent / "job-mine", parent / "job-other"
    mine.mkdir(parents=True)
    other.mkdir()
    pid = os.fork()
    if pid == 0:  # the sandbox
        report: dict[str, object] = {"note": _seal(str(course), mine)}
        report["submitted"] = os.listdir(course / "submitted")
        report["gradebook"] = (course / "gradebook.db").read_text()
        report["jobs"] = os.listdir(parent)
        try:
            (course / "evil.txt").write_text("x")
            report["write"] = "allowed"
        except OSError:
            report["write"] = "blocked"
        (mine / "out.json").write_text(json.dumps(report))
        os._exit(0)
    os.waitpid(pid, 0)
    report = json.loads((mine / "out.json").read_text())
    if report["note"]:
        pytest.skip(report["note"])
    assert report == {"note": "", "submitted": [], "gradebook": "", "jobs": ["job-mine"], "write": "blocked"}
    assert (course / "submitted" / "alice" / "ps01.ipynb").read_text() == "alice's work"
    assert not (course / "evil.txt").exists() and other.is_dir()


def test_a_locked_gradebook_only_delays_the_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3
    import threading
    import time

    from nbgrader.api import Gradebook

    from labs.grading.coursedir import tool_env
    from labs.grading.gradebook import merge_result
    from labs.grading.jobs import GradeResult

    monkeypatch.setenv("PATH", tool_env()["PATH"])  # a new gradebook runs alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, "course") as gradebook:
        gradebook.add_assignment("ps01")
        gradebook.add_notebook("ps01", "ps01")
        gradebook.add_grade_cell("test_a", "ps01", "ps01", max_score=2, cell_type="code")
    holder = sqlite3.connect(tmp_path / "gradebook.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another program (a TA's formgrader) holds the database
    releaser = threading.Timer(6.0, lambda: holder.execute("COMMIT"))  # longer than SQLite's 5 s busy wait
    releaser.start()
    start = time.monotonic()
    merge_result(url, "course", GradeResult("ann", "ps01", "graded", scores={"ps01": {"test_a": 2.0}}))
    releaser.join()
    assert time.monotonic() - start >= 5.5
    with Gradebook(url, "course") as gradebook:
        assert gradebook.find_grade("test_a", "ps01", "ps01", "ann").score == 2.0


def test_grading_runs_without_the_variables_a_dask_nanny_leaves_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed.nanny")
    from labs.grading.coursedir import tool_env

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a LocalCluster leaves in its parent process
    monkeypatch.setenv("PYTHONHASHSEED", "6640")
    monkeypatch.setenv("LABS_UNRELATED", "kept")
    env = tool_env()
    assert "MALLOC_TRIM_THRESHOLD_" not in env and "PYTHONHASHSEED" not in env and env["LABS_UNRELATED"] == "kept"
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")  # the user's own value is theirs
    assert tool_env()["MALLOC_TRIM_THRESHOLD_"] == "131072"
