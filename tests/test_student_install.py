"""What a student installs on Colab cannot move the packages the runtime already has.

``test_pip_changes_nothing_but_the_helpers_on_colab`` asks pip itself, offline: a throw-away virtual
environment stands in for a Colab runtime, holding every package of ``tests/colab-constraints.txt`` at Colab's
version (installed metadata only: pip's resolver decides from the installed distributions' names, versions
and requirements, never from their code), and ``pip install --dry-run --report - --no-index`` of a wheel of the
student edition (``labs publish``), with the constraints file, must plan to install exactly the helpers. A
dependency that Colab lacks or whose range excludes Colab's version (e.g. an unbounded ``mlxtend``, which now
requires numpy >= 2.3.5) makes pip either plan an install or upgrade, or, offline, fail to find it: both fail
the test. The metadata checks below say the same thing more directly, with a shorter message.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")

CONSTRAINTS = ROOT / "tests" / "colab-constraints.txt"


def _colab_versions() -> dict[str, Version]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            pins[requirement.name.lower()] = Version(next(iter(requirement.specifier)).version)
    return pins


def student_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of the student edition (``labs publish`` into a temporary folder, then ``pip wheel``), built once
    per test session and shared by the tests that install it."""
    from labs.grading.publish import publish

    wheels = tmp_path_factory.getbasetemp() / "student-wheel"
    found = sorted(wheels.glob("*.whl"))
    if found:
        return found[0]
    edition = tmp_path_factory.mktemp("student-edition") / "edition"
    publish(ROOT, edition)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", str(edition), "-w", str(wheels)], check=True)
    (wheel,) = wheels.glob("*.whl")
    return wheel


def colab_like_environment(folder: Path) -> Path:
    """A virtual environment whose installed distributions are Colab's (names and versions of
    ``tests/colab-constraints.txt``, as metadata only); returns its interpreter."""
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(folder)
    python = folder / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for name, version in _colab_versions().items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("colab-like\n")
        (info / "RECORD").write_text("")
    return python


@pytest.mark.slow
def test_pip_changes_nothing_but_the_helpers_on_colab(tmp_path_factory):
    """About 10 s: pip's own dry run, offline, against the Colab-like environment."""
    wheel = student_wheel(tmp_path_factory)
    python = colab_like_environment(tmp_path_factory.mktemp("colab") / "venv")

    def dry_run(*requirements: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--dry-run", "--report", "-", "--quiet",
             "--no-index", "--find-links", str(wheel.parent), "--disable-pip-version-check", "-c", str(CONSTRAINTS),
             *requirements], capture_output=True, text=True)

    done = dry_run(str(wheel))
    assert done.returncode == 0, (
        "pip could not install the helpers without a package Colab does not have at a matching version:\n"
        + done.stderr[-2000:])
    report = json.loads(done.stdout)
    planned = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
    assert planned == {"dl-labs": wheel.name.split("-")[1]}, f"pip would also install or change: {planned}"
    # The check has teeth: what mlxtend 0.25 asks for cannot pass in this environment.
    assert dry_run(str(wheel), "numpy>=2.3.5").returncode != 0


def test_every_student_dependency_is_already_satisfied_on_colab():
    """pip keeps an installed package that satisfies a requirement: if Colab's version satisfies every
    requirement of the helpers, installing them adds only the helpers themselves."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    colab = _colab_versions()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower()
        assert name in colab, f"{name} is not preinstalled on Colab: installing it could pull new versions"
        assert requirement.specifier.contains(colab[name]), f"{line} would change Colab's {name} {colab[name]}"


def test_mlxtend_is_not_a_student_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(Requirement(line).name.lower() == "mlxtend" for line in project["dependencies"])
    assert "files/*.npz" in str(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"])
