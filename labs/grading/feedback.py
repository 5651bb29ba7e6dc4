"""Feedback stage: nbgrader's ``generate_feedback`` without revealing hidden tests (nbgrader issue #917).

Plain nbgrader renders the autograded notebook, whose test cells hold the hidden tests (nbgrader put them
back to grade), and their tracebacks quote hidden lines. :class:`HideHiddenTests` runs first in nbgrader's
``GenerateFeedback`` converter and, for every graded test cell, cuts exactly the hidden region out of the
source (nbgrader's own ``ClearHiddenTests``) and replaces a traceback that ran through hidden code by the
error itself (``CheckFailed: gradient of sum(x^2 sin x) ...``): the student still learns which check failed
and why. In the outputs of those cells, a line that *is* a hidden-test line is redacted too. Nothing else
is touched: locked code, visible tests and task text that happen to share words with a hidden line stay.

Feedback may go out before the written answers are graded by hand. nbgrader then shows such an answer as
"Score: 0" and counts it as 0 in the total; :class:`MarkUngraded` marks it, and the page says "not graded
yet" for it and, under the title, that manual grading is pending and how many points wait for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from labs.authoring import nbgrader_meta

REDACTED = "[line of a hidden test removed]"
#: Long failure messages wrap instead of running off the page.
WRAP_STYLE = "<style>pre, .output_text pre { white-space: pre-wrap; overflow-wrap: anywhere; }</style>"
TRACEBACK_NOTE = "(the traceback is not shown: it runs through hidden tests)"
#: Score that :class:`MarkUngraded` gives an answer still waiting for a grader (scores are never negative);
#: :func:`show_pending` renders it as :data:`NOT_GRADED`.
PENDING_SCORE = -1.0
NOT_GRADED = "not graded yet"
PENDING_NOTE_CLASS = "manual-grading-pending"


def hidden_regions(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> list[str]:
    """The lines of ``source`` between the hidden-test delimiters."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, the tracebacks that run through them, and hidden lines echoed in their outputs."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        self._clear = ClearHiddenTests(parent=self, enforce_metadata=False)
        self._hidden: dict[str, set[str]] = {}
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            for cell in notebook.source_cells:
                lines = hidden_regions(cell.source or "", self._clear.begin_test_delimeter,
                                       self._clear.end_test_delimeter)
                if lines:
                    self._hidden[cell.name] = {line.strip() for line in lines if line.strip()}
        return super().preprocess(nb, resources)

    @staticmethod
    def _redact(text: str, hidden: set[str]) -> str:
        """``text`` with every line that is one of the ``hidden`` lines replaced by a note."""
        if not hidden or not isinstance(text, str):
            return text
        return "\n".join(REDACTED if line.strip() in hidden else line for line in text.split("\n"))

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        hidden = set(self._hidden.get(grade_id, set()))
        hidden.update(line.strip() for line in hidden_regions(
            cell.source, self._clear.begin_test_delimeter, self._clear.end_test_delimeter) if line.strip())
        cell, resources = self._clear.preprocess_cell(cell, resources, index)  # nbgrader cuts the region
        if not hidden:
            return cell, resources
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                output["evalue"] = self._redact(output.get("evalue", ""), hidden)
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}", TRACEBACK_NOTE]
            elif kind == "stream":
                output["text"] = self._redact(output.get("text", ""), hidden)
            elif kind in ("display_data", "execute_result"):
                for mime, value in list(output.get("data", {}).items()):
                    if mime.startswith("text/") or mime.endswith("json"):
                        output["data"][mime] = self._redact(value, hidden) if isinstance(value, str) else value
        return cell, resources


def awaiting_grader(grade: Any) -> bool:
    """True for an nbgrader ``Grade`` that needs a human and has not had one yet (e.g. an answered written
    question before manual grading)."""
    return bool(grade.needs_manual_grade) and grade.manual_score is None


class MarkUngraded(NbGraderPreprocessor):
    """Runs after nbgrader's ``GetGrades``: gives every answer that waits for manual grading the score
    :data:`PENDING_SCORE` (rendered "not graded yet") and records them in ``resources["nbgrader"]["pending"]``
    as ``{grade_id: max_score}``."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            submission = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            self._pending = {grade.name: grade.max_score for grade in submission.grades if awaiting_grader(grade)}
        info["pending"] = dict(self._pending)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and meta.get("grade_id") in self._pending:
            cell.metadata.nbgrader["score"] = PENDING_SCORE
        return cell, resources


def show_pending(html: str, pending: dict[str, float]) -> str:
    """The feedback page ``html`` with pending answers shown as "not graded yet" and, under the title, a note
    that manual grading is pending (``pending``: grade_id -> points of each answer waiting for a grader)."""
    html = html.replace(f"Score: {PENDING_SCORE} / ", f"Score: {NOT_GRADED} / ")
    if not pending or PENDING_NOTE_CLASS in html:
        return html
    count, points = len(pending), sum(pending.values())
    note = (f'<p class="{PENDING_NOTE_CLASS}"><b>Manual grading pending:</b> {count} answer'
            f'{"s" if count != 1 else ""} worth {points:g} point{"s" if points != 1 else ""} '
            f"{'are' if count != 1 else 'is'} {NOT_GRADED}; the score above counts "
            f"{'them' if count != 1 else 'it'} as 0 until a grader has marked {'them' if count != 1 else 'it'}."
            "</p>")
    return html.replace("</h4>", "</h4>\n" + note, 1)


def generate_feedback(root: Path, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Render ``feedback/<student>/<assignment>/*.html`` for graded students with hidden tests hidden."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades
    from traitlets.config.loader import PyFileConfigLoader

    from labs.grading.coursedir import db_url

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url(root)
    config.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, MarkUngraded, CSSHTMLHeaderPreprocessor]
    graded = sorted(p.parent.name for p in (root / "autograded").glob(f"*/{assignment}") if p.is_dir())
    written: list[Path] = []
    for student in students or graded:
        if student not in graded:
            continue
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        converter = GenerateFeedback(coursedir=coursedir, config=config)
        converter.force = True
        converter.start()
        pages = sorted((root / "feedback" / student / assignment).glob("*.html"))
        for page in pages:
            wrap_long_lines(page)
            page.write_text(show_pending(page.read_text(), pending_answers(root, assignment, page.stem, student)))
        written.extend(pages)
    return written


def wrap_long_lines(page: Path) -> None:
    """Add the style that wraps long lines of code and output to a feedback page (once)."""
    html = page.read_text()
    if WRAP_STYLE not in html and "</head>" in html:
        page.write_text(html.replace("</head>", WRAP_STYLE + "\n</head>", 1))


def pending_answers(root: Path, assignment: str, notebook: str, student: str) -> dict[str, float]:
    """grade_id -> points of each answer of ``student`` in ``notebook`` that waits for manual grading."""
    from nbgrader.api import Gradebook

    from labs.grading.coursedir import db_url

    with Gradebook(db_url(root)) as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment, student)
        return {grade.name: grade.max_score for grade in submission.grades if awaiting_grader(grade)}
