"""Every assignment: clean, valid source; solution validates under nbgrader; release/ is what nbgrader makes."""

from __future__ import annotations

import filecmp
import json
import re

import nbformat
import pytest
from conftest import ROOT, copy_course
from notebook_harness import graded_test_ids, nbgrader_meta

from labs import course
from labs.authoring import course_cells
from labs.grading.coursedir import assignments, nbgrader

ASSIGNMENTS = assignments(ROOT)


def _source(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "source" / name / f"{name}.ipynb", as_version=4)


def test_there_are_assignments():
    assert "ps01" in ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_is_valid_and_has_no_outputs(name):
    nb = _source(name)
    nbformat.validate(nb)
    dirty = [c.get("id") for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells with stored outputs: {dirty}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_test_cell_has_hidden_tests_and_points(name):
    nb = _source(name)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    for grade_id in graded_test_ids(nb):
        cell = cells[grade_id]
        assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source, grade_id
        assert nbgrader_meta(cell)["points"] > 0 and nbgrader_meta(cell)["locked"], grade_id
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_course_cells_and_colab_link(name):
    nb = _source(name)
    expected = course_cells(name)
    assert [c.source for c in nb.cells[:2]] == [c.source for c in expected], "run `labs release` to refresh"
    links = re.findall(r"\((https://colab\.research\.google\.com/github/[^)]+)\)", nb.cells[0].source)
    assert links == [course.colab_url(name)]
    prefix = course.COLAB_PREFIX
    assert links[0].startswith(prefix) and f"/blob/{course.TERM}/" in prefix, "links open a tagged student edition"
    assert (ROOT / links[0].removeprefix(prefix)).is_file(), "the Colab link must open a committed release notebook"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(name):
    text = (ROOT / course.release_path(name)).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "_reference", "HIDDEN"):
        assert marker not in text


@pytest.mark.slow
def test_release_matches_generate_assignment(tmp_path):
    course_dir = copy_course(tmp_path / "course")
    for name in ASSIGNMENTS:
        nbgrader(course_dir, "generate_assignment", name, "--force")
    comparison = filecmp.dircmp(ROOT / "release", course_dir / "release")
    assert not comparison.left_only and not comparison.right_only
    for name in ASSIGNMENTS:
        committed = json.loads((ROOT / course.release_path(name)).read_text())
        fresh = json.loads((course_dir / course.release_path(name)).read_text())
        assert committed == fresh, f"release/{name} is stale: run `make release` and commit"


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_validates_under_nbgrader(tmp_path, name):
    course_dir = copy_course(tmp_path / "course")
    result = nbgrader(course_dir, "validate", f"source/{name}/{name}.ipynb", check=False, quiet=False)
    log = result.stdout[-3000:] + result.stderr[-3000:]
    assert "Success! Your notebook passes all the tests." in result.stdout, log


def test_readme_colab_links_open_committed_release_notebooks():
    links = re.findall(r"\((https://colab\.research\.google\.com/github/[^)]+)\)", (ROOT / "README.md").read_text())
    assert sorted(links) == sorted(course.colab_url(name) for name in ASSIGNMENTS)
