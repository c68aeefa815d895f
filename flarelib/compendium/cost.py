"""What a parameter set's run will cost on this machine, estimated before it starts.

Every chapter, not only the sweep: each chapter's start (a kernel, the imports; timed here), its own
work besides training (building and sampling the world, the statistics: `CHAPTER_WORK`, fixed seconds
and seconds per region of the synthetic world as measured on the smoke run, since the world is not built
yet when a run starts, scaled by this machine's chapter start against the calibration machine's), and
every model it trains. A training is epochs x batches per epoch x the seconds of one
training step, timed here for each model at the set's image size and batch size, single-threaded as a
sweep worker trains (or on the GPU), plus a fixed cost per trained model (reading its dataset,
forecasting every window, writing its files: `CELL_SECONDS`). The sweep (chapter 06) counts every one of
its cells: the deep models, the LSTM variants, the other label set's LSTM and the baselines (each fitted
here once on data of the training set's size), spread over the workers, plus the workers' start. The
training-set sizes are those of a finished chapter 03 when the run has one, else, for the synthetic world,
its windows per region (`SYNTHETIC_TRAIN_PER_REGION`), else the study's (Table 5, balanced).

Two numbers come out: the expected time, with every training stopping after twice its patience (as early
stopping usually does), and an upper bound with every training run to `max_epochs`.
`benchmarks/estimate.py` prints them beside a measured run.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from flarelib.attribution.sequences import RISE_CANDIDATES
from flarelib.models import build_model
from flarelib.training import device

# Table 5 of the study: training positives of each dataset (the training set is twice that, balanced)
STUDY_TRAIN_POSITIVES = {"SHARP_ONLY": 1774, "FUSED_SHARP": 6375, "SMARP_ONLY": 2849, "FUSED_SMARP": 5698}
INPUT_SHAPES = {"LSTM": lambda size: (16, 4), "CNN": lambda size: (size, size)}


def mean_seconds(call: Callable[[], None], repeats: int, synchronize: Callable[[], None] | None = None) -> float:
    """Mean wall-clock seconds of `call` over `repeats` calls, after one untimed warm-up call (which
    pays for first-call allocations and kernel choices); `synchronize` waits for queued device work
    (a GPU's) before each clock reading."""
    wait = synchronize or (lambda: None)
    call()
    wait()
    began = time.perf_counter()
    for _ in range(repeats):
        call()
    wait()
    return (time.perf_counter() - began) / repeats


def seconds_per_step(model_name: str, image_size: int, batch_size: int, repeats: int = 2, cnn_channels: int = 64) -> float:
    """One training step (forward, backward, Adam) of a model on a batch, timed on this device.

    Parameters
    ----------
    model_name : "LSTM" or "CNN".
    image_size : the CNN's input size.
    batch_size : windows per step.
    repeats : steps timed (after one warm-up).
    cnn_channels : the CNN's filters per convolution.
    """
    where = device()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model(model_name, image_size, cnn_channels).to(where).train()
        optimiser = torch.optim.Adam(model.parameters())
        x = torch.randn(batch_size, *INPUT_SHAPES[model_name](image_size), device=where)
        y = torch.randint(0, 2, (batch_size,), device=where)

        def step() -> None:
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimiser.step()

        return mean_seconds(step, repeats, torch.cuda.synchronize if where.type == "cuda" else None)
    finally:
        torch.set_num_threads(threads)


# Seconds of a reference machine whose chapter start (`start_seconds`) takes START_REFERENCE seconds; on
# another machine they are scaled by its own start against that one (a machine twice as fast starts a
# chapter twice as fast, and works so too). CHAPTER_WORK was fitted on a 2-core machine whose start took
# 3.4 s (the demo and teach runs of 2026-12-06, `benchmarks/estimate.py --measured`).
START_REFERENCE = 10.3
CELL_SECONDS = 0.7  # per trained model besides its steps: read the dataset, forecast, write its files
CLUSTER_SECONDS = 1.5  # the sweep's local cluster starting, besides its workers' imports
KERNEL_SECONDS = 1.5  # a kernel starting, besides the imports timed by `start_seconds`
# A chapter's own work besides its start and its trainings: (fixed seconds, seconds per region of the
# synthetic world). The world (01) and the full-disk forecasts over every region (09) grow with it.
CHAPTER_WORK = {  # fitted to the demo (580 regions) and teach (3,700) runs' chapters, their trainings taken off
    "01_data": (48.0, 0.16), "02_fusion": (32.0, 0.0075), "03_sampling": (2.0, 0.08), "04_lstm": (2.0, 0.0),
    "05_cnn": (4.0, 0.0), "06_stacking": (20.0, 0.0), "07_significance": (20.0, 0.06),
    "08_attribution": (16.0, 0.0), "09_operational": (20.0, 0.29),
}
# Training windows of the synthetic world's single-instrument datasets per region of their cycle (SHARP: cycle
# 24, SMARP: cycle 23), as the teach run's chapter 03 cut them (the demo's differ by under a third); a fused
# dataset adds the other instrument's windows of every split (its training share is 1 - test - validation).
SYNTHETIC_TRAIN_PER_REGION = {"SHARP_ONLY": 2.98, "SMARP_ONLY": 2.36}


@dataclass(frozen=True)
class Part:
    """One line of the estimate: `count` things of `seconds_each` in a chapter, run side by side over
    the sweep's workers when `parallel`; `at_most_each` with every training to max_epochs."""

    chapter: str
    what: str
    count: int
    seconds_each: float
    at_most_each: float
    parallel: bool = False


@dataclass(frozen=True)
class CostEstimate:
    parts: list[Part]
    workers: int
    device: str
    sizes: str  # where the training-set sizes came from

    def _total(self, at_most: bool, chapter: str | None = None) -> float:
        chosen = [p for p in self.parts if chapter is None or p.chapter == chapter]
        each = (lambda p: p.at_most_each) if at_most else (lambda p: p.seconds_each)
        serial = sum(p.count * each(p) for p in chosen if not p.parallel)
        return serial + sum(p.count * each(p) for p in chosen if p.parallel) / self.workers

    @property
    def seconds(self) -> float:
        """Expected: every training stopped after twice its patience (or at max_epochs, if sooner)."""
        return self._total(False)

    @property
    def at_most(self) -> float:
        """Every training to max_epochs."""
        return self._total(True)

    def chapter_seconds(self) -> dict[str, float]:
        """Expected seconds of each chapter."""
        return {c: self._total(False, c) for c in dict.fromkeys(p.chapter for p in self.parts)}

    def describe(self) -> str:
        lines = [f"Estimated cost of the run on this machine ({self.device}, {self.workers} sweep worker(s); "
                 f"training sets {self.sizes}): about {_duration(self.seconds)}, at most {_duration(self.at_most)} "
                 "(every training to max_epochs)."]
        for chapter, seconds in self.chapter_seconds().items():
            mine = [p for p in self.parts if p.chapter == chapter]
            said = "; ".join(f"{p.count} x {p.what} ({p.seconds_each:.3g} s{', in parallel' if p.parallel else ''})"
                             for p in mine)
            lines.append(f"  {chapter:<16} {_duration(seconds):>7}  {said}")
        return "\n".join(lines)


def synthetic_sizes(datasets: list[str], regions: tuple[int, int], train_share: float = 0.6) -> dict[str, float]:
    """Training windows of the synthetic world's datasets for (cycle 23, cycle 24) regions: each
    instrument's own windows per region of its cycle (`SYNTHETIC_TRAIN_PER_REGION`), and a fused
    dataset's the target's plus all of the other instrument's (its training share undone)."""
    own = {"SHARP_ONLY": SYNTHETIC_TRAIN_PER_REGION["SHARP_ONLY"] * regions[1],
           "SMARP_ONLY": SYNTHETIC_TRAIN_PER_REGION["SMARP_ONLY"] * regions[0]}
    fused = {"FUSED_SHARP": own["SHARP_ONLY"] + own["SMARP_ONLY"] / train_share,
             "FUSED_SMARP": own["SMARP_ONLY"] + own["SHARP_ONLY"] / train_share}
    sizes = {**own, **fused}
    return {d: sizes.get(d, sum(own.values())) for d in datasets}


def training_sizes(datasets: list[str], table5: Path | None = None, regions: tuple[int, int] | None = None,
                   source: str = "archive") -> tuple[dict[str, float], str]:
    """Training windows per dataset: the mean over seeds of a finished chapter 03's `table5.csv` when
    there is one; else, for the synthetic world of `regions` (cycle 23, cycle 24) regions, its windows
    per region (`synthetic_sizes`); else the study's Table 5 (balanced)."""
    if table5 is not None and Path(table5).exists():
        import pandas as pd

        table = pd.read_csv(table5)
        sizes = (table["train positive"] + table["train negative"]).groupby(table.dataset).mean()
        if set(datasets) <= set(sizes.index):
            return {d: float(sizes[d]) for d in datasets}, f"as chapter 03 cut them ({table5})"
    if source == "synthetic" and regions:
        return synthetic_sizes(datasets, regions), f"of the synthetic world's {sum(regions)} regions"
    return {d: 2.0 * STUDY_TRAIN_POSITIVES.get(d, 5000) for d in datasets}, "of the study's size (Table 5)"


def start_seconds() -> float:
    """A chapter's start on this machine: a fresh interpreter importing what every chapter imports,
    plus a kernel's own start."""
    import subprocess
    import sys

    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flarelib, torch, pandas, matplotlib.pyplot, sklearn, xarray"],
                   check=True, capture_output=True)
    return time.perf_counter() - began + KERNEL_SECONDS


