"""Where the course lives: one place for the repository, branch and the links generated from them.

Every notebook's Colab set-up cell and "Open in Colab" badge are generated from these values
(see :func:`setup_cell_source` and :func:`badge_markdown`); ``tests/test_course_links.py`` checks that
each link points at a release notebook that exists in this repository.
"""

from __future__ import annotations

GITHUB_REPOSITORY = "dl-labs/dl-labs"
BRANCH = "main"
PACKAGE = "dl-labs"
#: The term's version of the student edition (``labs publish``): a tag of the published repository.
TERM = "2026-fall"

SETUP_MARKER = "# dl-labs set-up cell"
BADGE_MARKER = "<!-- dl-labs badge -->"


def release_path(assignment: str) -> str:
    """Repository path of an assignment's released notebook, e.g. ``release/ps01/ps01.ipynb``."""
    return f"release/{assignment}/{assignment}.ipynb"


def colab_url(assignment: str) -> str:
    """Colab link that opens the released notebook of ``assignment`` from the configured branch."""
    return f"https://colab.research.google.com/github/{GITHUB_REPOSITORY}/blob/{BRANCH}/{release_path(assignment)}"


def pip_requirement() -> str:
    """The pip requirement that installs the helpers from the configured branch."""
    return f"{PACKAGE} @ git+https://github.com/{GITHUB_REPOSITORY}@{BRANCH}"


def badge_markdown(assignment: str) -> str:
    """Markdown for the "Open in Colab" badge of ``assignment``."""
    return (
        f"{BADGE_MARKER}\n"
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(assignment)})"
    )


def setup_cell_source() -> str:
    """Code of the first notebook cell: installs ``labs`` on Colab, does nothing anywhere else."""
    return (
        f"{SETUP_MARKER}: on Google Colab it installs the course helpers; elsewhere it does nothing.\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:\n'
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{pip_requirement()}"], check=True)'
    )
