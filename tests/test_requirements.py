"""requirements.txt, pyproject.toml and environment.yml list the same packages with the same version ranges.

Issue 2: version ranges (not exact pins) in requirements.txt that install the package itself too, and an
environment.yml (conda-forge) with the same packages; this test checks that the lists agree. ``packaging``
is a dependency of pytest, so it is always here; environment.yml is read with a small parser of its
(flat) format, so no YAML library is needed.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
#: conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}


def _requirements_txt():
    reqs, editable = {}, []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-e"):
            editable.append(line[2:].strip())
            continue
        r = Requirement(line)
        reqs[canonicalize_name(r.name)] = r.specifier
    return reqs, editable


def _pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = data["project"]
    deps = {canonicalize_name(Requirement(d).name): Requirement(d).specifier for d in project["dependencies"]}
    return project, deps


def _environment_yml():
    """channels, conda dependencies {name: spec} and the pip list of a flat environment.yml."""
    path = REPO / "environment.yml"
    assert path.exists(), "environment.yml is missing (issue 2: a conda-forge alternative with the same packages)"
    channels, conda, pip = [], {}, []
    section = None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            section = line.split(":", 1)[0].strip()
            continue
        item = line.strip()
        if item == "- pip:":
            section = "pip"
            continue
        assert item.startswith("- "), f"environment.yml: cannot read {raw!r}"
        item = item[2:].strip()
        if section == "channels":
            channels.append(item)
        elif section == "pip":
            pip.append(item)
        elif section == "dependencies":
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", item)
            conda[m.group(1)] = m.group(2).replace(" ", "")
    return channels, conda, pip


def test_requirements_are_ranges_and_install_the_package():
    reqs, editable = _requirements_txt()
    assert editable == ["."], "requirements.txt must install the package itself (-e .)"
    for name, spec in reqs.items():
        ops = {s.operator for s in spec}
        assert "==" not in ops and "===" not in ops, f"{name}: exact pin {spec}; use a range"
        assert ">=" in ops and "<" in ops, f"{name}: {spec} should be a range with a lower and an upper bound"


def test_pyproject_dependencies_match_requirements():
    project, deps = _pyproject()
    reqs, _ = _requirements_txt()
    assert project["name"].replace("-", "_") == "ntk_teach"
    assert SpecifierSet(project["requires-python"]) == SpecifierSet(">=3.10")
    for name, spec in deps.items():
        assert name in reqs, f"{name} is a package dependency but not in requirements.txt"
        assert reqs[name] == spec, f"{name}: pyproject {spec} vs requirements.txt {reqs[name]}"
    # the runtime dependencies the package imports are declared
    for needed in ("torch", "numpy", "scipy"):
        assert needed in deps


def test_environment_yml_matches_requirements():
    channels, conda, pip = _environment_yml()
    project, _ = _pyproject()
    reqs, _ = _requirements_txt()
    assert channels == ["conda-forge"]
    assert "python" in conda and SpecifierSet(conda.pop("python")) == SpecifierSet(project["requires-python"])
    conda.pop("pip", None)
    assert "-e ." in pip, "environment.yml must install the package (pip: -e .)"
    env = {canonicalize_name(CONDA_TO_PYPI.get(k, k)): SpecifierSet(v) for k, v in conda.items()}
    pip_reqs = {canonicalize_name(Requirement(p).name): Requirement(p).specifier for p in pip if p != "-e ."}
    env.update(pip_reqs)
    assert sorted(env) == sorted(reqs), (
        f"only in environment.yml: {sorted(set(env) - set(reqs))}; only in requirements.txt: "
        f"{sorted(set(reqs) - set(env))}")
    for name, spec in reqs.items():
        assert env[name] == spec, f"{name}: environment.yml {env[name]} vs requirements.txt {spec}"
    assert "torch" not in conda and "pytorch" in {k for k in _environment_yml()[1]}, "conda-forge calls it pytorch"


def test_installed_versions_satisfy_the_ranges():
    """The environment the tests run in is inside the declared ranges (a range that excludes it is wrong)."""
    reqs, _ = _requirements_txt()
    checked = 0
    for name, spec in reqs.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. a browser-test dependency not installed here
        assert spec.contains(version, prereleases=True), f"{name} {version} is outside {spec}"
        checked += 1
    assert checked >= 3
