"""The grades CSV tells a student who never submitted from one who scored zero."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from types import SimpleNamespace

from nbgrader.api import Gradebook

from labs.grading.export import StatusCsvExport


def test_missing_submissions_are_marked_not_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("ps01")
        gradebook.add_assignment("ps02")
        for student in ("ann", "ben"):
            gradebook.add_student(student)
        gradebook.add_submission("ps01", "ann")
        exporter = StatusCsvExport()
        exporter.to, exporter.assignment, exporter.student = str(tmp_path / "grades.csv"), [], []
        exporter.export(gradebook)
    with open(tmp_path / "grades.csv", newline="") as handle:
        rows = {(r["assignment"], r["student_id"]): SimpleNamespace(**r) for r in csv.DictReader(handle)}
    assert rows[("ps01", "ann")].status == "graded" and float(rows[("ps01", "ann")].score) == 0.0
    for key in [("ps01", "ben"), ("ps02", "ann"), ("ps02", "ben")]:
        assert rows[key].status == "missing" and rows[key].score == "" and rows[key].raw_score == ""
