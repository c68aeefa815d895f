"""Repeated experiments: every (dataset, model, seed) cell trained and evaluated, on dask.distributed.

A cell writes `predictions.csv`, `metrics.json`, its seconds in `timing.json` (outside the hashed files,
so a re-run's other timings change nothing downstream) and, last, `done.json` into
`<folder>/<dataset>/<model>/seed<seed>/`, each file whole or not at all; `done.json` lists the size
and SHA-256 of the cell's other files, and a cell whose `done.json` is there and whose files match it
is skipped, so an interrupted sweep resumes and loses nothing, and a damaged cell is trained again. Cells run on a local cluster (one single-threaded worker per core) or on
an existing scheduler, with no change to the code. Each cell trains single-threaded with its own
seed, so the numbers do not depend on how cells are scheduled. The baselines (`flarelib.baselines`)
are cells too: all those of one dataset and seed in one task, which reads the dataset once.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Callable

import pandas as pd

from flarelib import baselines
from flarelib.baselines import is_baseline
from flarelib.metrics import scores
from flarelib.schema import SAMPLE_END
from flarelib.sources.files import TIMING_FILE, atomic_path, is_partial, sha256_of, write_text, written_fault


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
    """Whether the cell finished and its files are as it wrote them (`done.json`'s sizes and hashes)."""
    return not cell_faults(cell, root)


def cell_faults(cell: Cell, root: Path) -> list[str]:
    """What is wrong with a cell's files (empty: finished and sound), in words naming each file."""
    folder = cell.folder(root)
    try:
        listed = json.loads((folder / "done.json").read_text())["files"]
    except (OSError, ValueError, KeyError):
        return [f"{folder / 'done.json'}: missing or unreadable (the cell did not finish)"]
    faults = []
    for name, expected in listed.items():
        fault = written_fault(folder / name, expected["size"], expected["sha256"])
        if fault:
            kind, size = fault
            said = {"missing": "missing", "size": f"{size} bytes where the cell wrote {expected['size']}",
                    "content": "its content differs from what the cell wrote"}[kind]
            faults.append(f"{folder / name}: {said}")
    return faults


def run_cell(cell: Cell, datasets_dir: str, root: str, settings: dict, image_size: int,
             progress: Callable[[str], None] | None = None) -> dict:
    """Train and evaluate one cell (in a worker); returns its test metrics.

    Parameters
    ----------
    cell : which dataset, model and seed.
    datasets_dir : chapter 03's dataset folder.
    root : the sweep's cells folder.
    settings : the run's training parameters (`TrainSettings.from_params`).
    image_size : the CNN's input size.
    progress : called with a line after every epoch.
    """
    import torch

    from flarelib.datasets import dataset_path, read_dataset
    from flarelib.training import TrainSettings, train_and_predict

    if is_baseline(cell.model):
        return run_baselines([cell], datasets_dir, root)[0]
    torch.set_num_threads(1)
    folder = _fresh(cell, root)
    began = time.perf_counter()
    data = read_dataset(dataset_path(datasets_dir, cell.dataset, cell.seed))
    if cell.model == "LSTM_COMPLETE":  # the hole audit: only the windows none of whose steps was filled
        data = data.isel(sample=data["filled"].values.sum(axis=1) == 0)
    train = TrainSettings.from_params(settings, cell.model, cell.seed)
    say = None if progress is None else (lambda line: progress(f"{cell.dataset} {cell.model} seed {cell.seed}: {line}"))
    result, predictions = train_and_predict(data, cell.model, train, folder, image_size, progress=say)
    return _finish(cell, folder, result, predictions, time.perf_counter() - began)


def run_group(group: list[Cell], datasets_dir: str, root: str, settings: dict, image_size: int,
              progress: Callable[[str], None] | None = None) -> list[dict]:
    """Train the LSTM cells of one dataset together (`flarelib.ensemble`), each seed with its own data,
    order, early stopping and checkpoint, and write each cell's files as `run_cell` does.

    Parameters
    ----------
    group : cells of one dataset and model "LSTM", different seeds.
    datasets_dir, root, settings, image_size, progress : as `run_cell`.
    """
    import torch

    from flarelib.datasets import dataset_path, read_dataset
    from flarelib.ensemble import Member, fit_members
    from flarelib.training import TrainSettings, model_inputs, write_outputs

    torch.set_num_threads(1)
    folders = [_fresh(cell, root) for cell in group]
    began = time.perf_counter()
    data = [read_dataset(dataset_path(datasets_dir, c.dataset, c.seed)) for c in group]
    members = [Member(model_inputs(d, "LSTM", "train"), model_inputs(d, "LSTM", "val"),
                      TrainSettings.from_params(settings, "LSTM", c.seed)) for c, d in zip(group, data)]
    say = None if progress is None else (
        lambda epoch, active: progress(f"{group[0].dataset} LSTM, {len(group)} seeds together: epoch {epoch}, {active} still training"))
    results = fit_members(members, progress=say)
    seconds = (time.perf_counter() - began) / len(group)
    return [_finish(c, f, r, write_outputs(d, "LSTM", r, f), seconds) for c, f, r, d in zip(group, folders, results, data)]


def run_baselines(group: list[Cell], datasets_dir: str, root: str, *_) -> list[dict]:
    """Fit and score the baseline cells of one dataset and seed (`flarelib.baselines`), reading the
    dataset and computing each kind of input once; each cell's files as `run_cell` writes them."""
    from threadpoolctl import threadpool_limits

    from flarelib.datasets import dataset_path, read_dataset

    first = group[0]
    if any((c.dataset, c.seed) != (first.dataset, first.seed) or not is_baseline(c.model) for c in group):
        raise ValueError(f"run_baselines takes the baselines of one dataset and seed, not {group}")
    data = read_dataset(dataset_path(datasets_dir, first.dataset, first.seed))
    inputs: dict[str, object] = {}  # LR_LAST and GB_LAST read the same inputs: computed once
    with threadpool_limits(1):  # one core, as every cell: OpenMP on all cores would crowd the other workers
        return [_baseline_cell(cell, data, inputs, root) for cell in group]


def _baseline_cell(cell: Cell, data, inputs: dict, root: str) -> dict:
    """One baseline cell of `run_baselines`, its inputs shared with the others of its kind."""
    began = time.perf_counter()
    kind = cell.model if cell.model in baselines.HISTORY_BASELINES else cell.model.split("_", 1)[-1]
    if kind not in inputs:
        inputs[kind] = baselines.features(data, cell.model)
    table = baselines.predictions(data, cell.model, cell.seed, inputs[kind])
    folder = _fresh(cell, root)
    with atomic_path(folder / "predictions.csv") as path:
        table.to_csv(path, index=False)
    return _finish(cell, folder, baselines.Fitted(), table, time.perf_counter() - began)


def _run_alone(cell: Cell, *args) -> list[dict]:
    return [run_cell(cell, *args)]


def _fresh(cell: Cell, root: str) -> Path:
    folder = cell.folder(Path(root))
    if folder.exists():
        shutil.rmtree(folder)  # a cell killed half-way starts again from nothing
    folder.mkdir(parents=True)
    return folder


def _finish(cell: Cell, folder: Path, result, predictions: pd.DataFrame, seconds: float) -> dict:
    """Write a trained cell's test metrics, its seconds (`timing.json`, not among the files `done.json`
    lists) and, last, its `done.json` (the resume marker): the same bytes for the same cell, however
    long it took."""
    test = predictions[predictions.split == "test"]
    summary = {**scores(test.label, test.prob), "best_epoch": result.best_epoch, "epochs": len(result.history),
               **cell.__dict__}
    write_text(folder / "metrics.json", json.dumps(summary, default=float) + "\n")
    write_text(folder / TIMING_FILE, json.dumps({"seconds": round(seconds, 2),
                                                 "finished": pd.Timestamp.now(tz="UTC").isoformat()}) + "\n")
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_of(p)} for p in sorted(folder.iterdir())
             if p.is_file() and p.name not in ("done.json", TIMING_FILE) and not is_partial(p)}
    write_text(folder / "done.json", json.dumps({"files": files}) + "\n")
    return summary