def baseline_seconds(model: str, n_train: float, image_size: int, repeats: int = 1) -> float:
    """One baseline cell on this machine: its model fitted on random inputs of the training set's size
    (and, for GB_IMAGE, the image statistics of every window, timed on a few images), one core."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from flarelib import baselines

    n = max(int(n_train), 20)
    rng = np.random.default_rng(0)
    width = {"LAST": 4, "SUMMARY": 12, "IMAGE": len(baselines.IMAGE_STATISTICS)}.get(model.split("_", 1)[-1], 4)
    x, y = rng.normal(size=(n, width)), rng.integers(0, 2, n)
    with threadpool_limits(1):
        fitted = 0.0 if model in baselines.RULES else mean_seconds(lambda: baselines.estimator(model, 0).fit(x, y), repeats)
        images = 0.0
        if model == "GB_IMAGE":
            sample = rng.normal(0, 300, (4, image_size, image_size))
            images = mean_seconds(lambda: baselines.image_statistics(sample), repeats) / 4 * n * 1.5
    return fitted + images


def _training(model: str, n_train: float, params, step: dict[str, float], at_most: bool, speed: float = 1.0) -> float:
    """Seconds of one training of `model` on `n_train` windows: epochs x batches x a step, plus a cell's fixed cost."""
    patience = params.cnn_patience if model == "CNN" else params.lstm_patience
    epochs = params.max_epochs if at_most else min(params.max_epochs, 2 * patience)
    return epochs * math.ceil(n_train / params.batch_size) * step["CNN" if model == "CNN" else "LSTM"] + speed * CELL_SECONDS


