"""Report stage: per-cell scores from the gradebook, the grades CSV and a table for the terminal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def cell_scores(root: Path, assignment: str) -> list[CellScore]:
    """Every graded cell of every submission of ``assignment`` in the gradebook, sorted by student and cell."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(db_url(root)) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    autograded = grade.cell.cell_type == "code"
                    score = grade.score if autograded or grade.manual_score is not None else None
                    rows.append(CellScore(submission.student.id, notebook.name, grade.name, score,
                                          grade.max_score, autograded))
    return sorted(rows, key=lambda r: (r.student, r.notebook, r.cell))


def autograded_totals(rows: list[CellScore]) -> dict[str, tuple[float, float]]:
    """student -> (autograded points scored, autograded points available)."""
    totals: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row.autograded:
            got, available = totals.get(row.student, (0.0, 0.0))
            totals[row.student] = (got + (row.score or 0.0), available + row.max_score)
    return totals


def export_grades(root: Path, csv_path: Path) -> Path:
    """Write nbgrader's grades CSV (one row per student and assignment) to ``csv_path``."""
    nbgrader(root, "export", f"--to={csv_path}")
    return csv_path


def format_table(assignment: str, rows: list[CellScore]) -> str:
    """A plain-text table: one line per student, one column per autograded cell, then the total."""
    cells = sorted({r.cell for r in rows if r.autograded})
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
