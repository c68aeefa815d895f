"""What the baselines add to the sweep (#27: under 10% of its time).

On a finished run (default runs/demo), in one process: every baseline task of the sweep (all
baselines of one dataset and seed, `sweep.run_baselines`) run again one after another into a
scratch folder, beside the deep cells' own training seconds as the run's sweep recorded them
(each deep cell's `timing.json` under `06_stacking/cells/`), which is the sweep without the baselines. Both are single-core
seconds, so their ratio is what the baselines add on any number of workers.

    python benchmarks/baselines.py [RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from flarelib import sweep
from flarelib.baselines import BASELINES, is_baseline


def main(run_dir: Path) -> None:
    metrics = pd.read_csv(run_dir / "06_stacking" / "metrics.csv")
    deep = metrics[~metrics.model.map(is_baseline)]
    datasets = run_dir / "03_sampling" / "datasets"
    has_images = "CNN" in set(deep.model)
    models = [m for m in BASELINES if has_images or m != "GB_IMAGE"]
    groups = [[sweep.Cell(d, m, int(s)) for m in models] for (d, s), _ in deep.groupby(["dataset", "seed"])]
    with tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        for group in groups:
            sweep.run_baselines(group, str(datasets), scratch)
        ours = time.perf_counter() - began
    cells = [sweep.Cell(r.dataset, r.model, int(r.seed)) for r in deep.itertuples()]
    per_model = sweep.timings(cells, run_dir / "06_stacking" / "cells").groupby("model").seconds.sum()
    print(f"{run_dir}: {len(groups)} baseline tasks ({len(models)} baselines each), {len(deep)} deep cells")
    for model, seconds in per_model.items():
        print(f"  {model} cells (the sweep without baselines)   {seconds:8.1f} s")
    print(f"  baseline tasks, one after another        {ours:8.1f} s  = {100 * ours / per_model.sum():.1f}% of the deep cells' time")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/demo"))
