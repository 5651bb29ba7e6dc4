"""The whole-batch test of the TA tool: the hostile ps01 corpus graded in parallel, once, then checked.

EXPENSIVE (about two to three minutes on 2 cores): one module-scoped batch of ~26 submissions with
``--workers 2``, one plain serial ``nbgrader autograde`` of a few of them for comparison, a resumed run, a
forced regrade of a few students, the report and the feedback. Everything else asserts on those runs.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
from pathlib import Path

import hostile
import nbformat
import pytest
from conftest import copy_course, file_digests
from notebook_harness import nbgrader_meta

from labs.grading.coursedir import nbgrader
from labs.grading.jobs import GIB, Limits
from labs.grading.report import cell_scores
from labs.grading.run import autograde, autograde_serial
from labs.grading.state import load_outcome

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading_batch")]  # one worker: module fixtures

ASSIGNMENT = hostile.ASSIGNMENT
LIMITS = Limits(cell_timeout=10, time_limit=120, memory_limit=int(1.5 * GIB), output_limit=1024 * 1024, threads=1)
SERIAL = ["correct", "blank", "bug", "edit_test", "eq_override"]
RERUN = ["correct", "os_exit"]
FEEDBACK = ["correct", "partial", "bug", "edit_test"]


def make_course(root: Path) -> Path:
    """A copy of the course (config, source/ps01, release/ps01) with ps01 released into a fresh gradebook."""
    copy_course(root, assignments=(ASSIGNMENT,))
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def scores(root: Path) -> dict[str, dict[str, float | None]]:
    table: dict[str, dict[str, float | None]] = {}
    for row in cell_scores(root, ASSIGNMENT):
        table.setdefault(row.student, {})[row.cell] = row.score
    return table


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Grade the corpus once (parallel), plus a serial reference, a resumed run and a forced regrade."""
    root = make_course(tmp_path_factory.mktemp("course"))
    cases = hostile.write_corpus(root)
    submitted_before = file_digests(root / "submitted")
    outcomes = {o.student: o for o in autograde(root, ASSIGNMENT, workers=2, limits=LIMITS, progress=False)}
    first = scores(root)
    submitted_after = file_digests(root / "submitted")

    serial_root = make_course(tmp_path_factory.mktemp("serial"))
    hostile.write_corpus(serial_root, [cases[s] for s in SERIAL])
    autograde_serial(serial_root, ASSIGNMENT)
    nbgrader(serial_root, "generate_feedback", ASSIGNMENT, "--student", "bug")  # plain nbgrader, for contrast

    from labs.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        resumed_exit = main(["--course", str(root), "autograde", ASSIGNMENT, "--workers", "2", "--quiet"])
    states = {s: load_outcome(root, ASSIGNMENT, s) for s in cases}
    after_resume = scores(root)
    regraded = {o.student: o for o in autograde(root, ASSIGNMENT, workers=2, force=True, students=RERUN,
                                                limits=LIMITS, progress=False)}
    return {"root": root, "serial_root": serial_root, "cases": cases, "outcomes": outcomes, "first": first,
            "serial": scores(serial_root),
            "submitted_before": submitted_before, "submitted_after": submitted_after, "resumed": printed.getvalue(),
            "states": states, "resumed_exit": resumed_exit, "after_resume": after_resume, "regraded": regraded,
            "after_regrade": scores(root)}


def test_corpus_is_large_enough(batch: dict) -> None:
    hostile_cases = [c for c in batch["cases"].values() if c.student not in ("correct", "blank")]
    assert len(hostile_cases) >= 15
    assert {"correct", "blank"} <= set(batch["cases"])


def test_batch_finishes_and_records_every_submission(batch: dict) -> None:
    assert set(batch["outcomes"]) == set(batch["cases"])
    assert all(o.status in ("graded", "failed") for o in batch["outcomes"].values()), \
        {s: (o.status, o.reason) for s, o in batch["outcomes"].items() if o.status not in ("graded", "failed")}
    assert set(batch["first"]) == set(batch["cases"]), "every student has a submission in the gradebook"


def test_submitted_is_byte_for_byte_unchanged(batch: dict) -> None:
    assert batch["submitted_after"] == batch["submitted_before"]


@pytest.mark.parametrize("student", [c.student for c in hostile.cases()])
def test_each_case_gets_what_it_deserves(batch: dict, student: str) -> None:
    case, outcome, got = batch["cases"][student], batch["outcomes"][student], batch["first"][student]
    assert outcome.status == case.status, (outcome.status, outcome.reason)
    for cell in case.zero:
        assert got[cell] == 0, f"{student}: {cell} should score 0, got {got[cell]}"
    maximum = {r.cell: r.max_score for r in cell_scores(batch["root"], ASSIGNMENT) if r.student == student}
    for cell in case.full:
        assert got[cell] == maximum[cell], f"{student}: {cell} should have full marks, got {got[cell]}"
    kinds = {flag["kind"] for flag in outcome.flags}
    if case.flags:
        assert kinds & set(case.flags), f"{student}: expected a flag among {case.flags}, got {outcome.flags}"
    if case.clean:
        assert not outcome.flags, f"{student}: false alarm {outcome.flags}"
    if case.runtime:
        assert "kernel" in kinds, f"{student}: not flagged at run time: {outcome.flags}"
    if case.reason:
        assert case.reason.lower() in outcome.reason.lower(), f"{student}: reason {outcome.reason!r}"


