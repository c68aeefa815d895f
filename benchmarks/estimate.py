"""`flarelib estimate` beside the run it estimates (#36: within a factor of 2 for smoke and demo).

For each parameter set given (default: smoke), in one process: the estimate as `flarelib estimate` makes
it before a run (no chapter 03 yet, so the synthetic world's training sizes come from its regions), then
the run itself, every chapter, into a scratch folder, and a table of each chapter's estimated seconds
beside its measured ones (its manifest's), the run's wall-clock total beside the estimate's total, and
their ratio. demo takes about 9 minutes on 2 cores; with --estimate-only nothing runs.

    python benchmarks/estimate.py [SET ...] [--estimate-only]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from flarelib.compendium.cost import estimate
from flarelib.compendium.params import load_params
from flarelib.compendium.runner import run_chapters


def measure(name: str, run: bool) -> None:
    params, path = load_params(name)
    began = time.perf_counter()
    found = estimate(params)
    print(f"--- {name}: the estimate took {time.perf_counter() - began:.1f} s")
    print(found.describe())
    if not run:
        print(f"{name}: estimated {found.seconds:.0f} s (at most {found.at_most:.0f} s); not measured (--estimate-only)")
        return
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = Path(scratch) / "runs" / name
        began = time.perf_counter()
        run_chapters(params, path, run_dir, log=lambda line: None)
        wall = time.perf_counter() - began
        measured = {c: json.loads((run_dir / c / "manifest.json").read_text())["seconds"] for c in found.chapter_seconds()}
    print(f"{'chapter':<18}{'estimated s':>12}{'measured s':>12}{'ratio':>8}")
    for chapter, seconds in found.chapter_seconds().items():
        print(f"{chapter:<18}{seconds:>12.1f}{measured[chapter]:>12.1f}{seconds / measured[chapter]:>8.2f}")
    print(f"{'the run (wall)':<18}{found.seconds:>12.1f}{wall:>12.1f}{found.seconds / wall:>8.2f}"
          f"   (at most {found.at_most:.0f} s; goal: ratio within 0.5-2)")


if __name__ == "__main__":
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or ["smoke"]
    for set_name in names:
        measure(set_name, run="--estimate-only" not in sys.argv)
