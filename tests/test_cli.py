"""The console script: clear errors and exit codes, and the run folder it picks."""

from __future__ import annotations

import subprocess
import sys

from flarelib.compendium.cli import main


def test_misspelled_override_exits_2_naming_key_and_file(capsys):
    assert main(["run", "--params", "smoke", "-p", "max_epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "smoke.yaml" in err and "unknown key 'max_epoch'" in err and "did you mean 'max_epochs'" in err


def test_params_prints_the_resolved_set(capsys):
    assert main(["params", "--params", "paper", "-p", "seed=4"]) == 0
    out = capsys.readouterr().out
    assert "source: jsoc" in out and "seed: 4" in out and "image_size: 128" in out


def test_a_failing_chapter_exits_1_with_the_chapter_named(tiny, capsys):
    tiny.write("02_b", {"image_size": 64}, extra="1 / 0\n")
    code = main(["run", "--params", str(tiny.params_file), "--run-dir", str(tiny.root / "runs" / "t")])
    captured = capsys.readouterr()
    assert code == 1
    assert "error: chapter 02_b failed" in captured.err and "ZeroDivisionError" in captured.err
    assert "[1/3] 01_a: done" in captured.out
    assert (tiny.root / "runs" / "t" / "01_a" / "artifact.txt").exists()


def test_run_folder_defaults_to_runs_slash_parameter_set(tiny, capsys):
    assert main(["run", "--params", "tiny", "--only", "01_a"]) == 0
    assert (tiny.root / "runs" / "tiny" / "01_a" / "01_a.ipynb").exists()


def test_python_dash_m_flarelib_works():
    completed = subprocess.run([sys.executable, "-m", "flarelib", "params", "--params", "smoke"],
                               capture_output=True, text=True)
    assert completed.returncode == 0 and "image_size: 32" in completed.stdout
