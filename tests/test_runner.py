"""The runner: order from _toc.yml, skip-on-unchanged, prerequisites, selection, failure reporting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flarelib.compendium.params import load_params
from flarelib.compendium.runner import MANIFEST, RunError, run_chapters, select
from flarelib.compendium.toc import chapters


def run(tiny, run_dir: Path, overrides: list[str] | None = None, **options) -> dict[str, str]:
    params, path = load_params(tiny.params_file, overrides)
    results = run_chapters(params, path, run_dir, root=tiny.root, log=lambda _: None, **options)
    return {r.name: r.status for r in results}


def order(run_dir: Path) -> list[str]:
    return (run_dir / "order.log").read_text().split()


def test_chapters_run_in_toc_order_and_inject_declared_parameters(tiny, tmp_path):
    run_dir = tmp_path / "run"
    assert run(tiny, run_dir) == {"01_a": "ran", "02_b": "ran", "03_c": "ran"}
    assert order(run_dir) == ["01_a", "02_b", "03_c"]
    manifest = json.loads((run_dir / "02_b" / MANIFEST).read_text())
    assert manifest["status"] == "ok"
    assert manifest["parameters"] == {"image_size": 32, "run_dir": str(run_dir)}  # from tiny.yaml, not the cell
    assert (run_dir / "02_b" / "02_b.ipynb").exists()
    assert "image_size: 32" in (run_dir / "params.yaml").read_text()


def test_the_toc_order_is_the_run_order_even_when_names_sort_otherwise(tiny, tmp_path):
    toc = (tiny.root / "_toc.yml").read_text()
    toc = toc.replace("notebooks/01_a", "SWAP").replace("notebooks/02_b", "notebooks/01_a").replace("SWAP", "notebooks/02_b")
    (tiny.root / "_toc.yml").write_text(toc)
    assert [c.name for c in chapters(tiny.root)] == ["02_b", "01_a", "03_c"]
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    assert order(run_dir) == ["02_b", "01_a", "03_c"]


def test_unchanged_chapters_are_skipped_and_force_reruns(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    assert run(tiny, run_dir) == {"01_a": "skipped", "02_b": "skipped", "03_c": "skipped"}
    assert order(run_dir) == ["01_a", "02_b", "03_c"]
    assert run(tiny, run_dir, force=True) == {"01_a": "ran", "02_b": "ran", "03_c": "ran"}


def test_a_parameter_change_reruns_the_chapter_that_declares_it_and_its_dependents(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    # image_size is declared by 02_b only; 03_c needs only 01_a, so it is untouched
    assert run(tiny, run_dir, ["image_size=48"]) == {"01_a": "skipped", "02_b": "ran", "03_c": "skipped"}
    # seed is declared by 01_a, which every later chapter depends on (02_b by default, 03_c by metadata)
    assert run(tiny, run_dir, ["image_size=48", "seed=2"]) == {"01_a": "ran", "02_b": "ran", "03_c": "ran"}


def test_an_edited_notebook_reruns(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    tiny.write("03_c", {"max_epochs": 20}, needs=["01_a"], extra="x = 1\n")
    assert run(tiny, run_dir) == {"01_a": "skipped", "02_b": "skipped", "03_c": "ran"}


def test_only_reruns_one_chapter_from_earlier_artifacts(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    assert run(tiny, run_dir, only=["02_b"], force=True) == {"02_b": "ran"}
    assert order(run_dir) == ["01_a", "02_b", "03_c", "02_b"]


def test_only_on_a_fresh_folder_makes_the_chapters_it_reads_first(tiny, tmp_path):
    assert run(tiny, tmp_path / "fresh", only=["03_c"]) == {"01_a": "ran", "03_c": "ran"}
    assert order(tmp_path / "fresh") == ["01_a", "03_c"]  # not 02_b, which 03_c does not read


def test_only_without_the_prerequisites_and_no_remake_names_the_chapter_and_its_command(tiny, tmp_path):
    run_dir = tmp_path / "fresh"
    with pytest.raises(RunError, match=rf"need 01_a.*--params {run_dir}/params.yaml --run-dir {run_dir} --from 01_a"):
        run(tiny, run_dir, only=["03_c"], no_remake=True)


def test_from_runs_a_chapter_and_all_after_it(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    assert run(tiny, run_dir, start="b", force=True) == {"02_b": "ran", "03_c": "ran"}


def test_selection_by_prefix_or_topic_and_clear_errors(tiny):
    specs = chapters(tiny.root)
    assert select(specs, ["c"], None) == ["03_c"]
    assert select(specs, ["02"], None) == ["02_b"]
    assert select(specs, None, "02_b") == ["02_b", "03_c"]
    with pytest.raises(RunError, match="no single chapter matches 'zz'"):
        select(specs, ["zz"], None)
    with pytest.raises(RunError, match="either --only or --from"):
        select(specs, ["a"], "b")


def test_a_failing_chapter_is_named_with_its_cell_and_earlier_artifacts_are_kept(tiny, tmp_path):
    run_dir = tmp_path / "run"
    tiny.write("02_b", {"image_size": 64}, extra="raise ValueError('the magnetogram is upside down')\n")
    with pytest.raises(RunError) as caught:
        run(tiny, run_dir)
    message = str(caught.value)
    assert "chapter 02_b failed in cell In [3] (cell 4 of the executed notebook)" in message
    assert "which begins: 'from pathlib import Path'" in message
    assert "ValueError: the magnetogram is upside down" in message
    assert str(run_dir / "02_b" / "02_b.ipynb") in message
    assert (run_dir / "01_a" / "artifact.txt").read_text() == "made by 01_a"
    assert json.loads((run_dir / "02_b" / MANIFEST).read_text())["status"] == "failed"
    assert not (run_dir / "03_c").exists()
    # once fixed, the failed chapter runs again (never skipped) and the good one is reused
    tiny.write("02_b", {"image_size": 64})
    assert run(tiny, run_dir) == {"01_a": "skipped", "02_b": "ran", "03_c": "ran"}


def test_a_chapter_declaring_an_unknown_parameter_is_rejected(tiny, tmp_path):
    tiny.write("02_b", {"imag_size": 64})
    with pytest.raises(RunError, match=r"02_b declares parameters that no parameter set has: \['imag_size'\]"):
        run(tiny, tmp_path / "run")


def test_needs_must_name_earlier_chapters(tiny, tmp_path):
    tiny.write("01_a", {"seed": 0}, needs=["03_c"])
    with pytest.raises(RunError, match=r"01_a needs \['03_c'\], which do not come before it"):
        run(tiny, tmp_path / "run")


def test_a_rerun_clears_stale_artifacts_of_that_chapter(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    stale = run_dir / "02_b" / "stale.txt"
    stale.write_text("from an older run")
    run(tiny, run_dir, only=["02_b"], force=True)
    assert not stale.exists()


def test_a_chapter_the_source_cannot_feed_becomes_a_page_that_says_so(tiny, tmp_path):
    import nbformat

    path = tiny.root / "notebooks" / "02_b.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.metadata["flarelib"] = {"requires": ["magnetograms"]}
    nbformat.write(nb, path)
    run_dir = tmp_path / "run"
    assert run(tiny, run_dir, ["source=archive"]) == {"01_a": "ran", "02_b": "not applicable", "03_c": "ran"}
    assert order(run_dir) == ["01_a", "03_c"]  # nothing of 02_b was executed
    page = nbformat.read(run_dir / "02_b" / "02_b.ipynb", as_version=4)
    assert page.cells[0].source == "# A chapter" and "archive source has no magnetograms" in page.cells[1].source
    record = json.loads((run_dir / "02_b" / "record.json").read_text())
    assert record["skipped"] == "the archive source has no magnetograms"
    assert run(tiny, run_dir, ["source=archive"])["02_b"] == "skipped"  # unchanged: not redone
    assert run(tiny, tmp_path / "synthetic")["02_b"] == "ran"  # a source with magnetograms runs it


HOLD_LOCK = """
import sys, time
from pathlib import Path
from flarelib.compendium.lock import RunLock
with RunLock(Path(sys.argv[1]), log=lambda _: None):
    print("locked", flush=True)
    time.sleep(120)
