"""A run folder that cannot lie (#28): every artifact hashed in its chapter's manifest and checked before
it is reused (the runner's skip path, a chapter's upstream, the read path, the book), written whole or
not at all, and `flarelib verify`. Real files and real processes throughout: a truncated artifact, one
changed byte, a deleted file, a file swapped in from another run, and a process killed with SIGKILL
while it writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from flarelib.compendium.chapter import Chapter, read_record
from flarelib.compendium.integrity import HASH_CACHE, DamagedArtifact, artifact_files
from flarelib.compendium.params import load_params
from flarelib.compendium.runner import MANIFEST, RunError, run_chapters
from flarelib.compendium.verify import BOOK_RECORD, book_record, verify_book, verify_run

SEEDED = "\n(run / '01_a' / 'seeded.txt').write_text(f'seed {seed}')\n(run / '01_a' / 'deep').mkdir(exist_ok=True)\n" \
         "(run / '01_a' / 'deep' / 'table.csv').write_text('a,b\\n1,2\\n')\n"


def run(tiny, run_dir: Path, overrides: list[str] | None = None, **options) -> tuple[dict[str, str], list[str]]:
    params, path = load_params(tiny.params_file, overrides)
    lines: list[str] = []
    results = run_chapters(params, path, run_dir, root=tiny.root, log=lines.append, **options)
    return {r.name: r.status for r in results}, lines


@pytest.fixture
def finished(tiny, tmp_path):
    """A finished tiny run whose first chapter writes a seeded file and a nested table."""
    tiny.write("01_a", {"seed": 0}, extra=SEEDED)
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    return tiny, run_dir


def manifest(run_dir: Path, chapter: str) -> dict:
    return json.loads((run_dir / chapter / MANIFEST).read_text())


def test_the_manifest_lists_every_file_the_chapter_wrote_with_its_size_and_sha256(finished):
    _, run_dir = finished
    listed = manifest(run_dir, "01_a")["artifacts"]
    on_disk = {p.relative_to(run_dir / "01_a").as_posix(): p for p in (run_dir / "01_a").rglob("*") if p.is_file()}
    assert set(listed) == set(on_disk) - {"manifest.json", "chapter.log", "kernel.log"}
    assert {"artifact.txt", "seeded.txt", "deep/table.csv", "01_a.ipynb"} <= set(listed)
    for name, entry in listed.items():
        assert entry == {"size": on_disk[name].stat().st_size, "sha256": hashlib.sha256(on_disk[name].read_bytes()).hexdigest()}


@pytest.mark.parametrize("damage, expected", [
    ("truncate", r"01_a/deep/table.csv: 3 bytes where the chapter wrote 8 \(truncated or overwritten\)"),
    ("one byte", r"01_a/deep/table.csv: its content differs from what the chapter wrote \(same size, another SHA-256"),
    ("delete", r"01_a/deep/table.csv: missing"),
])
def test_a_damaged_artifact_makes_its_chapter_run_again_on_the_skip_path(finished, damage, expected):
    tiny, run_dir = finished
    target = run_dir / "01_a" / "deep" / "table.csv"
    stat = target.stat()
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:3])
    elif damage == "one byte":
        data = bytearray(target.read_bytes())
        data[2] ^= 0x01
        target.write_bytes(bytes(data))
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # its old mtime back: the hash still sees it
    else:
        target.unlink()
    statuses, lines = run(tiny, run_dir)
    assert statuses == {"01_a": "ran", "02_b": "skipped", "03_c": "skipped"}  # re-made with the same bytes: readers stand
    said = "\n".join(lines)
    assert "01_a: its artifacts are not as it wrote them, so it runs again" in said
    assert re.search(expected, said), said
    assert target.read_text() == "a,b\n1,2\n"
    assert all(state.state == "sound" for state in verify_run(run_dir, tiny.root))


def test_an_artifact_swapped_in_from_another_run_is_refused_by_name_with_no_remake(finished, tmp_path):
    tiny, run_dir = finished
    other = tmp_path / "other"
    run(tiny, other, ["seed=2"])
    assert (other / "01_a" / "seeded.txt").read_text() == "seed 2"  # the same size as "seed 1"
    (run_dir / "01_a" / "seeded.txt").write_bytes((other / "01_a" / "seeded.txt").read_bytes())
    order_before = (run_dir / "order.log").read_text()
    with pytest.raises(RunError) as caught:
        run(tiny, run_dir, no_remake=True)
    message = str(caught.value)
    assert "01_a/seeded.txt: its content differs from what the chapter wrote" in message
    assert "made by chapter 01_a; re-make it with: flarelib run --params " in message
    assert f"--run-dir {run_dir} --only 01_a --force" in message
    assert (run_dir / "order.log").read_text() == order_before  # nothing ran
    statuses, _ = run(tiny, run_dir)
    assert statuses["01_a"] == "ran" and (run_dir / "01_a" / "seeded.txt").read_text() == "seed 1"


def test_the_printed_remake_command_remakes_the_chapter(finished):
    tiny, run_dir = finished
    (run_dir / "01_a" / "artifact.txt").unlink()
    with pytest.raises(RunError) as caught:
        run(tiny, run_dir, no_remake=True)
    command = str(caught.value).split("re-make it with: ")[1].split()
    assert command[:2] == ["flarelib", "run"]
    subprocess.run([sys.executable, "-m", "flarelib", *command[1:]], check=True, capture_output=True, cwd=tiny.root)
    assert (run_dir / "01_a" / "artifact.txt").read_text() == "made by 01_a"
    assert all(state.state == "sound" for state in verify_run(run_dir, tiny.root))


def test_a_damaged_upstream_is_remade_before_the_chosen_chapter_or_refused(finished):
    tiny, run_dir = finished
    (run_dir / "01_a" / "artifact.txt").write_text("made by nobody")
    with pytest.raises(RunError, match=r"(?s)01_a/artifact.txt: 14 bytes where the chapter wrote 12.*made by chapter 01_a"):
        run(tiny, run_dir, only=["02_b"], no_remake=True)
    statuses, lines = run(tiny, run_dir, only=["02_b"])
    assert statuses == {"01_a": "ran", "02_b": "skipped"}
    assert any(line.startswith("01_a (needed by the chapters you chose): its artifacts are not as it wrote them")
               for line in lines)


def test_a_producer_remade_with_other_bytes_reruns_the_chapters_that_read_it(tiny, tmp_path):
    tiny.write("01_a", {"seed": 0}, extra="\nimport time\n(run / '01_a' / 'clock.txt').write_text(str(time.time_ns()))\n")
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    (run_dir / "01_a" / "clock.txt").unlink()
    statuses, _ = run(tiny, run_dir)
    assert statuses == {"01_a": "ran", "02_b": "ran", "03_c": "ran"}


def test_a_manifest_from_before_artifacts_were_hashed_is_not_trusted(finished):
    tiny, run_dir = finished
    old = manifest(run_dir, "02_b")
    del old["artifacts"]
    (run_dir / "02_b" / MANIFEST).write_text(json.dumps(old))
    assert {s.name: s.state for s in verify_run(run_dir, tiny.root)}["02_b"] == "stale"
    statuses, lines = run(tiny, run_dir)
    assert statuses["02_b"] == "ran" and any("lists no artifacts" in line for line in lines)


def test_the_read_path_refuses_a_damaged_or_foreign_artifact_naming_its_chapter(finished):
    tiny, run_dir = finished
    reader = Chapter("04_reader", run_dir, {})
    assert reader.input("01_a", "deep") == run_dir / "01_a" / "deep"
    (run_dir / "01_a" / "deep" / "table.csv").write_text("a,b\n9,9,9\n")
    with pytest.raises(DamagedArtifact) as caught:
        reader.input("01_a", "deep")
    message = str(caught.value)
    assert f"chapter 04_reader cannot use {run_dir / '01_a' / 'deep'}" in message
    assert "01_a/deep/table.csv: 10 bytes where the chapter wrote 8" in message
    assert "made by chapter 01_a; re-make it with: flarelib run" in message
    (run_dir / "01_a" / "stray.txt").write_text("put here by hand")
    with pytest.raises(DamagedArtifact, match=r"01_a/stray.txt: not among the files the chapter wrote"):
        reader.input("01_a", "stray.txt")


def test_a_record_is_checked_when_it_is_read(tiny, tmp_path):
    tiny.write("01_a", {"seed": 0}, extra="\nfrom flarelib import open_chapter\nopen_chapter('01_a', run_dir).record(tss=0.5)\n")
    run_dir = tmp_path / "run"
    run(tiny, run_dir)
    assert read_record(run_dir, "01_a")["numbers"] == {"tss": 0.5}
    record = run_dir / "01_a" / "record.json"
    record.write_text(record.read_text().replace("0.5", "0.9"))
    with pytest.raises(DamagedArtifact, match=r"(?s)reading the record cannot use .*01_a/record.json:\n  01_a/record.json: its content differs"):
        read_record(run_dir, "01_a")


def test_a_process_killed_while_it_writes_leaves_nothing_under_the_real_name(tmp_path):
    target = tmp_path / "cells" / "checkpoint.pt"
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom flarelib.sources.files import atomic_path\n"
        f"with atomic_path({str(target)!r}) as path:\n"
        "    with open(path, 'wb') as out:\n"
        "        out.write(b'x' * 1_000_000); out.flush()\n"
        "        print('writing', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        writer.kill()
    assert not target.exists()
    partial = list(target.parent.iterdir())
    assert len(partial) == 1 and partial[0].name.startswith(".checkpoint.partial-") and partial[0].suffix == ".pt"
    assert artifact_files(target.parent) == []  # never listed as an artifact


CELLS = """
import os, time
from flarelib.sources.files import atomic_path, write_text
cells = run / '02_b' / 'cells'
for i in range(3):
    if (cells / f'c{i}.done').exists():
        continue
    with atomic_path(cells / f'c{i}.bin') as path:
        path.write_bytes(b'.' * 100_000)
        if i == 1 and os.environ.get('FLARELIB_TEST_HANG'):
            print('hanging', flush=True)
            (run / 'hanging').write_text('')
            time.sleep(120)
    write_text(cells / f'c{i}.done', 'ok')
    with open(run / 'cells.log', 'a') as log:
        log.write(f'c{i}\\n')