def timings(todo: list[Cell], root: Path) -> pd.DataFrame:
    """Each finished cell's seconds (its `timing.json`): dataset, model, seed, seconds."""
    rows = []
    for cell in todo:
        path = cell.folder(root) / TIMING_FILE
        if path.is_file():
            rows.append({**cell.__dict__, "seconds": json.loads(path.read_text())["seconds"]})
    return pd.DataFrame(rows, columns=["dataset", "model", "seed", "seconds"])


def use_ensemble(choice: str) -> bool:
    """`ensemble` parameter: "on", "off", or "auto" (on with a GPU: on a CPU the stacked LSTM costs
    more than one network at a time, `benchmarks/ensemble.py`)."""
    if choice == "auto":
        import torch

        return torch.cuda.is_available()
    return choice == "on"


def tasks(pending: list[Cell], ensemble: bool) -> list[list[Cell]]:
    """The units of work: the baselines of each dataset and seed together; with `ensemble`, the LSTM
    cells of each dataset together; every other cell alone."""
    groups: dict[tuple, list[Cell]] = {}
    singles = []
    for cell in pending:
        if is_baseline(cell.model):
            groups.setdefault(("baselines", cell.dataset, cell.seed), []).append(cell)
        elif ensemble and cell.model == "LSTM":
            groups.setdefault(("LSTM", cell.dataset), []).append(cell)
        else:
            singles.append([cell])
    return list(groups.values()) + singles


