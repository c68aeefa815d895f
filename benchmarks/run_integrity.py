"""What hashing a run's artifacts costs, beside the run itself (#28: at most 2% of the run's time).

For each finished run folder given (default: runs/demo and runs/archive, those that exist), in one
process:

- the run: the chapters' own seconds, as their manifests recorded them (the run without hashing:
  hashing is a separate step after each chapter, so this is the baseline);
- cold: every chapter's artifacts hashed from nothing (`integrity.inventory` with an empty cache),
  which is what the runner adds when each chapter ends;
- warm: every chapter checked against its listing with the run's hash cache (`integrity.check`),
  which is what skipping an unchanged chapter, `Chapter.input` and `flarelib verify` cost;
- baseline: the same bytes read and hashed by `sha256sum` (coreutils), to show the Python hashing is
  not the slow part.

    python benchmarks/run_integrity.py [RUN_DIR ...]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from flarelib.compendium.integrity import HashCache, artifact_files, check, inventory, read_manifest


def measure(run_dir: Path) -> None:
    folders = sorted(p for p in run_dir.iterdir() if (p / "manifest.json").is_file())
    run_seconds = sum(json.loads((f / "manifest.json").read_text()).get("seconds", 0) for f in folders)
    files = [p for f in folders for p in artifact_files(f)]
    size = sum(p.stat().st_size for p in files)
    cold_cache = HashCache(run_dir)
    cold_cache.known = {}  # an empty cache: every byte hashed
    began = time.perf_counter()
    listings = {f.name: inventory(f, cold_cache) for f in folders}
    cold = time.perf_counter() - began
    cache = HashCache(run_dir)
    cache.known = {}
    began = time.perf_counter()
    faults = [fault for f in folders for fault in check(run_dir, f.name, {**(read_manifest(run_dir, f.name) or {}),
                                                                          "status": "ok", "artifacts": listings[f.name]}, cache)]
    first_check = time.perf_counter() - began
    began = time.perf_counter()
    for f in folders:
        check(run_dir, f.name, {**(read_manifest(run_dir, f.name) or {}), "status": "ok", "artifacts": listings[f.name]}, cache)
    warm = time.perf_counter() - began
    baseline = None
    if shutil.which("sha256sum"):
        began = time.perf_counter()
        for start in range(0, len(files), 500):
            subprocess.run(["sha256sum", *map(str, files[start:start + 500])], check=True, capture_output=True)
        baseline = time.perf_counter() - began
    print(f"{run_dir}: {len(folders)} chapters, {len(files):,} artifacts, {size / 1e6:,.1f} MB; faults found: {len(faults)}")
    print(f"  the run (chapters' own seconds)        {run_seconds:9.1f} s")
    print(f"  cold: hash every artifact (runner)     {cold:9.3f} s  = {100 * cold / run_seconds:.3f}% of the run")
    print(f"  first check (fills the run's cache)    {first_check:9.3f} s")
    print(f"  warm check of every chapter (skip)     {warm:9.3f} s  = {100 * warm / run_seconds:.4f}% of the run")
    if baseline is not None:
        print(f"  baseline: sha256sum on the same files  {baseline:9.3f} s")


def main(argv: list[str]) -> None:
    runs = [Path(a) for a in argv] or [p for p in (Path("runs/demo"), Path("runs/archive")) if p.is_dir()]
    if not runs:
        sys.exit("no finished run folder: run `flarelib run --params demo` first, or name one")
    for run_dir in runs:
        measure(run_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
