"""Repeated experiments: every (dataset, model, seed) cell trained and evaluated, on dask.distributed.

A cell writes `predictions.csv`, `metrics.json` and, last, `done.json` into
`<folder>/<dataset>/<model>/seed<seed>/`; a cell with `done.json` is skipped, so an interrupted sweep
resumes and loses nothing. Cells run on a local cluster (one single-threaded worker per core) or on
an existing scheduler, with no change to the code. Each cell trains single-threaded with its own
seed, so the numbers do not depend on how cells are scheduled.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Callable

import pandas as pd

from flarelib.metrics import scores
from flarelib.schema import SAMPLE_END


@dataclass(frozen=True)
class Cell:
    dataset: str
    model: str
    seed: int

    def folder(self, root: Path) -> Path:
        return Path(root) / self.dataset / self.model / f"seed{self.seed}"


def cells(datasets: list[str], models: list[str], seeds: list[int]) -> list[Cell]:
    return [Cell(d, m, s) for d, m, s in product(datasets, models, seeds)]


def is_done(cell: Cell, root: Path) -> bool:
    return (cell.folder(root) / "done.json").exists()


def run_cell(cell: Cell, datasets_dir: str, root: str, settings: dict, image_size: int) -> dict:
    """Train and evaluate one cell (in a worker); returns its test metrics.

    Parameters
    ----------
    cell : which dataset, model and seed.
    datasets_dir : chapter 03's dataset folder.
    root : the sweep's cells folder.
    settings : the run's training parameters (`TrainSettings.from_params`).
    image_size : the CNN's input size.
    """
    import torch

    from flarelib.datasets import dataset_path, read_dataset
    from flarelib.training import TrainSettings, train_and_predict

    torch.set_num_threads(1)
    folder = cell.folder(Path(root))
    if folder.exists():
        shutil.rmtree(folder)  # a cell killed half-way starts again from nothing
    began = time.perf_counter()
    data = read_dataset(dataset_path(datasets_dir, cell.dataset, cell.seed))
    train = TrainSettings.from_params(settings, cell.model, cell.seed)
    result, predictions = train_and_predict(data, cell.model, train, folder, image_size)
    test = predictions[predictions.split == "test"]
    summary = {**scores(test.label, test.prob), "best_epoch": result.best_epoch, "epochs": len(result.history),
               "seconds": round(time.perf_counter() - began, 2), **cell.__dict__}
    (folder / "metrics.json").write_text(json.dumps(summary, default=float) + "\n")
    (folder / "done.json").write_text(json.dumps({"finished": pd.Timestamp.now(tz="UTC").isoformat()}) + "\n")
    return summary


@dataclass(frozen=True)
class SweepResult:
    done: list[Cell]
    skipped: list[Cell]
    failed: dict[Cell, str]


def run_sweep(todo: list[Cell], datasets_dir: Path, root: Path, settings: dict, image_size: int,
              workers: int = 0, scheduler_address: str | None = None, log: Callable[[str], None] = print) -> SweepResult:
    """Run the cells not yet done; report failures by dataset, model and seed and let the others finish.

    Parameters
    ----------
    todo : the cells.
    datasets_dir, root : chapter 03's dataset folder and the cells folder.
    settings : the run's training parameters (`TrainSettings.from_params`).
    image_size : the CNN's input size.
    workers : local workers (0: one per core).
    scheduler_address : an existing dask scheduler instead of a local cluster.
    log : where progress lines go.
    """
    from distributed import Client, LocalCluster, as_completed

    skipped = [c for c in todo if is_done(c, root)]
    pending = [c for c in todo if not is_done(c, root)]
    log(f"{len(todo)} cells: {len(skipped)} already done, {len(pending)} to run")
    done, failed = [], {}
    if not pending:
        return SweepResult(done, skipped, failed)
    if scheduler_address:
        client, cluster = Client(scheduler_address), None
    else:
        import os

        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = {client.submit(run_cell, c, str(datasets_dir), str(root), settings, image_size, pure=False): c
                   for c in pending}
        for count, future in enumerate(as_completed(futures), start=1):
            cell = futures[future]
            try:
                summary = future.result()
                done.append(cell)
                log(f"[{len(skipped) + count}/{len(todo)}] {cell.dataset} {cell.model} seed {cell.seed}: "
                    f"test TSS {summary['TSS']:.3f} in {summary['seconds']:.0f} s")
            except Exception as error:  # noqa: BLE001 - a failed cell is reported, the others go on
                failed[cell] = f"{type(error).__name__}: {error}"
                log(f"[{len(skipped) + count}/{len(todo)}] FAILED {cell.dataset} {cell.model} seed {cell.seed}: {failed[cell]}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return SweepResult(done, skipped, failed)


def collect(todo: list[Cell], root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The metrics of every finished cell, and all their validation and test predictions."""
    metrics, predictions = [], []
    for cell in todo:
        if not is_done(cell, root):
            continue
        metrics.append(json.loads((cell.folder(root) / "metrics.json").read_text()))
        predictions.append(pd.read_csv(cell.folder(root) / "predictions.csv", parse_dates=[SAMPLE_END]).assign(**cell.__dict__))
    return pd.DataFrame(metrics), (pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame())