"""


def test_a_run_killed_mid_write_is_resumed_and_redoes_exactly_what_was_lost(tiny, tmp_path):
    tiny.write("02_b", {"image_size": 64}, extra=CELLS)
    run_dir = tmp_path / "run"
    script = ("from flarelib.compendium.params import load_params\nfrom flarelib.compendium.runner import run_chapters\n"
              f"p, f = load_params({str(tiny.params_file)!r})\n"
              f"run_chapters(p, f, __import__('pathlib').Path({str(run_dir)!r}), root=__import__('pathlib').Path({str(tiny.root)!r}))\n")
    runner = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "FLARELIB_TEST_HANG": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "hanging").exists():
            assert time.monotonic() < deadline and runner.poll() is None, "the chapter never reached its slow write"
            time.sleep(0.2)
        os.killpg(runner.pid, signal.SIGKILL)  # the runner and its kernel, mid-write
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    cells = run_dir / "02_b" / "cells"
    assert manifest(run_dir, "02_b")["status"] == "running"
    assert not (cells / "c1.bin").exists() and any(p.name.startswith(".c1.partial-") for p in cells.iterdir())
    assert {s.name: s.state for s in verify_run(run_dir, tiny.root)}["02_b"] == "missing"
    statuses, lines = run(tiny, run_dir)
    assert statuses == {"01_a": "skipped", "02_b": "ran", "03_c": "ran"}
    assert any("02_b: resuming the unfinished attempt" in line for line in lines)
    assert (run_dir / "cells.log").read_text().split() == ["c0", "c1", "c2"]  # c0 not done twice, c1 redone
    assert not [p for p in cells.iterdir() if p.name.startswith(".")]
    assert all(state.state == "sound" for state in verify_run(run_dir, tiny.root))


def test_a_sweep_cell_whose_files_changed_is_not_done(tmp_path):
    from flarelib import sweep

    cell = sweep.Cell("FUSED_SHARP", "LSTM", 0)
    folder = cell.folder(tmp_path)
    folder.mkdir(parents=True)
    predictions = pd.DataFrame({"split": ["test"] * 4, "label": [0, 1, 0, 1], "prob": [0.1, 0.8, 0.3, 0.6]})
    predictions.to_csv(folder / "predictions.csv", index=False)
    sweep._finish(cell, folder, SimpleNamespace(best_epoch=1, history=[0, 1]), predictions, 1.0)
    assert sweep.is_done(cell, tmp_path)
    (folder / "predictions.csv").write_text((folder / "predictions.csv").read_text().replace("0.8", "0.9"))
    assert not sweep.is_done(cell, tmp_path)
    assert sweep.cell_faults(cell, tmp_path) == [f"{folder / 'predictions.csv'}: its content differs from what the cell wrote"]


def test_verify_says_sound_damaged_missing_or_stale_and_exits_non_zero(finished, capsys):
    from flarelib.compendium import cli

    tiny, run_dir = finished
    assert cli.main(["verify", "--params", "tiny", "--run-dir", str(run_dir)]) == 0
    assert "3 sound, 0 damaged, 0 missing, 0 stale of 3 chapters" in capsys.readouterr().out
    (run_dir / "01_a" / "seeded.txt").write_text("seed 12345")
    (run_dir / "03_c" / MANIFEST).unlink()
    tiny.write("02_b", {"image_size": 64}, extra="x = 2\n")
    assert cli.main(["verify", "--params", "tiny", "--run-dir", str(run_dir)]) == 1
    out = capsys.readouterr().out
    states = {s.name: s for s in verify_run(run_dir, tiny.root)}
    assert {name: s.state for name, s in states.items()} == {"01_a": "damaged", "02_b": "stale", "03_c": "missing"}
    assert "01_a/seeded.txt: 10 bytes where the chapter wrote 6" in out and "made by chapter 01_a" in out
    assert "it has not run in this folder" in out and "changed since it ran" in out


def test_a_book_is_never_built_from_a_damaged_run_and_knows_the_run_it_shows(finished, tmp_path):
    from flarelib.compendium.book import stage

    tiny, run_dir = finished
    book = tmp_path / "html"
    book.mkdir()
    (book / BOOK_RECORD).write_text(json.dumps(book_record(run_dir, tiny.root)))
    assert verify_book(book, run_dir, tiny.root) == []
    (run_dir / "02_b" / "artifact.txt").write_text("made by 02_c")
    with pytest.raises(RunError, match=r"the book is not built from a damaged run folder:\n  02_b/artifact.txt: its content"):
        stage(run_dir, tiny.root)
    run(tiny, run_dir, ["image_size=48"])  # 02_b re-made with another parameter: the book is now behind its run
    assert verify_book(book, run_dir, tiny.root) == [
        f"chapter 02_b: the book shows another state of it than the run folder holds now (rebuild: flarelib build "
        f"--params {run_dir}/params.yaml --run-dir {run_dir})"]


def test_unchanged_files_are_not_hashed_twice(finished, monkeypatch):
    from flarelib.compendium import integrity

    tiny, run_dir = finished
    assert (run_dir / HASH_CACHE).is_file()
    hashed = []
    real = integrity.sha256_of
    monkeypatch.setattr(integrity, "sha256_of", lambda path: hashed.append(Path(path).name) or real(path))
    run(tiny, run_dir)
    assert hashed == []
    (run_dir / "01_a" / "seeded.txt").write_text("seed 1")  # the same bytes, written again: stat changed
    run(tiny, run_dir)
    assert hashed == ["seeded.txt"]
