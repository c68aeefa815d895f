"""Every trained model of the sweep at the real event rate (chapter 09, section 1): all usable windows
of its validation and test regions instead of a balanced subset, split by region as the sweep split
them, then prior correction, recalibration and verification (`flarelib.operational.calibration`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from flarelib.datasets import DATASETS, Standardizer, split_regions, standardizer_from_attrs
from flarelib.operational.calibration import CALIBRATION_METHODS, calibrated, verify
from flarelib.significance import bootstrap_ci, seed_statistic


def usable(windows: pd.DataFrame) -> pd.Series:
    """Windows whose records pass the bad-record rules (chapter 03's `usable`), whatever their label
    (a forecast is issued for a window with a weak flare too; only verification needs a label)."""
    return windows["usable"].astype(bool)


def unbalanced_split(windows: pd.DataFrame, series: str, seed: int, test_fraction: float, val_fraction: float) -> pd.DataFrame:
    """Every usable window of a series with the split of its region: the same assignment as the
    sweep's datasets (`split_regions` on the regions with kept windows), with no undersampling.
    `labelled` marks the kept windows (positive or negative) that verification uses.

    Parameters
    ----------
    windows : chapter 03's windows.
    series : "SHARP" or "SMARP".
    seed : the experiment's seed (the same split as its dataset files).
    test_fraction, val_fraction : the shares of regions in test and validation.
    """
    mine = windows[(windows.SERIES == series) & usable(windows)]
    kept = mine[mine.keep.astype(bool)]
    assignment = split_regions(kept.ARPNUM.to_numpy(), seed, series, test_fraction, val_fraction)
    out = mine.assign(split=mine.ARPNUM.map(assignment), labelled=mine.keep.astype(bool))
    return out[out.split.notna()]


def climatology(split_windows: pd.DataFrame) -> float:
    """The event rate of the training regions' kept windows: the prior a forecast should carry."""
    train = split_windows[(split_windows.split == "train") & split_windows.labelled]
    return float(train.label.astype(bool).mean())


def load_model(folder: Path, model_name: str, image_size: int) -> torch.nn.Module:
    """A sweep cell's trained model (a CNN's width read from its checkpoint)."""
    from flarelib.models import build_model

    state = torch.load(Path(folder) / "checkpoint.pt", map_location="cpu", weights_only=True)
    channels = int(state["features.0.weight"].shape[0]) if model_name == "CNN" else 64
    model = build_model(model_name, image_size, channels)
    model.load_state_dict(state)
    return model.eval()


def window_inputs(model_name: str, rows: pd.DataFrame, sequences: np.ndarray, scaler: Standardizer,
                 images: Callable[[pd.DataFrame], np.ndarray] | None) -> torch.Tensor:
    """Standardized inputs of the given windows: keyword sequences, or last-record images.

    Parameters
    ----------
    model_name : "LSTM" or "CNN".
    rows : the windows (their index selects their sequences).
    sequences : chapter 03's keyword sequences.
    scaler : the standardization the model was trained with.
    images : the CNN's inputs of some windows (an `ImageCache`), or None.
    """
    if model_name == "LSTM":
        return torch.as_tensor(scaler.keywords(sequences[rows.index.to_numpy()], rows.SERIES.to_numpy()))
    if images is None:
        raise ValueError("the CNN needs magnetograms, which this source does not have")
    return torch.as_tensor(scaler.pixels(images(rows)))


@dataclass(frozen=True)
class CellForecasts:
    windows: pd.DataFrame  # val and test windows with raw and calibrated probabilities
    scores: pd.DataFrame  # per method
    climatology: float
    train_prior: float


def forecast_cell(dataset_file, cell_folder: Path, model_name: str, split_windows: pd.DataFrame, sequences: np.ndarray,
                  images: Callable | None, image_size: int) -> CellForecasts:
    """One trained cell of the sweep, evaluated on every usable window of its validation and test
    regions: raw probabilities, prior correction, recalibration, verification.

    Parameters
    ----------
    dataset_file : the cell's dataset file (training prior and standardization).
    cell_folder : the cell's folder in the sweep (its checkpoint).
    model_name : "LSTM" or "CNN".
    split_windows : `unbalanced_split` of the cell's series and seed.
    sequences, images : the models' inputs (`images` for a CNN only).
    image_size : the CNN's input size.
    """
    from flarelib.datasets import read_dataset
    from flarelib.training import predict

    ds = read_dataset(dataset_file)
    train_labels = ds.label.values[ds.split.values == "train"]
    train_prior = float(train_labels.mean())
    model = load_model(cell_folder, model_name, image_size)
    scaler = standardizer_from_attrs(ds.attrs)
    parts = {}
    for split in ("val", "test"):
        rows = split_windows[split_windows.split == split]
        parts[split] = rows.assign(raw=predict(model, window_inputs(model_name, rows, sequences, scaler, images)))
    rate = climatology(split_windows)
    val, test = calibrated(parts["val"], parts["test"], train_prior, rate)
    return CellForecasts(pd.concat([val, test]), verify(val, test, rate), rate, train_prior)


def target_series(dataset: str) -> str:
    return DATASETS[dataset][0]


def evaluate_sweep(cells: list, datasets_dir: Path, cells_dir: Path, windows: pd.DataFrame, sequences: np.ndarray, *,
                   images, image_size: int, test_fraction: float, val_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every trained cell of the sweep on the unbalanced validation and test windows of its regions.
    Returns the scores (cell, method, metrics) and the test windows' probabilities of every cell.

    Parameters
    ----------
    cells : the sweep's cells (`flarelib.sweep.cells`).
    datasets_dir, cells_dir : chapter 03's dataset folder and chapter 06's cells folder.
    windows, sequences : chapter 03's windows and keyword sequences.
    images : the CNN's inputs (an `ImageCache`), or None without magnetograms.
    image_size : the CNN's input size.
    test_fraction, val_fraction : the shares of regions in test and validation.
    """
    from flarelib.datasets import dataset_path

    keys = {(target_series(c.dataset), c.seed) for c in cells}
    splits = {key: unbalanced_split(windows, *key, test_fraction, val_fraction) for key in keys}
    if images is not None and any(c.model == "CNN" for c in cells):  # every CNN input at once, on every core
        needed = [splits[(target_series(c.dataset), c.seed)] for c in cells if c.model == "CNN"]
        images.prefetch(pd.concat([part[part.split.isin(["val", "test"])] for part in needed]))
    score_rows, forecast_rows = [], []
    for cell in cells:
        key = (target_series(cell.dataset), cell.seed)
        result = forecast_cell(dataset_path(datasets_dir, cell.dataset, cell.seed), cell.folder(cells_dir), cell.model,
                               splits[key], sequences, images if cell.model == "CNN" else None, image_size)
        labels = dict(dataset=cell.dataset, model=cell.model, seed=cell.seed)
        score_rows.append(result.scores.assign(**labels, train_prior=result.train_prior))
        test = result.windows[(result.windows.split == "test") & result.windows.labelled]
        forecast_rows.append(test[["SERIES", "ARPNUM", "end", "label", *CALIBRATION_METHODS]].assign(**labels))
    return pd.concat(score_rows, ignore_index=True), pd.concat(forecast_rows, ignore_index=True)


def summary(scores_table: pd.DataFrame, columns: tuple[str, ...] = ("TSS@0.5", "TSS@val", "BSS", "AUC")) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per dataset, model and method."""
    table = scores_table.groupby(["dataset", "model", "method"], sort=False)[list(columns)].agg(["mean", "std"])
    table.columns = [f"{c} {s}" for c, s in table.columns]
    return table


def balanced_vs_real_rate(scores_table: pd.DataFrame, balanced: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and model, means over seeds: the test event rate and size at the real rate, and
    TSS, BSS, AUC on the balanced test set (chapter 06's metrics) beside the raw probabilities' at
    the real rate."""
    raw = scores_table[scores_table.method == "raw"].groupby(["dataset", "model"], sort=False)
    by_cell = balanced.groupby(["dataset", "model"])
    return pd.DataFrame({
        "event rate (test)": raw.event_rate.mean(), "windows per test set": raw.n.mean(),
        "TSS balanced": by_cell.TSS.mean(), "TSS real rate": raw["TSS@0.5"].mean(),
        "BSS balanced": by_cell.BSS.mean(), "BSS real rate": raw.BSS.mean(),
        "AUC balanced": by_cell.AUC.mean(), "AUC real rate": raw.AUC.mean()}).dropna(subset=["TSS real rate"])


def headline_intervals(test_forecasts: pd.DataFrame, scores_table: pd.DataFrame, dataset: str, models: list[str],
                       n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """For one dataset, every model and method: TSS at each seed's validation threshold, BSS against
    the training climatology and AUC, means over seeds with 95% intervals from resampling test
    regions within each seed.

    Parameters
    ----------
    test_forecasts, scores_table : `evaluate_sweep`'s two tables.
    dataset, models : the dataset and models reported.
    n_boot, seed : bootstrap draws over regions and their seed.
    """
    rows = []
    for model in models:
        for method in CALIBRATION_METHODS:
            cell = test_forecasts[(test_forecasts.dataset == dataset) & (test_forecasts.model == model)].rename(columns={method: "prob"})
            mine = scores_table[(scores_table.dataset == dataset) & (scores_table.model == model) & (scores_table.method == method)]
            cell = cell.merge(mine[["seed", "climatology"]], on="seed")
            thresholds = dict(zip(mine.seed, mine.threshold))
            for metric, statistic in (("TSS@val", seed_statistic("TSS", thresholds)), ("BSS", seed_statistic("BSS")),
                                      ("AUC", seed_statistic("AUC"))):
                value, low, high = bootstrap_ci(cell, statistic, ["ARPNUM"], n_boot=n_boot, seed=seed, strata="seed")
                rows.append({"model": model, "method": method, "metric": metric, "value": value, "95% low": low, "95% high": high})
    return pd.DataFrame(rows)


def reliability_figures(test_forecasts: pd.DataFrame, dataset: str, models: list[str], caption: str) -> dict:
    """For each model, the verification figure of its test forecasts at the real event rate, one
    group of runs (the seeds) per calibration method, by figure name (`reliability_<model>`)."""
    from flarelib.plots import runs_of, verification_figure

    return {f"reliability_{model}": verification_figure(
                {method: runs_of(test_forecasts, dataset, model, method) for method in CALIBRATION_METHODS},
                f"{dataset}, {model}, test windows at the real rate. {caption}")
            for model in models}
