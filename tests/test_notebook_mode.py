"""A chapter run as a notebook, outside `flarelib run` (#36): JupyterLab's way (`jupyter execute`), papermill
with `-p`, Binder (postBuild, start) and Colab's first cell. The choice of run folder and parameters is tested
directly; the end-to-end tests execute chapter 04 in a clone-like copy of the project with no run folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from flarelib.compendium.notebook import RUN_DIR_ENV, RUNNER_ENV, choose, use_run
from flarelib.compendium.params import load_params, to_plain
from flarelib.compendium.runner import write_run_files
from flarelib.compendium.toc import chapters

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def lstm(root: Path = ROOT):
    return next(spec for spec in chapters(root) if spec.name == "04_lstm")


DEFAULTS = {"run_dir": "runs/demo", "source": "synthetic", "seed": 0, "dataset": "FUSED_SHARP", "max_epochs": 20,
            "lstm_patience": 5, "batch_size": 64, "learning_rate": 0.001}


def a_run(folder: Path, name: str = "smoke", overrides: list[str] | None = None) -> Path:
    params, path = load_params(name, overrides)
    write_run_files(folder, params, path)
    return folder


def test_an_existing_run_gives_its_parameters_to_a_notebook_run_with_its_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    run_dir = a_run(tmp_path / "runs" / "smoke")
    choice = choose(lstm(), {**DEFAULTS, "run_dir": str(run_dir)}, DEFAULTS, ROOT)
    assert choice.run_dir == run_dir and choice.params.max_epochs == 2  # the run's, not the cell's 20
    assert "the parameters of the run in" in choice.note and "its params.yaml" in choice.note


def test_a_value_given_that_differs_from_the_run_goes_to_a_folder_of_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    run_dir = a_run(tmp_path / "runs" / "smoke")
    given = {**DEFAULTS, "run_dir": str(run_dir), "max_epochs": 3}
    choice = choose(lstm(), given, DEFAULTS, ROOT)
    assert choice.run_dir.parent == run_dir.parent and choice.run_dir.name.startswith("smoke-")
    assert choice.params.max_epochs == 3 and choice.params.regions_cycle23 == 90  # the run's other values
    assert "max_epochs=3 differs from the run in" in choice.note and "(max_epochs=2)" in choice.note
    assert choose(lstm(), given, DEFAULTS, ROOT).run_dir == choice.run_dir  # the same values, the same folder
    # a value given that the run already has is no conflict
    assert choose(lstm(), {**given, "max_epochs": 2}, DEFAULTS, ROOT).run_dir == run_dir


def test_with_no_run_the_set_named_like_the_folder_or_demo_and_binders_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    named = choose(lstm(), {**DEFAULTS, "run_dir": str(tmp_path / "runs" / "smoke")}, DEFAULTS, ROOT)
    assert named.params == load_params("smoke")[0] and "a new run in" in named.note
    other = choose(lstm(), {**DEFAULTS, "run_dir": str(tmp_path / "mine"), "max_epochs": 1}, DEFAULTS, ROOT)
    assert to_plain(other.params) == {**to_plain(load_params("demo")[0]), "max_epochs": 1}
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "binder"))
    assert choose(lstm(), DEFAULTS, DEFAULTS, ROOT).run_dir == tmp_path / "binder"
    given = {**DEFAULTS, "run_dir": str(tmp_path / "given")}  # a run folder given wins over the environment
    assert choose(lstm(), given, DEFAULTS, ROOT).run_dir == tmp_path / "given"


def test_under_the_runner_nothing_changes(monkeypatch):
    monkeypatch.setenv(RUNNER_ENV, "1")
    namespace = dict(DEFAULTS)
    assert use_run("04_lstm", namespace) is None and namespace == DEFAULTS


COLAB_TAG = "colab"


def colab_cells() -> dict[str, str]:
    return {spec.name: next(c.source for c in nbformat.read(spec.notebook, as_version=4).cells
                            if COLAB_TAG in c.metadata.get("tags", [])) for spec in chapters(ROOT)}


def test_every_chapter_opens_with_the_colab_cell_naming_the_configured_repository():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    cells = colab_cells()
    assert len(set(cells.values())) == 1, "one Colab cell, the same in every chapter"
    cell = next(iter(cells.values()))
    assert f'REPOSITORY = "{url}"' in cell
    for spec in chapters(ROOT):
        nb = nbformat.read(spec.notebook, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert COLAB_TAG in first_code.metadata["tags"] and "remove-cell" in first_code.metadata["tags"]
        assert f'flarelib.use_run("{spec.name}", globals())' in "\n".join(c.source for c in nb.cells)


def test_the_colab_cell_does_nothing_where_the_compendium_is_installed(tmp_path):
    """Run as a script in a folder of its own: it must not clone, install or move anywhere."""
    script = next(iter(colab_cells().values())) + "\nimport os\nprint(os.getcwd())\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path) and list(tmp_path.iterdir()) == []


# --- End to end: a clone-like folder (the project's files, no runs/, no node_modules/) ---------------------


def clone_of_the_project(folder: Path) -> Path:
    """The project's files as a fresh clone has them (tracked and new files, nothing git ignores)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def environment(clone: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (RUNNER_ENV, RUN_DIR_ENV, "FLARE_ROOT")}
    return {**env, "PYTHONPATH": str(clone), "PATH": f"{BIN}:{env['PATH']}", **extra}


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def states(clone: Path, run_dir: str) -> dict[str, str]:
    from flarelib.compendium.verify import verify_run

    return {s.name: s.state for s in verify_run(clone / run_dir, clone)}


