"""`flarelib estimate` beside the run it estimates (#36: within a factor of 2 for smoke and demo).

For each parameter set given (default: smoke), in one process: the estimate as `flarelib estimate` makes
it before a run (no chapter 03 yet, so the synthetic world's training sizes come from its regions), then
the run itself, every chapter, into a scratch folder, and a table of each chapter's estimated seconds
beside its measured ones (its manifest's), the run's wall-clock total beside the estimate's total, and
their ratio. demo takes about 9 minutes on 2 cores; with --estimate-only nothing runs. With
--measured=RUN_DIR (one set) the run is not repeated: the chapters' seconds are read from that finished
run folder's manifests (teach takes about an hour on 2 cores, so its run is measured once, by
`time flarelib run --params teach`, and compared here), and the estimate is made as `flarelib estimate`
makes it before that run (no chapter 03). Last, the training's share of each chapter: what dominates,
and what a GPU would take off (`flarelib estimate` times the steps on the GPU where there is one).

    python benchmarks/estimate.py [SET ...] [--estimate-only | --measured=RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from flarelib.compendium.cost import estimate
from flarelib.compendium.integrity import read_manifest
from flarelib.compendium.params import load_params
from flarelib.compendium.runner import run_chapters


def measure(name: str, run: bool, measured_dir: Path | None = None) -> None:
    params, path = load_params(name)
    began = time.perf_counter()
    found = estimate(params)
    print(f"--- {name}: the estimate took {time.perf_counter() - began:.1f} s")
    print(found.describe())
    if not run:
        print(f"{name}: estimated {found.seconds:.0f} s (at most {found.at_most:.0f} s); not measured (--estimate-only)")
        return
    if measured_dir is not None:
        measured = _seconds(measured_dir, found)
        wall = sum(measured.values())
    else:
        with tempfile.TemporaryDirectory() as scratch:
            run_dir = Path(scratch) / "runs" / name
            began = time.perf_counter()
            run_chapters(params, path, run_dir, log=lambda line: None)
            wall = time.perf_counter() - began
            measured = _seconds(run_dir, found)
    print(f"{'chapter':<18}{'estimated s':>12}{'measured s':>12}{'ratio':>8}")
    for chapter, seconds in found.chapter_seconds().items():
        print(f"{chapter:<18}{seconds:>12.1f}{measured[chapter]:>12.1f}{seconds / measured[chapter]:>8.2f}")
    total = "the chapters" if measured_dir is not None else "the run (wall)"
    print(f"{total:<18}{found.seconds:>12.1f}{wall:>12.1f}{found.seconds / wall:>8.2f}"
          f"   (at most {found.at_most:.0f} s; goal: ratio within 0.5-2)")
    print(dominates(found))


def _seconds(run_dir: Path, found) -> dict[str, float]:
    """Each chapter's seconds, as its manifest in `run_dir` recorded them."""
    return {c: read_manifest(run_dir, c)["seconds"] for c in found.chapter_seconds()}


def dominates(found) -> str:
    """What the estimate's time is spent on: training (CNN, LSTM) and the rest, each chapter's largest part."""
    training = {m: sum(p.count * p.seconds_each / (found.workers if p.parallel else 1) for p in found.parts if m in p.what)
                for m in ("CNN", "LSTM")}
    rest = found.seconds - sum(training.values())
    return (f"of the estimate's {found.seconds / 60:.0f} min: CNN training {training['CNN'] / 60:.0f} min, LSTM training "
            f"{training['LSTM'] / 60:.0f} min, everything else (the world, the statistics, the baselines, the full "
            f"disk) {rest / 60:.0f} min; a GPU (device {found.device} here) speeds up only the trainings.")


if __name__ == "__main__":
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or ["smoke"]
    given = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--measured=")]
    if given and len(names) != 1:
        sys.exit("--measured=RUN_DIR compares one parameter set with one finished run")
    for set_name in names:
        measure(set_name, run="--estimate-only" not in sys.argv, measured_dir=Path(given[0]) if given else None)
