"""The main job: release every assignment, autograde the submissions, export grades and print a table."""

from __future__ import annotations

from pathlib import Path

from labs.grading.release import release
from labs.grading.report import cell_scores, export_grades, format_table
from labs.grading.run import autograde_serial, submitted_students


def demo(root: Path, csv_path: Path | None = None) -> dict[str, str]:
    """Run release -> autograde -> export on the course at ``root``; returns assignment -> printed table."""
    tables = {}
    names = release(root)
    print(f"released: {', '.join(names)} -> {root / 'release'}")
    for name in names:
        students = submitted_students(root, name)
        if not students:
            continue
        print(f"autograding {name}: {len(students)} submissions ({', '.join(students)})")
        autograde_serial(root, name)
        tables[name] = format_table(name, cell_scores(root, name))
        print(tables[name])
    csv = export_grades(root, csv_path or root / "grades.csv")
    print(f"grades exported to {csv}")
    return tables
