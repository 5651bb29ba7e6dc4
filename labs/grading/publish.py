"""Publish stage: write the student edition of the course, the only tree students (and Colab) ever see.

The course repository holds ``source/`` (solutions, hidden tests) and ``tests/cases/`` (answers with their
bugs), so it stays private. :func:`publish` writes what students need and nothing else:

* ``release/<ps>/<ps>.ipynb``: the student notebooks, exactly as ``labs release`` made them;
* ``labs/``: the helpers (device, seeding, budgets, data with the bundled offline sets, checks), without the
  grading pipeline, the command line or the authoring tools;
* ``pyproject.toml`` (the helpers' own dependencies, which Colab already satisfies) and a student README.

:func:`leaked_lines` is the guard: any line of a source notebook's solution or hidden-test region found in the
published tree. The instructor pushes the tree to the repository named in :mod:`labs.course` and tags it
with the term (``course.TERM``); every Colab badge and set-up cell points at that tag.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from labs import course

#: Parts of the labs package that stay with the course staff.
STAFF_ONLY = ("grading", "cli.py", "__main__.py", "authoring.py", "__pycache__")
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
#: Region lines too generic to count as a leak (``return x``, ``pass``, closing brackets).
MIN_LEAK = 20

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{package}"
version = "{version}"
description = "Course helpers for the dl-labs notebooks (student edition, {term})."
readme = "README.md"
requires-python = ">=3.10"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = ["labs*"]

[tool.setuptools.package-data]
"labs.data" = ["files/*.npz"]
"""

README = """# dl-labs ({term})

The notebooks of the course, to open on Google Colab or in JupyterLab, and the `labs` helpers they use.

| problem set | Colab |
| --- | --- |
{rows}

**On Colab**: open the badge; the first cell installs the helpers (nothing else changes in the runtime).
**Locally**: `pip install .` in this folder (Python 3.10+, it brings torch if you have none), then open
`release/<ps>/<ps>.ipynb` in JupyterLab. Write your code where it says `# YOUR CODE HERE`, run the test cell
under each answer, and before you submit use *Restart Kernel and Run All Cells* (Colab: *Runtime -> Restart
session and run all*). Visible tests check the common mistakes; more checks run when your notebook is graded.
"""


def _dependencies(root: Path) -> list[str]:
    """The helpers' runtime dependencies, read from the course's pyproject.toml."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return list(tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"])


def publish(root: Path, dest: Path, assignments: list[str] | None = None) -> list[str]:
    """Write the student edition of the course at ``root`` into ``dest`` (emptied first); returns the assignments.

    Raises ``RuntimeError`` if any line of a solution or hidden test would be published.
    """
    from labs import __version__
    from labs.grading.coursedir import assignments as course_assignments

    names = assignments or course_assignments(root)
    missing = [name for name in names if not (root / course.release_path(name)).is_file()]
    if missing:
        raise RuntimeError(f"no release notebook for {', '.join(missing)}: run `labs release` first")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in names:
        target = dest / course.release_path(name)
        target.parent.mkdir(parents=True)
        shutil.copy2(root / course.release_path(name), target)
    shutil.copytree(root / "labs", dest / "labs", ignore=shutil.ignore_patterns(*STAFF_ONLY, "*.pyc"))
    (dest / "pyproject.toml").write_text(PYPROJECT.format(package=course.PACKAGE, version=__version__,
                                                          term=course.TERM, dependencies=_dependencies(root)))
    rows = "\n".join(f"| {name} | [open]({course.colab_url(name)}) |" for name in names)
    (dest / "README.md").write_text(README.format(term=course.TERM, rows=rows))
    leaks = leaked_lines(root, dest)
    if leaks:
        shutil.rmtree(dest)
        raise RuntimeError(f"the student edition would publish {len(leaks)} solution or hidden-test line(s), "
                           f"e.g. {leaks[0]!r}: nothing written")
    return names


def protected_lines(root: Path) -> set[str]:
    """The lines (stripped, at least MIN_LEAK characters) that only the solution and hidden-test regions of the
    source notebooks contain: a line that also stands in a locked cell, a visible test or the student helpers
    (``with torch.no_grad():``) is public by design and not a leak."""
    import nbformat

    secret: set[str] = set()
    public: set[str] = set()
    for path in sorted((root / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            outside = cell.source
            for pattern in (SOLUTION, HIDDEN):
                for region in pattern.findall(cell.source):
                    secret.update(line.strip() for line in region.splitlines() if len(line.strip()) >= MIN_LEAK)
                outside = pattern.sub("", outside)
            public.update(line.strip() for line in outside.splitlines())
    for path in (root / "labs").rglob("*.py"):
        if not any(part in STAFF_ONLY for part in path.relative_to(root / "labs").parts):
            public.update(line.strip() for line in path.read_text().splitlines())
    return secret - public


def leaked_lines(root: Path, tree: Path) -> list[str]:
    """Protected lines (see :func:`protected_lines`) that appear in any text file of ``tree``, line by line;
    notebooks are compared cell line by cell line."""
    import json

    protected = protected_lines(root)
    found: set[str] = set()
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".toml", ".ipynb")):
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(cell.get("source", "")) for cell in json.loads(text).get("cells", []))
        found.update(line.strip() for line in text.splitlines() if line.strip() in protected)
    return sorted(found)
