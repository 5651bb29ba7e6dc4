"""A simulated Colab session: the notebook's own set-up cell installs the student edition, then the notebook runs
to the end in the same kernel, without a restart.

What is real: the set-up cell exactly as released (``labs.course.setup_cell_source``), its
``pip install "dl-labs @ git+https://github.com/<student repository>@<term tag>"``, pip's git checkout of that
tag, the build of the package and the imports that follow. What is simulated, offline:

- Colab itself: a kernel in a throw-away virtual environment that sees the repository's packages (torch,
  numpy, ...) but not ``labs``, with a fake ``google.colab`` module imported at start-up as Colab does;
- GitHub: git's ``url.<local>.insteadOf`` (in a temporary ``GIT_CONFIG_GLOBAL``) sends the student
  repository's URL to a local git repository holding ``labs publish``'s output, tagged with this term;
- the network for pip: ``PIP_NO_INDEX``, no build isolation (setuptools comes from the environment), and
  ``PIP_TARGET``/``PIP_NO_DEPS`` so nothing is written outside the temporary folder (a ``--target`` install
  would otherwise reinstall torch & co.; that the real install changes nothing but the helpers is what
  ``tests/test_student_install.py`` checks with pip's dry-run report against Colab's versions).

The notebook (ps01, solved) runs at the grading budget (``NBGRADER_EXECUTION=validate``). About 30 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell
from notebook_harness import graded_test_ids, nbgrader_meta
from submissions import solved

from labs import course
from labs.grading.publish import publish

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps01"
PROBE_BEFORE = "import importlib.util\nprint('labs before set-up:', importlib.util.find_spec('labs'))"
PROBE_AFTER = ("import labs, sys\nprint('labs after set-up:', labs.__file__)\n"
               "print('grading code:', importlib.util.find_spec('labs.grading'))\n"
               "print('colab:', 'google.colab' in sys.modules)")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})


def _student_repository(folder: Path) -> Path:
    """A git repository with this term's student edition, tagged as the set-up cell expects."""
    publish(ROOT, folder)
    _git("init", "-q", "-b", "main", cwd=folder)
    _git("add", ".", cwd=folder)
    _git("-c", "user.name=course", "-c", "user.email=course@example.org", "commit", "-q", "-m", "student edition",
         cwd=folder)
    _git("tag", course.TERM, cwd=folder)
    return folder


def _colab_like_kernel(base: Path) -> dict[str, str]:
    """A kernel environment without ``labs``: a fresh venv that sees this environment's site-packages (but not
    its editable install of labs) and imports a fake ``google.colab`` at start-up. Returns the environment
    variables for the notebook client."""
    env_dir = base / "colab-venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    target, fake = base / "installed", base / "fake-modules"
    target.mkdir()  # site adds only folders that exist: Colab's site-packages does
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s module in tests."""\n')
    # Order matters: what the set-up cell installs comes first, then the fake Colab module, then the packages
    # Colab already has (this environment's site-packages; a plain path entry, so its .pth files, among them the
    # editable install of labs, are not run).
    (site / "colab_like.pth").write_text(f"{target}\n{fake}\n{sysconfig.get_paths()['purelib']}\n")
    kernels = base / "jupyter" / "kernels" / "colab-like"
    kernels.mkdir(parents=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "colab-like", "language": "python"}
    (kernels / "kernel.json").write_text(json.dumps(spec))
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # noqa: F401  (Colab imports it in every kernel)\n")
    gitconfig = base / "gitconfig"
    repository = _student_repository(base / "student-repository")
    gitconfig.write_text(f'[url "{repository.as_uri()}"]\n'
                         f"\tinsteadOf = https://github.com/{course.STUDENT_REPOSITORY}\n[safe]\n\tdirectory = *\n")
    return {"JUPYTER_PATH": str(base / "jupyter"), "IPYTHONDIR": str(base / "ipython"),
            "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
            "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_TARGET": str(target), "PIP_NO_DEPS": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NBGRADER_EXECUTION": "validate", "OMP_NUM_THREADS": "1"}


def test_setup_cell_installs_the_student_edition_and_the_notebook_runs_without_restart(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    for name, value in _colab_like_kernel(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)  # a checkout on the path would provide labs before the install
    nb = solved(ASSIGNMENT)
    assert course.SETUP_MARKER in nb.cells[1].source and course.pip_requirement() in nb.cells[1].source
    nb.cells.insert(1, new_code_cell(PROBE_BEFORE))
    nb.cells.append(new_code_cell(PROBE_AFTER))
    NotebookClient(nb, kernel_name="colab-like", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()

    text = {i: "".join(o.get("text", "") for o in c.get("outputs", [])) for i, c in enumerate(nb.cells)}
    assert text[1].strip() == "labs before set-up: None", text[1]
    after = text[len(nb.cells) - 1]
    assert f"labs after set-up: {tmp_path / 'installed' / 'labs'}" in after, after
    assert "grading code: None" in after and "colab: True" in after, after
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]
    confirmed = [nbgrader_meta(c)["grade_id"] for c in nb.cells
                 if nbgrader_meta(c).get("grade") and "visible checks passed" in "".join(
                     o.get("text", "") for o in c.get("outputs", []))]
    assert confirmed and set(confirmed) == set(graded_test_ids(nb)), confirmed
