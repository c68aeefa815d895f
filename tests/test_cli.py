"""The console script: clear errors and exit codes, and the run folder it picks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# --- The command line that never misleads (#36): one line, exit 2, no traceback; hints with the run's parameters


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_run_folder_that_is_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    folder = tmp_path / "runs"
    folder.write_text("not a folder")
    for command in ("run", "build", "verify"):
        assert main([command, "--params", "smoke", "--run-dir", str(folder)]) == 2
        assert one_line_error(capsys) == f"error: the run folder {folder} is a file, not a folder: remove it or give another --run-dir"
    assert main(["run", "--params", "smoke", "--run-dir", str(folder / "smoke")]) == 2
    assert one_line_error(capsys) == f"error: cannot make the run folder {folder / 'smoke'}: {folder} is a file, not a folder"


def test_an_unwritable_run_folder_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    from flarelib.compendium import cli

    folder = tmp_path / "smoke"
    folder.mkdir()
    monkeypatch.setattr(cli.os, "access", lambda path, mode: Path(path) != folder)  # root ignores chmod
    assert main(["run", "--params", "smoke", "--run-dir", str(folder)]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"error: cannot write in the run folder {folder} (permission denied): give a --run-dir you can write to")


def test_a_parameter_file_that_is_not_there_lists_the_known_sets(capsys):
    assert main(["run", "--params", "smoke.yml"]) == 2
    err = one_line_error(capsys)
    assert "no parameter file 'smoke.yml'" in err and "archive, demo, paper, smoke, teach" in err


def test_a_list_given_as_one_value_shows_the_form_to_write(capsys):
    assert main(["params", "--params", "smoke", "-p", "datasets=SHARP_ONLY"]) == 2
    err = one_line_error(capsys)
    assert "key 'datasets' takes a list, not one value: write datasets=[SHARP_ONLY]" in err
    assert main(["params", "--params", "smoke", "-p", "datasets=[SHARP_ONLY]"]) == 0


def test_verify_writes_nothing_into_the_run_it_checks_and_its_hint_keeps_the_parameters(tiny, tmp_path, capsys):
    from flarelib.compendium.integrity import HASH_CACHE

    run_dir = tmp_path / "run"
    assert main(["run", "--params", str(tiny.params_file), "-p", "seed=7", "--run-dir", str(run_dir)]) == 0
    (run_dir / HASH_CACHE).unlink()  # verify used to write it back
    tiny.write("03_c", {"max_epochs": 20}, needs=["01_a"], extra="x = 1\n")
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in run_dir.rglob("*")}
    capsys.readouterr()
    assert main(["verify", "--run-dir", str(run_dir)]) == 1
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in run_dir.rglob("*")} == before
    out = capsys.readouterr().out
    assert f"re-run it (flarelib run --params {run_dir}/params.yaml --run-dir {run_dir})" in out
    # following the hint re-makes the run with its own parameters (seed 7), not the default set's
    assert main(["run", "--params", str(run_dir / "params.yaml"), "--run-dir", str(run_dir)]) == 0
    assert "seed: 7" in (run_dir / "params.yaml").read_text()
    assert (run_dir / "params.yaml").read_text().startswith("# Resolved from tiny.yaml at ")
    assert main(["verify", "--params", str(run_dir / "params.yaml")]) == 0  # the run's own file names its folder


def test_build_refuses_stale_chapters_naming_them_and_the_command(tiny, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", "--params", str(tiny.params_file), "--run-dir", str(run_dir)]) == 0
    tiny.write("03_c", {"max_epochs": 20}, needs=["01_a"], extra="x = 1\n")
    capsys.readouterr()
    assert main(["build", "--run-dir", str(run_dir)]) == 1
    err = one_line_error(capsys)
    assert "has stale chapters" in err and ": 03_c;" in err
    assert f"flarelib run --params {run_dir}/params.yaml --run-dir {run_dir}" in err and "--allow-stale" in err


def test_a_book_built_with_allow_stale_says_which_pages_are_stale(tiny, tmp_path, monkeypatch):
    from flarelib.compendium import book

    run_dir = tiny.root / "runs" / "tiny"
    assert main(["run", "--params", "tiny"]) == 0
    tiny.write("03_c", {"max_epochs": 20}, needs=["01_a"], extra="x = 1\n")
    (tiny.root / "_config.yml").write_text((Path(__file__).resolve().parents[1] / "_config.yml").read_text())
    for part in book.MATHJAX_PARTS:  # stand-ins for npm's MathJax
        (tiny.root / "node_modules" / "mathjax" / "es5" / part).parent.mkdir(parents=True, exist_ok=True)
        (tiny.root / "node_modules" / "mathjax" / "es5" / part).write_text("")
    (tiny.root / "book" / "flarelib.css").write_text("")
    monkeypatch.setattr(book, "with_world_beside_sun", lambda *a: None)
    monkeypatch.setattr(book, "with_findings", lambda *a: None)
    staging = book.stage(run_dir, tiny.root, allow_stale=True)
    page = lambda name: "\n".join(c.source for c in __import__("nbformat").read(staging / "notebooks" / f"{name}.ipynb", 4).cells)
    assert "This page is stale: chapter 03_c" in page("03_c")
    assert "flarelib run --params runs/tiny/params.yaml --run-dir runs/tiny" in page("03_c")
    assert "stale" not in page("01_a")
    config = __import__("yaml").safe_load((staging / "_config.yml").read_text())
    assert config["repository"]["url"].startswith("https://github.com/") and config["html"]["use_repository_button"]
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert config["sphinx"]["config"]["thebe_config"]["repository_url"] == config["repository"]["url"]


SLEEPER = "import time\nfrom pathlib import Path\n(Path(run_dir) / 'sleeping').write_text('')\ntime.sleep(120)\n"


def test_ctrl_c_ends_a_run_with_one_line_saying_how_to_resume(tiny, tmp_path):
    import os
    import signal
    import time

    tiny.write("02_b", {"image_size": 64}, extra=SLEEPER)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "flarelib", "run", "--params", str(tiny.params_file), "--run-dir", str(run_dir)]
    # A terminal's foreground job: SIGINT handled, even where pytest itself was started in the background by a
    # shell without job control, which has it ignore SIGINT, as its children would (a handler is not inherited).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, before)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "sleeping").exists():
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.strip() == (f"interrupted: the finished chapters (and a sweep's finished cells) are kept; resume with: "
                           f"flarelib run --params {run_dir}/params.yaml --run-dir {run_dir}")
    tiny.write("02_b", {"image_size": 64})
    assert main(["run", "--params", str(run_dir / "params.yaml")]) == 0
    assert (run_dir / "order.log").read_text().split() == ["01_a", "02_b", "02_b", "03_c"]  # 01_a not run again
