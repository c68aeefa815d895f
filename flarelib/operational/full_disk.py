"""Full-disk forecasts (chapter 09, section 3): every region forecast out of sample by a model trained
on the other folds of regions, combined over the regions on the disk at each issue time, verified
against any M1.0+ flare on the disk, and exported as a plain CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from flarelib.datasets import DATASETS, OTHER, Standardizer, fit_standardizer
from flarelib.operational.calibration import calibrated
from flarelib.operational.real_rate import usable, window_inputs
from flarelib.schema import KEYWORDS
from flarelib.significance import bootstrap_ci, seed_statistic
from flarelib.sources.files import atomic_path
from flarelib.training import FoldDraws, TrainSettings, predict, region_folds, train_held_out


FULL_DISK_COLUMNS = ["issue_time", "valid_from", "valid_to", "probability", "probability_max", "regions",
                     "region_probabilities", "event", "source", "model", "dataset"]


def issue_times(start: pd.Timestamp, end: pd.Timestamp, every_hours: int = 6) -> pd.DatetimeIndex:
    """Issue times at 00, 06, 12, 18 UT (for every 6 h) from start to end."""
    return pd.date_range(pd.Timestamp(start).ceil(f"{every_hours}h"), pd.Timestamp(end).floor(f"{every_hours}h"),
                         freq=f"{every_hours}h")


def full_disk(region_forecasts: pd.DataFrame, flares: pd.DataFrame, times: pd.DatetimeIndex,
              cadence: pd.Timedelta = pd.Timedelta(minutes=96), horizon: pd.Timedelta = pd.Timedelta(hours=24),
              column: str = "probability", threshold: float = 1e-5) -> pd.DataFrame:
    """Combine the regions on the disk at each issue time into one forecast.

    A region is on the disk at t when it has a window ending in (t - cadence, t]; its latest such
    window's probability counts. Combined: 1 - prod(1 - p_i) (regions flaring independently) and
    max p_i. Observed: any flare at `threshold` or above (the study's M1.0) peaking in (t, t + horizon],
    with or without a NOAA region.

    Parameters
    ----------
    region_forecasts : windows with `SERIES`, `ARPNUM`, `end` and the forecast in `column`.
    flares : the catalogue (`peak_time`, `peak_flux`).
    times : issue times, at least `cadence` apart.
    cadence : a region is on the disk with a window ending in the last `cadence`.
    horizon : the forecast's valid period.
    column : the probability column.
    threshold : the peak flux of an event (`goes.threshold_flux` of the run's `flare_class`).
    """
    from flarelib.goes import is_strong

    times = pd.DatetimeIndex(times)
    if len(times) > 1 and (times[1:] - times[:-1]).min() < cadence:
        raise ValueError(f"issue times {cadence} or more apart are needed (one window per region per issue time); "
                         f"got {(times[1:] - times[:-1]).min()}")
    grid = times.to_numpy(dtype="datetime64[ns]")
    f = region_forecasts.sort_values("end", kind="stable")
    ends = f.end.to_numpy(dtype="datetime64[ns]")
    slot = np.searchsorted(grid, ends, side="left")  # the first issue time at or after each window's end
    inside = slot < len(grid)
    inside[inside] &= (grid[slot[inside]] - ends[inside]) < np.timedelta64(cadence)
    f = f[inside].assign(issue_time=grid[slot[inside]])
    latest = f.groupby(["issue_time", "SERIES", "ARPNUM"], sort=True)[column].last().reset_index()
    latest["label"] = latest.SERIES + " " + latest.ARPNUM.astype(str) + ":" + latest[column].map("{:.4f}".format)
    per_time = latest.groupby("issue_time").agg(
        probability=(column, lambda p: float(1 - np.prod(1 - p.to_numpy(dtype=float)))),
        probability_max=(column, "max"), regions=(column, "size"), region_probabilities=("label", ";".join))
    table = per_time.reindex(times).rename_axis("issue_time").reset_index()
    table = table.fillna({"probability": 0.0, "probability_max": 0.0, "regions": 0, "region_probabilities": ""})
    table["regions"] = table.regions.astype(int)
    strong = np.sort(flares.peak_time[is_strong(flares.peak_flux.to_numpy(), threshold)].to_numpy(dtype="datetime64[ns]"))
    a, b = (np.searchsorted(strong, edge, side="right") for edge in (grid, grid + np.timedelta64(horizon)))
    table["event"] = (b > a).astype(int)
    table["valid_from"], table["valid_to"] = times, times + horizon
    return table[["issue_time", "valid_from", "valid_to", "probability", "probability_max", "regions",
                  "region_probabilities", "event"]]


def export_forecasts(table: pd.DataFrame, path: Path, source: str, model: str, dataset: str) -> Path:
    """Write full-disk forecasts as a plain CSV a scoreboard can ingest: one row per issue time,
    ISO 8601 UTC times, probabilities in [0, 1] with 4 decimals, the observed outcome (0/1).

    Parameters
    ----------
    table : `full_disk`'s result.
    path : the CSV to write.
    source, model, dataset : what produced the forecasts (written in every row).
    """
    out = table.assign(source=source, model=model, dataset=dataset)[FULL_DISK_COLUMNS].copy()
    for column in ("issue_time", "valid_from", "valid_to"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%dT%H:%MZ")
    with atomic_path(path) as temporary:
        out.to_csv(temporary, index=False, float_format="%.4f")
    return Path(path)


def fit_scaler(train: pd.DataFrame, sequences: np.ndarray, images) -> Standardizer:
    """Keyword statistics per series over every step of the training windows' sequences, pixel
    statistics over their images (when a CNN needs them): leak-free, from training regions only."""
    steps = sequences.shape[1]
    values = pd.DataFrame(sequences[train.index.to_numpy()].reshape(-1, len(KEYWORDS)).astype(np.float64), columns=KEYWORDS)
    values["SERIES"] = np.repeat(train.SERIES.to_numpy(), steps)
    return fit_standardizer(values, KEYWORDS, images(train) if images is not None else np.zeros(1))


def out_of_fold(windows: pd.DataFrame, sequences: np.ndarray, dataset: str, model_name: str, settings, image_size: int,
                images=None, k: int = 5, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """A forecast for every usable window of the dataset's target series by a model that never saw
    its region.

    k folds over the target's regions; in each, the other folds train (20% of their regions
    validate; the other instrument's windows join training for a fused dataset), balanced by
    undersampling as in the study (`flarelib.training.train_held_out`). Then Bayes' rule to the
    training climatology and isotonic recalibration on the fold's validation regions.

    Parameters
    ----------
    windows, sequences : chapter 03's windows and keyword sequences.
    dataset : which dataset's target series (and, for a fused one, which other instrument trains too).
    model_name : "LSTM" or "CNN".
    settings : `TrainSettings`; its seed drives the folds and draws.
    image_size : the CNN's input size.
    images : the CNN's inputs of some windows (an `ImageCache`), or None for the LSTM.
    k : the number of folds.
    progress : hears about every fold trained.

    Returns
    -------
    The windows with label, labelled, fold, raw, prior, isotonic (the forecast) and climatology.
    """
    series, fused = DATASETS[dataset]
    ok = windows[usable(windows)].assign(labelled=lambda w: w.keep.astype(bool))
    target = ok[ok.SERIES == series]
    folds = region_folds(target[target.labelled].ARPNUM.to_numpy(), k, settings.seed)
    target = target[target.ARPNUM.isin(list(folds))].assign(fold=lambda w: w.ARPNUM.map(folds))
    other = ok[(ok.SERIES == OTHER[series]) & ok.labelled] if fused else ok.iloc[:0]
    inputs = lambda rows, scaler: window_inputs(model_name, rows, sequences, scaler, images)
    out = []
    for fold in range(k):
        trained = train_held_out(model_name, target, folds, fold, settings=settings, image_size=image_size,
                                 draws=FoldDraws(val_regions="oof-val", train="oof-train", val="oof-bal"),
                                 scaler_for=lambda train: fit_scaler(train, sequences, images), inputs=inputs,
                                 extra_train=other)
        held_out = target[target.fold == fold]
        val = trained.val.assign(raw=predict(trained.model, inputs(trained.val, trained.scaler)))
        held_out = held_out.assign(raw=predict(trained.model, inputs(held_out, trained.scaler)))
        val, held_out = calibrated(val, held_out, float(trained.train.label.mean()), trained.train_rate)
        out.append(held_out.assign(climatology=trained.train_rate))
        if progress is not None:
            progress(f"full-disk {model_name}: fold {fold + 1}/{k} trained and forecast")
    return pd.concat(out).sort_values(["ARPNUM", "end"])


def full_disk_scores(disk: pd.DataFrame, name: str, column: str, n_boot: int = 300, seed: int = 0) -> dict:
    """One full-disk forecast (`column`: probability or probability_max) verified at threshold 0.5:
    TSS, BSS against the period's event rate, AUC, each with a 95% interval from resampling days.

    Parameters
    ----------
    disk : `full_disk`'s result.
    name : the forecast's name in the table.
    column : "probability" or "probability_max".
    n_boot, seed : bootstrap draws over days and their seed.
    """
    day = disk.assign(prob=disk[column], label=disk.event, seed=0, day=disk.issue_time.dt.floor("D"),
                      climatology=disk.event.mean())
    row = {"forecast": name, "issue times": len(disk), "event rate": disk.event.mean(),
           "mean regions on disk": disk.regions.mean(), "share with no region": (disk.regions == 0).mean()}
    for metric in ("TSS", "BSS", "AUC"):
        value, low, high = bootstrap_ci(day, seed_statistic(metric), ["day"], n_boot=n_boot, seed=seed)
        row.update({metric: value, f"{metric} 95%": f"{low:.3f}-{high:.3f}"})
    return row



@dataclass(frozen=True)
class FullDiskForecasts:
    """Chapter 09's full-disk section: scores of every forecast, the (event, probability) pairs for
    the verification figure, and the exported CSV of each model."""

    scores: pd.DataFrame  # one row per forecast ("<model> <calibration> <combination>")
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]]
    exports: dict[str, Path]  # model -> full_disk_<model>.csv


COMBINATIONS = (("probability", "1-prod(1-p)"), ("probability_max", "max p"))


def forecast_full_disk(windows: pd.DataFrame, sequences: np.ndarray, flares: pd.DataFrame, folder: Path, *,
                       dataset: str, models: list[str], train_params: Mapping[str, Any], image_size: int,
                       folds: int, every_hours: int, cadence: pd.Timedelta, horizon: pd.Timedelta,
                       source: str, images: Callable | None = None, n_boot: int = 300,
                       progress: Callable[[str], None] | None = None, threshold: float = 1e-5) -> FullDiskForecasts:
    """Out-of-fold region forecasts of every model, combined over the disk at each issue time with
    each calibration (isotonic, prior, raw) and both combinations, scored with 95% intervals over
    days; writes `region_forecasts_<model>.csv` and the isotonic export `full_disk_<model>.csv`.

    Parameters
    ----------
    windows, sequences, flares : chapter 03's windows and sequences, and the store's flares.
    folder : where the CSVs go (the chapter's folder).
    dataset, models : the dataset whose target series is forecast, and the models to train.
    train_params : the run's training parameters (`TrainSettings.from_params`); its seed drives folds,
        draws and bootstraps.
    image_size : the CNN's input size.
    folds, every_hours : folds over regions, and hours between issue times.
    cadence, horizon : a region is on the disk with a window ending in the last `cadence`; an event is
        a flare at `threshold` or above in the next `horizon`.
    source : the data source, written into the export.
    images : the CNN's inputs (an `ImageCache`), used for a CNN only.
    n_boot : bootstrap draws per interval.
    progress : hears about every fold trained.
    threshold : the peak flux of an event (the study: M1.0, 1e-5 W m^-2).
    """
    rows, runs, exports = [], {}, {}
    seed = int(train_params["seed"])
    for model in models:
        regions = out_of_fold(windows, sequences, dataset, model, TrainSettings.from_params(train_params, model), image_size,
                              images=images if model == "CNN" else None, k=folds, progress=progress)
        with atomic_path(Path(folder) / f"region_forecasts_{model}.csv") as path:
            regions.to_csv(path, index=False)
        times = issue_times(regions.end.min(), regions.end.max(), every_hours)
        for column in ("isotonic", "prior", "raw"):
            disk = full_disk(regions.assign(probability=regions[column]), flares, times, cadence, horizon,
                             threshold=threshold)
            if column == "isotonic":
                exports[model] = export_forecasts(disk, Path(folder) / f"full_disk_{model}.csv", source, model, dataset)
            for how, combined in COMBINATIONS:
                name = f"{model} {column} {combined}"
                runs[name] = [(disk.event.to_numpy(), disk[how].to_numpy())]
                rows.append(full_disk_scores(disk, name, how, n_boot=n_boot, seed=seed))
    return FullDiskForecasts(pd.DataFrame(rows).set_index("forecast"), runs, exports)