@dataclass(frozen=True)
class SweepResult:
    done: list[Cell]
    skipped: list[Cell]
    failed: dict[Cell, str]


def expected_cost(group: list[Cell]) -> int:
    """A rank of how long cells take: a CNN step costs tens of LSTM steps, and a fused dataset has
    about two and a half times the training windows of a single-instrument one."""
    weight = {"CNN": 20, "LSTM": 1}
    return sum(weight.get(cell.model, 0) * (5 if cell.dataset.startswith("FUSED") else 2) for cell in group)


def run_sweep(todo: list[Cell], datasets_dir: Path, root: Path, settings: dict, image_size: int,
              workers: int = 0, scheduler_address: str | None = None, log: Callable[[str], None] = print,
              ensemble: str = "auto", progress: Callable[[str], None] | None = None) -> SweepResult:
    """Run the cells not yet done; report failures by dataset, model and seed and let the others finish.

    Parameters
    ----------
    todo : the cells.
    datasets_dir, root : chapter 03's dataset folder and the cells folder.
    settings : the run's training parameters (`TrainSettings.from_params`).
    image_size : the CNN's input size.
    workers : local workers (0: one per core).
    scheduler_address : an existing dask scheduler instead of a local cluster.
    log : where a line goes when a cell ends, with the cells done, the time elapsed and an estimate of the rest.
    ensemble : "on", "off" or "auto": train the LSTM seeds of a dataset together (`use_ensemble`).
    progress : where the epochs of every training are reported (it must pickle, as `Progress` does).
    """
    from distributed import Client, LocalCluster, as_completed

    from flarelib.compendium.progress import eta

    faults = {c: cell_faults(c, root) for c in todo}
    skipped = [c for c in todo if not faults[c]]
    pending = [c for c in todo if faults[c]]
    for cell in pending:
        if cell.folder(root).exists() and (cell.folder(root) / "done.json").exists():
            log(f"{cell.dataset} {cell.model} seed {cell.seed}: trained again, its files are damaged: " + "; ".join(faults[cell]))
    log(f"{len(todo)} cells: {len(skipped)} already done, {len(pending)} to run")
    done, failed = [], {}
    if not pending:
        return SweepResult(done, skipped, failed)
    if scheduler_address:
        client, cluster = Client(scheduler_address), None
    else:
        import os

        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)  # the workers' chatter stays off the page
        client = Client(cluster)
    began = time.perf_counter()
    try:
        futures = {}
        for group in tasks(pending, use_ensemble(ensemble)):
            first = expected_cost(group)  # the longest cells first: the last to end is then a short one
            if is_baseline(group[0].model):
                future = client.submit(run_baselines, group, str(datasets_dir), str(root), pure=False, priority=first)
            elif len(group) == 1:
                future = client.submit(_run_alone, group[0], str(datasets_dir), str(root), settings, image_size, progress,
                                       pure=False, priority=first)
            else:
                future = client.submit(run_group, group, str(datasets_dir), str(root), settings, image_size, progress,
                                       pure=False, priority=first)
            futures[future] = group
        for future in as_completed(futures):
            group = futures[future]
            try:
                summaries = future.result()
            except Exception as error:  # noqa: BLE001 - a failed cell is reported, the others go on
                for cell in group:
                    failed[cell] = f"{type(error).__name__}: {error}"
                    log(f"FAILED {cell.dataset} {cell.model} seed {cell.seed}: {failed[cell]}")
                continue
            for cell, summary in zip(group, summaries):
                done.append(cell)
                log(f"{cell.dataset} {cell.model} seed {cell.seed}: test TSS {summary['TSS']:.3f}; "
                    f"{len(skipped) + len(done)}/{len(todo)} cells done, {eta(len(done), len(pending), time.perf_counter() - began)}")
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