def estimate(params, table5: Path | None = None) -> CostEstimate:
    """The run's cost for a parameter set, timed on this machine; `table5` is a finished chapter 03's
    table of training sizes, if any."""
    from flarelib.compendium.keys import SOURCE_PROVIDES

    where = device()
    workers = 1 if where.type == "cuda" else (params.workers or os.cpu_count() or 1)
    regions = params.regions_cycle23 + params.regions_cycle24
    sizes, origin = training_sizes(list(params.datasets), table5, (params.regions_cycle23, params.regions_cycle24),
                                   params.source)
    images = "magnetograms" in SOURCE_PROVIDES.get(params.source, set())
    models = [m for m in params.models if images or m != "CNN"]
    step = {model: seconds_per_step(model, params.image_size, params.batch_size, cnn_channels=params.cnn_channels)
            for model in {"LSTM", *models}}
    mean_size = sum(sizes.values()) / len(sizes)
    one = sizes.get(params.dataset, mean_size)
    start = start_seconds()
    speed = start / START_REFERENCE  # this machine against the one the constants were measured on
    scale = regions if params.source == "synthetic" else 0

    def train(chapter: str, what: str, count: int, model: str, n: float, parallel: bool = False) -> Part:
        """One training's expected and longest time, `count` times (in parallel on the workers or not).

        Parameters
        ----------
        chapter, what : where it runs, and what it trains.
        count : how many of it.
        model : "LSTM" or "CNN".
        n : its training windows.
        parallel : spread over the sweep's workers.
        """
        return Part(chapter, what, count, _training(model, n, params, step, False, speed),
                    _training(model, n, params, step, True, speed), parallel)

    parts = [Part(c, "start and own work", 1, start + speed * (a + b * scale), start + speed * (a + b * scale))
             for c, (a, b) in CHAPTER_WORK.items()]
    cells = len(params.datasets) * params.n_experiments
    parts += [train("06_stacking", f"{model} cell", cells, model, mean_size, True)
              for model in [*models, *params.lstm_variants]]
    if params.compare_labels:
        parts.append(train("06_stacking", "LSTM cell, other labels", cells, "LSTM", mean_size, True))
    fitted = {b: baseline_seconds(b, mean_size, params.image_size) + speed * CELL_SECONDS / 2
              for b in params.baselines if images or b != "GB_IMAGE"}
    parts += [Part("06_stacking", f"{b} cell", cells, seconds, seconds, True) for b, seconds in fitted.items()]
    if params.compare_labels:  # the other label set's baselines too (chapter 06 fits them for Table 6 both ways)
        parts += [Part("06_stacking", f"{b} cell, other labels", cells, seconds, seconds, True)
                  for b, seconds in fitted.items()]
    parts.append(Part("06_stacking", "workers starting", 1, speed * CLUSTER_SECONDS + start, speed * CLUSTER_SECONDS + start))
    parts.append(train("04_lstm", "LSTM", 1, "LSTM", one))
    if images:
        parts.append(train("05_cnn", "CNN", 1, "CNN", one))
        candidates = params.attribution_sequences * RISE_CANDIDATES  # the regions whose forecast rise is measured
        parts.append(train("08_attribution", "CNN fold", min(candidates, params.attribution_folds),
                           "CNN", sizes.get("SHARP_ONLY", one) * (params.attribution_folds - 1) / params.attribution_folds))
    operational = [m for m in params.operational_models if images or m != "CNN"]
    folds = params.operational_folds
    parts += [train("09_operational", f"{m} full-disk fold", folds, m, one * (folds - 1) / folds) for m in operational]
    fused = [d for d in params.datasets if d.startswith("FUSED_")]
    parts += [train("09_operational", f"{m} transfer variant", 4 * len(fused) * params.transfer_experiments, m, one)
              for m in operational]
    return CostEstimate([p for p in parts if p.count], workers, where.type, origin)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