"""


def _holder(run_dir: Path):
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_run_on_a_folder_in_use_refuses_at_once_naming_the_holder(tiny, tmp_path):
    import time

    run_dir = tmp_path / "run"
    holder = _holder(run_dir)
    try:
        began = time.perf_counter()
        with pytest.raises(RunError, match=rf"in use by another flarelib run: process {holder.pid} on host .*, started 20"):
            run(tiny, run_dir)
        assert time.perf_counter() - began < 5 and not (run_dir / "01_a").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_run_is_stale_and_taken_over(tiny, tmp_path):
    import signal

    run_dir = tmp_path / "run"
    holder = _holder(run_dir)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lines = []
    params, path = load_params(tiny.params_file)
    run_chapters(params, path, run_dir, root=tiny.root, log=lines.append)
    assert any(f"its last holder (process {holder.pid} on host" in line and "no longer running" in line for line in lines)
    assert (run_dir / ".lock").read_text() == ""  # a clean exit leaves no record
    assert run(tiny, run_dir) == {"01_a": "skipped", "02_b": "skipped", "03_c": "skipped"}


def test_a_chapters_progress_lines_reach_the_terminal_and_its_prints_its_log(tiny, tmp_path):
    tiny.write("02_b", {"image_size": 64}, extra=(
        "\nfrom flarelib.compendium.progress import Progress\n"
        "Progress(str(Path(run_dir) / '02_b' / 'progress.log'))('epoch 1 of 2')\n"
        "print('a line for the log')\n"))
    lines = []
    params, path = load_params(tiny.params_file)
    run_chapters(params, path, tmp_path / "run", root=tiny.root, log=lines.append)
    assert any(line.endswith(" epoch 1 of 2") for line in lines)
    assert not any("a line for the log" in line for line in lines)
    assert "a line for the log" in (tmp_path / "run" / "02_b" / "chapter.log").read_text()
