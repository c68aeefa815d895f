"""environment.yml describes the same environment as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name
CONDA_ONLY = {"python", "pip", "nodejs", "distributed"}  # distributed: PyPI's dask[distributed] extra


def pypi_requirements(root) -> dict[str, SpecifierSet]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    lines = project["dependencies"] + extras["test"] + extras["notebook"]
    return {CONDA_NAMES.get(r.name, r.name): r.specifier for r in map(Requirement, lines)}


def conda_requirements(root) -> dict[str, SpecifierSet]:
    env = yaml.safe_load((root / "environment.yml").read_text())
    out = {}
    for line in env["dependencies"]:
        if not isinstance(line, str):
            continue
        name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", line).groups()
        if name not in CONDA_ONLY:
            out[name] = SpecifierSet(spec.replace(" ", ""))
    return out


def test_environment_yml_matches_pyproject(root):
    assert conda_requirements(root) == pypi_requirements(root)


def test_dask_distributed_is_in_both(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert any(Requirement(r).name == "dask" and "distributed" in Requirement(r).extras for r in project["dependencies"])
    env = yaml.safe_load((root / "environment.yml").read_text())
    assert any(str(d).startswith("distributed") for d in env["dependencies"])


def test_torch_is_pinned_to_the_cpu_wheel_first(root):
    """The Makefile installs torch before the package, so pip never resolves a CUDA build for captum."""
    makefile = (root / "Makefile").read_text()
    torch_line = makefile.index("pip install $(TORCH_SPEC)")
    package_line = makefile.index('pip install -e ".[test]"')
    assert torch_line < package_line
    assert "TORCH_SPEC ?= torch==2.13.0" in makefile
