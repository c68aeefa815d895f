"""What a parameter set's sweep will cost on this machine, measured before it starts.

cells x epochs x batches per epoch x measured seconds per training step, over the workers that run
cells side by side. The steps are timed here, on this device, for each model at the set's image size
and batch size, single-threaded as a sweep worker trains (or on the GPU); the training-set sizes are
the study's (Table 5, balanced), since the windows are not cut yet when a run starts. An upper
bound: early stopping usually ends a cell well before `max_epochs`.
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


@dataclass(frozen=True)
class CostEstimate:
    per_model: dict[str, dict[str, float]]  # model: cells, steps per cell at most, seconds per step
    workers: int
    device: str
    sizes: str  # where the training-set sizes came from

    @property
    def seconds(self) -> float:
        """At most: every cell to max_epochs, cells spread evenly over the workers."""
        total = sum(m["cells"] * m["steps"] * m["seconds_per_step"] for m in self.per_model.values())
        return total / self.workers

    def describe(self) -> str:
        parts = [f"{model}: {int(m['cells'])} cells x at most {int(m['steps'])} steps x {m['seconds_per_step']:.3g} s"
                 for model, m in self.per_model.items()]
        return (f"Estimated sweep cost on this machine ({self.device}, {self.workers} worker(s)): at most "
                f"{_duration(self.seconds)} ({'; '.join(parts)}; training sets {self.sizes}; early stopping usually "
                "ends cells sooner).")


def training_sizes(datasets: list[str], table5: Path | None = None) -> tuple[dict[str, float], str]:
    """Training windows per dataset: the mean over seeds of a finished chapter 03's `table5.csv` when
    there is one, else the study's Table 5 (balanced)."""
    if table5 is not None and Path(table5).exists():
        import pandas as pd

        table = pd.read_csv(table5)
        sizes = (table["train positive"] + table["train negative"]).groupby(table.dataset).mean()
        if set(datasets) <= set(sizes.index):
            return {d: float(sizes[d]) for d in datasets}, f"as chapter 03 cut them ({table5})"
    return {d: 2.0 * STUDY_TRAIN_POSITIVES.get(d, 5000) for d in datasets}, "of the study's size (Table 5)"


def estimate(params, table5: Path | None = None) -> CostEstimate:
    """The sweep's cost for a parameter set (`datasets`, `models`, `n_experiments`, `max_epochs`,
    `batch_size`, `image_size`, `cnn_channels`, `workers`), timed on this machine; `table5` is a finished chapter 03's
    table of training sizes, if any."""
    where = device()
    workers = 1 if where.type == "cuda" else (params.workers or os.cpu_count() or 1)
    sizes, origin = training_sizes(list(params.datasets), table5)
    steps = sum(math.ceil(n / params.batch_size) for n in sizes.values()) / len(sizes) * params.max_epochs
    per_model = {model: {"cells": len(params.datasets) * params.n_experiments, "steps": steps,
                         "seconds_per_step": seconds_per_step(model, params.image_size, params.batch_size,
                                                               cnn_channels=params.cnn_channels)}
                 for model in params.models}
    return CostEstimate(per_model, workers, where.type, origin)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
