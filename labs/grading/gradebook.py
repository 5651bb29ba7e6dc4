"""The main gradebook: course config, template gradebooks for the sandboxes, merging results (with retries)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labs.grading.coursedir import db_url
from labs.grading.jobs import GradeResult


def course_config(root: Path) -> tuple[str, str]:
    """(course_id, db_url) from the course's nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return str(config.CourseDirectory.get("course_id", "default_course") or "default_course"), db_url(root)


def template_gradebook(url: str, course_id: str, assignment: str, path: Path) -> None:
    """Write a fresh SQLite gradebook at ``path`` holding only ``assignment``'s structure from ``url``.

    nbgrader's own tables and ORM classes, filled in one transaction (the per-row ``update_or_create_*``
    calls take seconds); the schema version is copied from the main gradebook, so no ``alembic`` run.
    """
    from nbgrader.api import (
        Assignment,
        Base,
        Gradebook,
        GradeCell,
        MissingEntry,
        Notebook,
        SolutionCell,
        SourceCell,
        TaskCell,
    )
    from sqlalchemy import create_engine, text

    with Gradebook(url, course_id) as main:
        try:
            source = main.find_assignment(assignment)
        except MissingEntry:
            raise RuntimeError(f"{assignment} is not in the gradebook: run `labs release {assignment}` "
                               "(nbgrader generate_assignment) first") from None
        version = main.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine = create_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
        engine.dispose()
        with Gradebook(f"sqlite:///{path}", course_id) as copy:
            target = Assignment(name=source.name, duedate=source.duedate, course_id=course_id)
            rows: list[Any] = [target]
            for nb in source.notebooks:
                notebook = Notebook(name=nb.name, assignment=target, kernelspec=nb.kernelspec)
                rows.append(notebook)
                rows += [GradeCell(name=c.name, notebook=notebook, max_score=c.max_score, cell_type=c.cell_type)
                         for c in nb.grade_cells]
                rows += [SolutionCell(name=c.name, notebook=notebook) for c in nb.solution_cells]
                rows += [TaskCell(name=c.name, notebook=notebook, max_score=c.max_score, cell_type=c.cell_type)
                         for c in nb.task_cells]
                rows += [SourceCell(name=c.name, notebook=notebook, cell_type=c.cell_type, locked=c.locked,
                                    source=c.source, checksum=c.checksum) for c in nb.source_cells]
            copy.db.add_all(rows)
            copy.db.commit()


def notebook_names(url: str, course_id: str, assignment: str) -> list[str]:
    """Names of the assignment's notebooks in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id) as gradebook:
        return sorted(nb.name for nb in gradebook.find_assignment(assignment).notebooks)


def with_retries(action: Callable[[], Any], attempts: int = 30, delay: float = 0.2) -> Any:
    """Run a gradebook write, retrying while the database is locked by another process."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            return action()
        except OperationalError as error:
            if attempt == attempts - 1 or not any(word in str(error).lower() for word in ("locked", "busy")):
                raise
            time.sleep(min(5.0, delay * 1.5**attempt))
    return None


def merge_result(url: str, course_id: str, result: GradeResult, flagged: bool = False) -> None:
    """Write one result into the main gradebook through nbgrader's API, as nbgrader's SaveAutoGrades would.

    A failed submission without scores gets 0 on its autograded cells and is left for manual review.
    Manual scores a grader already gave are never touched.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    def write() -> None:
        with warnings.catch_warnings(), Gradebook(url, course_id) as gradebook:
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips an autoflush warning
            gradebook.update_or_create_student(result.student)
            extra = {"timestamp": result.timestamp} if result.timestamp else {}
            submission = gradebook.update_or_create_submission(result.assignment, result.student, **extra)
            for notebook in submission.notebooks:
                scores = result.scores.get(notebook.name)
                comments = result.comments.get(notebook.name, {})
                for grade in notebook.grades:
                    if scores is not None:
                        grade.auto_score = scores.get(grade.name)
                    else:
                        grade.auto_score = 0.0 if grade.cell.cell_type == "code" else None
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None \
                        or scores is None
                for comment in notebook.comments:
                    comment.auto_comment = comments.get(comment.name)
                notebook.late_submission_penalty = result.late_penalty.get(notebook.name)
                if flagged:
                    notebook.flagged = True
            gradebook.db.commit()

    with_retries(write)


def graded_students(url: str, course_id: str, assignment: str) -> set[str]:
    """Students that have a submission of ``assignment`` in the main gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id) as gradebook:
        return {s.student.id for s in gradebook.assignment_submissions(assignment)}
