"""nbgrader configuration of the dl-labs course (the course directory is the folder of this file)."""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-labs"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# SQLite is the embedded default; larger courses can point this at PostgreSQL (any SQLAlchemy URL).
_default_db = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
c.CourseDirectory.db_url = os.environ.get("LABS_DB_URL", _default_db)

# One problem set per folder: source/<ps>/<ps>.ipynb. Data comes from the `labs` package, never from files
# copied into the assignment folder, so nothing is copied over a submission at autograde.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("replace this line with your answer")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading budgets come from labs.budget(): every cell of a correct notebook runs in seconds under nbgrader.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
# Figures are not drawn while grading: no graded item reads a figure (every plot is in a locked cell and the
# tests check values), and drawing is about a third of the time of a graded ps02 notebook. The kernel's inline
# backend then shows each figure as its one-line text, "<Figure size 1100x1000 with 18 Axes>", in the graded
# copy and the feedback. LABS_GRADED_FIGURES=1 in the grader's environment draws them (grading-budget figures).
if os.environ.get("LABS_GRADED_FIGURES", "").lower() not in ("1", "true", "yes"):
    c.Execute.extra_arguments = ["--InlineBackend.figure_formats=[]"]

# nbgrader gives 0 to a test cell that writes to stderr: drop harmless library warnings and progress bars.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(Warning:|\d+%\|)"
