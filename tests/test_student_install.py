"""What a student installs on Colab cannot move the packages the runtime already has."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def _colab_versions() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "tests" / "colab-constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            pins[requirement.name.lower()] = Version(next(iter(requirement.specifier)).version)
    return pins


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
