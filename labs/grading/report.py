"""Report stage: per-cell scores from the gradebook, the grades CSV, a table for the terminal, and the TA's
report of a batch (per-question statistics, a histogram per question, failed and flagged submissions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labs.authoring import is_autograded_test, nbgrader_meta
from labs.grading.coursedir import db_url, nbgrader


@dataclass(frozen=True)
class CellScore:
    """One graded cell of one student's submission."""

    student: str
    notebook: str
    cell: str
    score: float | None  # None: waits for manual grading
    max_score: float
    autograded: bool


def release_order(root: Path, assignment: str) -> dict[tuple[str, str], int]:
    """(notebook, grade_id) -> position of the graded cell in the released notebooks, to list questions in order."""
    import nbformat

    order: dict[tuple[str, str], int] = {}
    for path in sorted((root / "release" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                order[(path.stem, grade_id)] = len(order)
    return order


def autograded_cells(rows: list[CellScore]) -> list[str]:
    """The autograded cells of ``rows`` in the order they first appear (notebook order for cell_scores)."""
    return list(dict.fromkeys(r.cell for r in rows if r.autograded))


def cell_scores(root: Path, assignment: str) -> list[CellScore]:
    """Every graded cell of every submission of ``assignment`` in the gradebook, by student, then notebook order."""
    from nbgrader.api import Gradebook

    order = release_order(root, assignment)

    rows = []
    with Gradebook(db_url(root)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    autograded = grade.cell.cell_type == "code"
                    score = grade.score if autograded or grade.manual_score is not None else None
                    rows.append(CellScore(submission.student.id, notebook.name, grade.name, score,
                                          grade.max_score, autograded))
    return sorted(rows, key=lambda r: (r.student, r.notebook, order.get((r.notebook, r.cell), len(order)), r.cell))


def autograded_totals(rows: list[CellScore]) -> dict[str, tuple[float, float]]:
    """student -> (autograded points scored, autograded points available)."""
    totals: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row.autograded:
            got, available = totals.get(row.student, (0.0, 0.0))
            totals[row.student] = (got + (row.score or 0.0), available + row.max_score)
    return totals


def export_grades(root: Path, csv_path: Path) -> Path:
    """Write the grades CSV (one row per student and assignment, with a ``status`` column that marks missing
    submissions; see :mod:`labs.grading.export`) to ``csv_path``."""
    from labs.grading.export import EXPORTER

    nbgrader(root, "export", f"--to={csv_path}", f"--exporter={EXPORTER}")
    return csv_path


def format_table(assignment: str, rows: list[CellScore]) -> str:
    """A plain-text table: one line per student, one column per autograded cell, then the total."""
    cells = autograded_cells(rows)
    by_student: dict[str, dict[str, CellScore]] = {}
    for row in rows:
        by_student.setdefault(row.student, {})[row.cell] = row
    totals = autograded_totals(rows)
    width = max([len("student")] + [len(s) for s in by_student])
    header = ["student".ljust(width)] + [c.removeprefix("test_") for c in cells] + ["total"]
    lines = [f"{assignment}: autograded points per test cell", "  ".join(header)]
    for student, scores in sorted(by_student.items()):
        row = [student.ljust(width)]
        for cell, title in zip(cells, header[1:-1], strict=False):
            entry = scores.get(cell)
            text = "-" if entry is None else f"{entry.score or 0:g}/{entry.max_score:g}"
            row.append(text.rjust(len(title)))
        got, available = totals.get(student, (0.0, 0.0))
        row.append(f"{got:g}/{available:g}")
        lines.append("  ".join(row))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Per-question statistics, failure messages, plot, incidents: the TA's report of a batch
# --------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class QuestionStats:
    """Statistics of one autograded test cell over all graded students."""

    cell: str
    max_score: float
    count: int
    mean: float
    full_share: float  # share of students with full marks
    failure: str  # most common failure message ('' if none failed)
    failure_count: int


def failure_messages(root: Path, assignment: str) -> dict[tuple[str, str], str]:
    """(student, test cell) -> why it lost its points, read from the autograded notebooks' outputs."""
    import nbformat

    messages: dict[tuple[str, str], str] = {}
    for path in sorted((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook has no messages
            continue
        for cell in nb.cells:
            if not is_autograded_test(cell):
                continue
            meta = nbgrader_meta(cell)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    first = (output.get("evalue") or "").strip().splitlines()
                    messages[(student, meta["grade_id"])] = f"{output.get('ename')}: {first[0] if first else ''}"[:300]
                    break
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    text = output.get("text", "").strip().splitlines()
                    messages[(student, meta["grade_id"])] = f"wrote to stderr: {text[0] if text else ''}"[:300]
                    break
    return messages


def question_stats(rows: list[CellScore], failures: dict[tuple[str, str], str]) -> list[QuestionStats]:
    """Mean score, share of full marks and most common failure message of every autograded cell."""
    stats = []
    for cell in autograded_cells(rows):
        cells = [r for r in rows if r.cell == cell and r.autograded]
        scores = [r.score or 0.0 for r in cells]
        maximum = cells[0].max_score
        groups: dict[str, list[str]] = {}
        for r in cells:
            message = failures.get((r.student, cell))
            if message and (r.score or 0.0) < r.max_score:
                groups.setdefault(_NUMBER.sub("#", message), []).append(message)
        common = max(groups.values(), key=len, default=[])
        stats.append(QuestionStats(cell, maximum, len(cells), sum(scores) / len(cells),
                                   sum(s >= maximum for s in scores) / len(cells), common[0] if common else "",
                                   len(common)))
    return stats


def format_stats(assignment: str, stats: list[QuestionStats]) -> str:
    """A text table of :func:`question_stats`."""
    lines = [f"{assignment}: per-question statistics",
             f"{'question':<26}{'max':>5}{'mean':>7}{'full':>7}  most common failure"]
    for s in stats:
        failure = f"{s.failure_count}x {s.failure}" if s.failure else "-"
        lines.append(f"{s.cell.removeprefix('test_'):<26}{s.max_score:>5g}{s.mean:>7.2f}{s.full_share:>7.0%}  "
                     f"{failure[:150]}")
    return "\n".join(lines)


def plot_histograms(assignment: str, rows: list[CellScore], path: Path) -> Path:
    """A PNG with one histogram of scores per autograded question (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cells = autograded_cells(rows)
    columns = min(4, max(1, len(cells)))
    lines = max(1, -(-len(cells) // columns))
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False)
    for ax in axes.flat[len(cells):]:
        ax.set_visible(False)
    for ax, cell in zip(axes.flat, cells, strict=False):
        scores = [r.score or 0.0 for r in rows if r.cell == cell and r.autograded]
        maximum = max(r.max_score for r in rows if r.cell == cell)
        ax.hist(scores, bins=[i - 0.5 for i in range(int(maximum) + 2)], color="tab:blue", edgecolor="white")
        ax.set_xticks(range(int(maximum) + 1))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(cell.removeprefix("test_"), fontsize=9)
        ax.set_xlabel(f"points (of {maximum:g})", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
    fig.suptitle(f"{assignment}: scores per question ({len({r.student for r in rows})} students)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def incidents(root: Path, assignment: str) -> tuple[list[tuple[str, str, str]], dict[str, list[dict]]]:
    """From the runner's state: ([(student, status, reason)] of failed or troubled runs, {student: flags})."""
    import json

    from labs.grading.state import STATE_DIR

    failed, flagged = [], {}
    for path in sorted((root / STATE_DIR / assignment).glob("*.json")):
        state = json.loads(path.read_text())
        if state.get("status") not in ("graded", "skipped") or state.get("reason"):
            failed.append((state["student"], state.get("status", "?"), state.get("reason", "")))
        if state.get("flags"):
            flagged[state["student"]] = state["flags"]
    return failed, flagged


def grading_runs(root: Path, assignment: str) -> list[tuple[str, str, str, float]]:
    """From the runner's state: (student, status, worker, seconds) of each submission's last grading."""
    from labs.grading.state import load_outcome, state_path

    runs = []
    for path in sorted(state_path(root, assignment, "x").parent.glob("*.json")):
        outcome = load_outcome(root, assignment, path.stem)
        if outcome is not None:
            runs.append((outcome.student, str(outcome.status), outcome.worker or "-", outcome.seconds))
    return runs


def format_runs(runs: list[tuple[str, str, str, float]]) -> str:
    """Text table of where and how long each submission was graded."""
    lines = ["grading runs (student, status, worker, seconds):"]
    for student, status, worker, seconds in runs:
        lines.append(f"  {student:<20} {status:<8} {worker:<28} {seconds:8.1f}")
    return "\n".join(lines)


def format_incidents(failed: list[tuple[str, str, str]], flagged: dict[str, list[dict]]) -> str:
    """Text list of failed and flagged submissions with their reasons."""
    lines = [f"failed or interrupted submissions: {len(failed)}"]
    lines.extend(f"  {student} [{status}]: {reason}" for student, status, reason in failed)
    lines.append(f"flagged submissions: {len(flagged)}")
    for student, flags in sorted(flagged.items()):
        lines.append(f"  {student}:")
        lines.extend(f"    {f['cell']} [{f['kind']}] {f['detail']}" for f in flags)
    return "\n".join(lines)


def write_report(root: Path, assignment: str, out: Path | None = None) -> str:
    """Write ``reports/<assignment>/``: grades.csv (nbgrader export), questions.csv, scores.png and
    report.txt (score table, statistics, failed and flagged submissions); returns the text."""
    import csv

    out = out or root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    rows = cell_scores(root, assignment)
    stats = question_stats(rows, failure_messages(root, assignment))
    export_grades(root, out / "grades.csv")
    with open(out / "questions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "max_score", "students", "mean", "full_marks_share", "most_common_failure",
                         "failure_count"])
        for s in stats:
            writer.writerow([s.cell, s.max_score, s.count, f"{s.mean:.4f}", f"{s.full_share:.4f}", s.failure,
                             s.failure_count])
    if rows:
        plot_histograms(assignment, rows, out / "scores.png")
    text = "\n\n".join([format_table(assignment, rows), format_stats(assignment, stats),
                        format_incidents(*incidents(root, assignment)), format_runs(grading_runs(root, assignment))])
    (out / "report.txt").write_text(text + "\n")
    return text
