"""The student edition: no solution, hidden test or grading code; it installs offline and runs the notebooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_course
from notebook_harness import HIDDEN_TESTS, SOLUTION_REGION

from labs.cli import main
from labs.grading.publish import MIN_LEAK, publish

pytestmark = pytest.mark.xdist_group("publish")  # one worker runs this module (module fixtures)


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("student") / "edition"
    publish(ROOT, dest)
    return dest


def _region_lines() -> set[str]:
    """Lines that only the solution and hidden-test regions of the source notebooks hold (not also a locked cell,
    a visible test or the helpers), found independently of labs.grading.publish."""
    secret, public = set(), set()
    for path in (ROOT / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            regions = [m.group(2) for m in SOLUTION_REGION.finditer(cell.source)]
            regions += [m.group(0) for m in HIDDEN_TESTS.finditer(cell.source)]
            secret.update(line.strip() for region in regions for line in region.splitlines()
                          if len(line.strip()) >= MIN_LEAK and "###" not in line)
            outside = HIDDEN_TESTS.sub("", SOLUTION_REGION.sub("", cell.source))
            public.update(line.strip() for line in outside.splitlines())
    for path in (ROOT / "labs").rglob("*.py"):
        if "grading" not in path.parts:
            public.update(line.strip() for line in path.read_text().splitlines())
    return secret - public


def test_edition_holds_only_what_students_need(edition):
    top = sorted(p.name for p in edition.iterdir())
    assert top == ["README.md", "labs", "pyproject.toml", "release"]
    assert not (edition / "labs" / "grading").exists() and not (edition / "labs" / "cli.py").exists()
    assert (edition / "labs" / "data" / "files" / "mnist-sample-5000.npz").is_file()
    protected = _region_lines()
    assert len(protected) > 100
    for path in (p for p in edition.rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".toml", ".ipynb")):
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        leaked = [line for line in text.splitlines() if line.strip() in protected]
        assert not leaked, f"{path.relative_to(edition)} publishes {leaked[:2]}"


def test_a_release_with_a_solution_line_is_refused(tmp_path):
    course = copy_course(tmp_path / "course", assignments=("ps01",))
    (course / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (course / "labs").symlink_to(ROOT / "labs")
    path = course / "release" / "ps01" / "ps01.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].source += "\npoint = x.detach().clone().requires_grad_(True)"
    nbformat.write(nb, path)
    assert main(["--course", str(course), "publish", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_edition_installs_offline_and_runs_a_solved_notebook(edition, tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    str(edition), "-w", str(wheels)], check=True)
    (wheel,) = wheels.glob("*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target),
                    str(wheel)], check=True)
    assert not (target / "labs" / "grading").exists()
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(1, sys.argv[2])\n"
        "import labs; assert labs.__file__.startswith(sys.argv[1]), labs.__file__\n"
        "from notebook_harness import load_source, run_cells, graded_test_ids\n"
        "nb = load_source('ps01'); result = run_cells(nb)\n"
        "assert result.passed == set(graded_test_ids(nb)) and not result.failed, result.failed\n"
        "print('ok', labs.__file__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target), str(ROOT / "tests")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
