"""The main job: release every assignment, autograde the submissions, export grades and print a table."""

from __future__ import annotations

from pathlib import Path

from labs.grading.release import release
from labs.grading.report import cell_scores, export_grades, format_incidents, format_table, incidents, write_report
from labs.grading.run import autograde, submitted_students


def demo(root: Path, csv_path: Path | None = None, workers: int | None = None) -> dict[str, str]:
    """Run release -> autograde (parallel, audited) -> report -> export on the course at ``root``.

    Returns assignment -> the printed score table; the full report of each assignment is written to
    ``reports/<assignment>/``.
    """
    tables = {}
    names = release(root)
    print(f"released: {', '.join(names)} -> {root / 'release'}")
    for name in names:
        students = submitted_students(root, name)
        if not students:
            continue
        print(f"autograding {name}: {len(students)} submissions ({', '.join(students)})")
        autograde(root, name, workers=workers, force=True, progress=False)
        tables[name] = format_table(name, cell_scores(root, name))
        print(tables[name])
        write_report(root, name)
        print(format_incidents(*incidents(root, name)))
        print(f"report: {root / 'reports' / name}")
    csv = export_grades(root, csv_path or root / "grades.csv")
    print(f"grades exported to {csv}")
    return tables