def test_hostile_submissions_lose_the_points_they_attack_or_are_flagged(batch: dict) -> None:
    for student, case in batch["cases"].items():
        if case.clean or student in ("not_a_notebook",):
            continue
        got = batch["first"][student]
        attacked_zero = all(got[c] == 0 for c in case.zero) and case.zero
        assert attacked_zero or batch["outcomes"][student].flags or batch["outcomes"][student].reason, student


def test_colab_round_trip_grades_like_the_original(batch: dict) -> None:
    assert batch["first"]["colab"] == batch["first"]["correct"]
    assert batch["first"]["reordered"] == batch["first"]["correct"]
    assert batch["outcomes"]["colab"].repairs, "the repair is reported"


def test_parallel_scores_equal_plain_serial_nbgrader(batch: dict) -> None:
    for student in SERIAL:
        assert batch["first"][student] == batch["serial"][student], student


def test_second_run_skips_everything_and_keeps_the_scores(batch: dict) -> None:
    assert batch["resumed_exit"] == 0
    assert batch["resumed"].strip().endswith(f"{ASSIGNMENT}: {len(batch['cases'])} skipped"), batch["resumed"]
    assert {s: o.status for s, o in batch["states"].items()} == {s: o.status for s, o in batch["outcomes"].items()}
    assert batch["after_resume"] == batch["first"]


def test_forced_regrade_gives_the_same_scores(batch: dict) -> None:
    assert set(batch["regraded"]) == set(RERUN)
    assert all(o.status == "graded" for o in batch["regraded"].values())
    for student in RERUN:
        assert batch["after_regrade"][student] == batch["first"][student], student


def test_gradebook_is_consistent_and_flags_are_in_it(batch: dict) -> None:
    from nbgrader.api import Gradebook

    from labs.grading.gradebook import course_config

    course_id, url = course_config(batch["root"])
    with Gradebook(url, course_id) as gradebook:
        submissions = {s.student.id: s for s in gradebook.assignment_submissions(ASSIGNMENT)}
        assert set(submissions) == set(batch["cases"])
        for student, submission in submissions.items():
            flagged = any(nb.flagged for nb in submission.notebooks)
            assert flagged == bool(batch["outcomes"][student].flags), student
            max_score = sum(nb.max_score for nb in submission.notebooks)
            assert 0 <= submission.score <= max_score


def test_autograded_notebooks_survive_kernel_death(batch: dict) -> None:
    root = batch["root"]
    for student in ("os_exit", "segfault", "memory_hog", "stubborn_loop", "correct"):
        path = root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert path.exists(), student
        nbformat.read(path, as_version=4)
    flood = root / "autograded" / "output_flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert flood.stat().st_size < 3 * 1024 * 1024, "megabytes of output were truncated"


def test_report_lists_statistics_failures_and_flags(batch: dict) -> None:
    from labs.grading.report import write_report

    root = batch["root"]
    text = write_report(root, ASSIGNMENT)
    out = root / "reports" / ASSIGNMENT
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "grades.csv").read_text().count("\n") >= len(batch["cases"])
    questions = (out / "questions.csv").read_text()
    assert "test_gradient_of" in questions and "most_common_failure" in questions
    assert "not_a_notebook [failed]" in text and "kill_grader [failed]" in text
    assert "patch_checks:" in text and "[monkeypatch]" in text
    assert "NotImplementedError" in text  # the blank submissions' most common failure


def _leaks(root: Path, student: str) -> list[str]:
    """Hidden-test lines (8+ characters, not in the release or the student's own notebook) in the feedback."""
    from labs.grading.feedback import hidden_regions

    source = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    own = nbformat.read(root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    hidden = {line.strip() for cell in source.cells for line in hidden_regions(cell.source)}
    visible = {line.strip() for nb in (release, own) for cell in nb.cells for line in cell.source.splitlines()}
    page = (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    return [line for line in hidden if len(line) >= 8 and line not in visible and line in text]


def test_feedback_hides_hidden_tests_but_keeps_the_failure_message(batch: dict) -> None:
    from labs.grading.feedback import generate_feedback

    root = batch["root"]
    paths = generate_feedback(root, ASSIGNMENT, FEEDBACK)
    assert len(paths) == len(FEEDBACK)
    for student in FEEDBACK:
        assert not _leaks(root, student), f"{student}: hidden test lines in the feedback"
    graded = nbformat.read(root / "autograded" / "bug" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    (failing,) = [c for c in graded.cells if nbgrader_meta(c).get("grade_id") == "test_train"]
    message = next(o["evalue"] for o in failing.outputs if o["output_type"] == "error")
    bug_page = html.unescape((root / "feedback" / "bug" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert message and message.splitlines()[0] in bug_page, "the failing hidden check's message is shown"
    assert len(_leaks(batch["serial_root"], "bug")) > 10, "plain nbgrader feedback does show them (issue #917)"
