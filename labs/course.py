"""Where the course lives: one place for the repositories, the term and the links generated from them.

Students only ever see the *student edition* (``labs publish``: release notebooks and helpers, no
solutions, hidden tests or grading code), published to :data:`STUDENT_REPOSITORY` and tagged with the
term, :data:`TERM`. Every notebook's Colab set-up cell and "Open in Colab" badge are generated from these
values (see :func:`setup_cell_source` and :func:`badge_markdown`) and point at that tag, never at a moving
branch; ``tests/test_notebooks.py`` checks that each link opens a release notebook that exists here (the
published tree holds the same ``release/`` paths).
"""

from __future__ import annotations

#: The private course repository (sources with solutions, hidden tests, bug catalogues, grading tools).
GITHUB_REPOSITORY = "dl-labs/dl-labs"
BRANCH = "main"
#: The public repository that ``labs publish`` writes, and the tag of this term's version of it.
STUDENT_REPOSITORY = "dl-labs/dl-labs-student"
TERM = "2026-fall"
PACKAGE = "dl-labs"

SETUP_MARKER = "# dl-labs set-up cell"
BADGE_MARKER = "<!-- dl-labs badge -->"
COLAB_PREFIX = f"https://colab.research.google.com/github/{STUDENT_REPOSITORY}/blob/{TERM}/"


def release_path(assignment: str) -> str:
    """Repository path of an assignment's released notebook, e.g. ``release/ps01/ps01.ipynb``."""
    return f"release/{assignment}/{assignment}.ipynb"


def colab_url(assignment: str) -> str:
    """Colab link that opens the released notebook of ``assignment`` from this term's student edition."""
    return COLAB_PREFIX + release_path(assignment)


def pip_requirement() -> str:
    """The pip requirement that installs this term's helpers from the student edition."""
    return f"{PACKAGE} @ git+https://github.com/{STUDENT_REPOSITORY}@{TERM}"


def badge_markdown(assignment: str) -> str:
    """Markdown for the "Open in Colab" badge of ``assignment``."""
    return (
        f"{BADGE_MARKER}\n"
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(assignment)})"
    )


def setup_cell_source() -> str:
    """Code of the first notebook cell: installs ``labs`` on Colab (nothing else changes in the runtime: its
    dependencies are already there), does nothing anywhere else, and says in one sentence what to do if the
    install fails."""
    return (
        f"{SETUP_MARKER}: on Google Colab it installs the course helpers; elsewhere it does nothing.\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:\n'
        f'    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{pip_requirement()}"],\n'
        "                          capture_output=True, text=True)\n"
        "    if _pip.returncode != 0:\n"
        '        raise SystemExit("Could not install the course helpers (no internet connection, or the course '
        'repository moved): check the connection, then run this cell again; if it still fails, tell the course '
        "staff. Do not `pip install labs`: that is an unrelated package.\\n\" + _pip.stderr[-500:])"
    )
