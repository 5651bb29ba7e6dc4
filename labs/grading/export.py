"""Grades CSV that tells a missing submission from a zero: an nbgrader export plugin.

nbgrader's own CSV exporter gives every student in the gradebook a row per assignment, and a student who never
submitted gets ``score`` 0.0 like a student who submitted a blank notebook. :class:`StatusCsvExport` writes the
same columns plus ``status``: ``missing`` (no submission: the score columns stay empty), ``needs manual grading``
(written answers not graded yet: the score holds the autograded points so far) or ``graded``. Used by
``labs report`` and ``labs demo`` through ``nbgrader export --exporter=labs.grading.export.StatusCsvExport``.
"""

from __future__ import annotations

import csv
from dataclasses import astuple, dataclass, fields

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

EXPORTER = "labs.grading.export.StatusCsvExport"


@dataclass(frozen=True)
class GradeRow:
    """One student's result on one assignment, as written to the grades CSV."""

    assignment: str
    duedate: str
    timestamp: str
    student_id: str
    last_name: str
    first_name: str
    email: str
    raw_score: str
    late_submission_penalty: str
    score: str
    max_score: str
    status: str


def _text(value: object) -> str:
    """A CSV cell: empty for None."""
    return "" if value is None else str(value)


def grade_row(gradebook: Gradebook, assignment: object, student: object) -> GradeRow:
    """The row of ``student`` for ``assignment`` (nbgrader ORM objects)."""
    common = dict(assignment=assignment.name, duedate=_text(assignment.duedate), student_id=student.id,
                  last_name=_text(student.last_name), first_name=_text(student.first_name),
                  email=_text(student.email), max_score=_text(assignment.max_score))
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        return GradeRow(timestamp="", raw_score="", late_submission_penalty="", score="", status="missing", **common)
    penalty = submission.late_submission_penalty or 0.0
    status = "needs manual grading" if submission.needs_manual_grade else "graded"
    return GradeRow(timestamp=_text(submission.timestamp), raw_score=_text(submission.score),
                    late_submission_penalty=_text(penalty), score=_text(max(0.0, submission.score - penalty)),
                    status=status, **common)


class StatusCsvExport(ExportPlugin):
    """nbgrader's CSV columns plus ``status``; missing submissions have empty scores instead of 0."""

    def export(self, gradebook: Gradebook) -> None:
        """Write the CSV to ``self.to`` (default ``grades.csv``), honouring --assignment and --student."""
        wanted_assignments = {str(a) for a in self.assignment}
        wanted_students = {str(s) for s in self.student}
        with open(self.to or "grades.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([f.name for f in fields(GradeRow)])
            for assignment in gradebook.assignments:
                if wanted_assignments and assignment.name not in wanted_assignments:
                    continue
                for student in gradebook.students:
                    if wanted_students and student.id not in wanted_students:
                        continue
                    writer.writerow(astuple(grade_row(gradebook, assignment, student)))