def execute(clone: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(list(command), cwd=clone / "notebooks", env=environment(clone, **env), capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def outputs(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return clone_of_the_project(tmp_path_factory.mktemp("clone"))


@pytest.mark.e2e
def test_jupyter_execute_on_a_fresh_clone_makes_what_chapter_04_needs(clone):
    shutil.rmtree(clone / "runs", ignore_errors=True)
    execute(clone, "jupyter", "execute", "04_lstm.ipynb", "--output=04_lstm_executed", **{RUN_DIR_ENV: "runs/smoke"})
    shown = outputs(clone / "notebooks" / "04_lstm_executed.ipynb")
    assert "04_lstm: a new run in runs/smoke with the parameters of smoke.yaml" in shown
    assert "[1/3] 01_data: running ..." in shown and "[3/3] 03_sampling: done in" in shown
    assert (clone / "runs" / "smoke" / "params.yaml").read_text().startswith("# Resolved from smoke.yaml")
    record = json.loads((clone / "runs" / "smoke" / "04_lstm" / "record.json").read_text())
    assert record["params"]["max_epochs"] == 2 and record["numbers"]["epochs"] <= 2
    found = states(clone, "runs/smoke")
    assert [found[n] for n in ("01_data", "02_fusion", "03_sampling")] == ["sound"] * 3


@pytest.mark.e2e
def test_a_notebook_with_other_parameters_leaves_the_existing_run_untouched(clone):
    """After the test above: runs/smoke exists; max_epochs=3 goes to a folder of its own."""
    before = hashes(clone / "runs" / "smoke")
    execute(clone, "papermill", "04_lstm.ipynb", str(clone / "out.ipynb"), "-p", "max_epochs", "3",
            **{RUN_DIR_ENV: "runs/smoke"})
    assert hashes(clone / "runs" / "smoke") == before
    shown = outputs(clone / "out.ipynb")
    assert "04_lstm: max_epochs=3 differs from the run in runs/smoke (max_epochs=2), which is left as it is" in shown
    (own,) = [p for p in (clone / "runs").iterdir() if p.name.startswith("smoke-")]
    assert "[3/3] 03_sampling: unchanged, skipped" in shown  # copied from runs/smoke: their parameters match
    assert json.loads((own / "04_lstm" / "record.json").read_text())["params"]["max_epochs"] == 3


@pytest.mark.e2e
def test_papermill_with_max_epochs_2_on_a_fresh_clone_makes_what_it_needs(clone):
    shutil.rmtree(clone / "runs", ignore_errors=True)
    execute(clone, "papermill", "04_lstm.ipynb", str(clone / "out2.ipynb"), "-p", "max_epochs", "2",
            **{RUN_DIR_ENV: "runs/smoke"})
    shown = outputs(clone / "out2.ipynb")
    assert "a new run in runs/smoke with the parameters of smoke.yaml" in shown and "01_data: running" in shown
    assert json.loads((clone / "runs" / "smoke" / "04_lstm" / "record.json").read_text())["params"]["max_epochs"] == 2


def stub(folder: Path, name: str) -> None:
    """A command that records its arguments and succeeds (pip and npm: the clone's tests must not
    reinstall the environment they run in)."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls.log"\n')
    path.chmod(0o755)


@pytest.mark.e2e
def test_binder_postbuild_and_start_prepare_a_smoke_run_a_chapter_then_uses(clone, tmp_path):
    shutil.rmtree(clone / "runs", ignore_errors=True)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    stub(stubs, "pip")
    stub(stubs, "npm")
    env = environment(clone, PATH=f"{stubs}:{BIN}:{os.environ['PATH']}")
    built = subprocess.run(["bash", "postBuild"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert (stubs / "calls.log").read_text().splitlines() == [
        "pip install --no-deps -e .", "npm install --no-audit --no-fund --no-package-lock"]
    assert set(states(clone, "runs/smoke").values()) == {"sound"}
    started = subprocess.run(["./start", "sh", "-c", f'echo "${RUN_DIR_ENV}"'], cwd=clone, env=env, capture_output=True,
                             text=True, timeout=60)
    assert started.stdout.strip() == "runs/smoke"
    before = hashes(clone / "runs" / "smoke")
    execute(clone, "jupyter", "execute", "04_lstm.ipynb", "--output=04_lstm_binder", **{RUN_DIR_ENV: "runs/smoke"})
    shown = outputs(clone / "notebooks" / "04_lstm_binder.ipynb")
    assert "04_lstm: the parameters of the run in runs/smoke (its params.yaml)" in shown
    assert "03_sampling: unchanged, skipped" in shown
    # the same parameters write the same bytes: the run stays sound (deterministic checkpoints, timings aside)
    assert set(states(clone, "runs/smoke").values()) == {"sound"}
    after = hashes(clone / "runs" / "smoke")
    assert {k: v for k, v in after.items() if k.startswith("04_lstm/") and not k.endswith(".log")} == \
        {k: v for k, v in before.items() if k.startswith("04_lstm/") and not k.endswith(".log")}
