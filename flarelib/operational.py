"""Forecasts at the real event rate (chapter 09, beyond the study): every window of the test regions
instead of a balanced subset, probabilities corrected from the balanced training prior to the
climatological rate (Elkan 2001) and recalibrated on the validation regions, thresholds chosen on
validation, and verification against a fixed climatology.

The models were trained on balanced sets, so their raw probabilities answer "is this window more like
a positive or a negative one?" with a prior of one half; a forecaster needs the probability at the
real rate of a few percent. Nothing here looks at the test set to choose anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve

from flarelib.datasets import (DATASETS, OTHER, Standardizer, fit_standardizer, rng_for, split_regions,
                               standardizer_from_attrs, undersample)
from flarelib.metrics import scores
from flarelib.significance import bootstrap_ci, paired_greater

Calibrator = Callable[[np.ndarray], np.ndarray]
EPS = 1e-6


# --- Which windows: all usable windows of a series, split by region as the sweep split them -------

def usable(windows: pd.DataFrame, max_bad: int) -> pd.Series:
    """Windows whose records pass the bad-record rules, whatever their label (a forecast is issued
    for a window with a weak flare too; only verification needs a label)."""
    return (windows.n_bad <= max_bad) & ~windows.last_bad.astype(bool)


def unbalanced_split(windows: pd.DataFrame, series: str, seed: int, test_fraction: float, val_fraction: float,
                     max_bad: int) -> pd.DataFrame:
    """Every usable window of a series with the split of its region: the same assignment as the
    sweep's datasets (`split_regions` on the regions with kept windows), with no undersampling.
    `labelled` marks the kept windows (positive or negative) that verification uses."""
    mine = windows[(windows.SERIES == series) & usable(windows, max_bad)]
    kept = mine[mine.keep.astype(bool)]
    assignment = split_regions(kept.ARPNUM.to_numpy(), seed, series, test_fraction, val_fraction)
    out = mine.assign(split=mine.ARPNUM.map(assignment), labelled=mine.keep.astype(bool))
    return out[out.split.notna()]


def climatology(split_windows: pd.DataFrame) -> float:
    """The event rate of the training regions' kept windows: the prior a forecast should carry."""
    train = split_windows[(split_windows.split == "train") & split_windows.labelled]
    return float(train.label.astype(bool).mean())


# --- Models and inputs -------------------------------------------------------------------------------

def load_model(folder: Path, model_name: str, image_size: int) -> torch.nn.Module:
    from flarelib.models import build_model

    model = build_model(model_name, image_size)
    model.load_state_dict(torch.load(Path(folder) / "checkpoint.pt", map_location="cpu", weights_only=True))
    return model.eval()


def model_inputs(model_name: str, rows: pd.DataFrame, sequences: np.ndarray, scaler: Standardizer,
                 images: Callable[[pd.DataFrame], np.ndarray] | None) -> torch.Tensor:
    """Standardized inputs of the given windows: keyword sequences, or last-record images."""
    if model_name == "LSTM":
        return torch.as_tensor(scaler.keywords(sequences[rows.index.to_numpy()], rows.SERIES.to_numpy()))
    if images is None:
        raise ValueError("the CNN needs magnetograms, which this source does not have")
    return torch.as_tensor(scaler.pixels(images(rows)))


class ImageCache:
    """Last-record CNN inputs rendered once per window and reused across seeds and models."""

    def __init__(self, store, size: int):
        self.store, self.size, self.cache = store, size, {}

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        from flarelib.images import last_record_images

        todo = rows.loc[[i for i in rows.index if i not in self.cache]]
        if len(todo):
            self.cache.update(zip(todo.index, last_record_images(self.store, todo, self.size)))
        return np.stack([self.cache[i] for i in rows.index]) if len(rows) else np.zeros((0, self.size, self.size), np.float32)


# --- Prior correction and recalibration ------------------------------------------------------------

def prior_shift(p: np.ndarray, from_prior: float, to_prior: float) -> np.ndarray:
    """Bayes' rule for a change of class prior (Elkan 2001, Theorem 2): a posterior learnt at
    prior `from_prior` becomes the posterior at `to_prior`, the likelihood ratio unchanged."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    up = to_prior / from_prior * p
    down = (1 - to_prior) / (1 - from_prior) * (1 - p)
    return up / (up + down)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _constant(rate: float) -> Calibrator:
    return lambda q: np.full(np.shape(q), rate, dtype=float)


def fit_isotonic(p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Isotonic regression of the outcome on the probability: non-decreasing, step-wise."""
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(p, float), np.asarray(y, float))
    return lambda q: model.predict(np.asarray(q, float))


def fit_platt(p: np.ndarray, y: np.ndarray) -> Calibrator:
    """Platt scaling: a logistic regression on the logit of the probability. A slope that is not
    positive (a model ranking no better than chance on validation) would reverse the ranking; the
    validation event rate is forecast instead, which is monotone and honest."""
    if len(np.unique(y)) < 2:
        return _constant(float(np.mean(y)))
    model = LogisticRegression(C=1e6).fit(_logit(p)[:, None], np.asarray(y, int))
    if model.coef_[0, 0] <= 0:
        return _constant(float(np.mean(y)))
    return lambda q: model.predict_proba(_logit(q)[:, None])[:, 1]


def fit_binning(p: np.ndarray, y: np.ndarray, bins: int = 10) -> Calibrator:
    """Histogram binning: equal-count bins of the validation probabilities, each forecasting its
    event rate; adjacent bins out of order are pooled (weighted by their counts), so that a higher
    raw probability never gets a lower forecast."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)[1:-1]))
    which = np.searchsorted(edges, p, side="right")
    count = np.bincount(which, minlength=edges.size + 1)
    rate = np.bincount(which, weights=y, minlength=edges.size + 1) / np.maximum(count, 1)
    filled = count > 0
    pooled = np.full(edges.size + 1, np.nan)
    pooled[filled] = IsotonicRegression().fit(np.flatnonzero(filled), rate[filled], sample_weight=count[filled]).predict(np.flatnonzero(filled))
    pooled = pd.Series(pooled).ffill().bfill().to_numpy()  # an empty bin takes its neighbour's rate
    return lambda q: pooled[np.searchsorted(edges, np.asarray(q, float), side="right")]


RECALIBRATORS = {"isotonic": fit_isotonic, "platt": fit_platt, "binning": fit_binning}
METHODS = ["raw", "prior", *RECALIBRATORS]


def calibrated(val: pd.DataFrame, test: pd.DataFrame, train_prior: float, rate: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add a column per method to the validation and test windows (column `raw` holds the model's
    probability): `prior` (Bayes' rule to the climatological rate) and each recalibrator fitted on the
    validation windows' raw probabilities and labels."""
    val, test = val.copy(), test.copy()
    for frame in (val, test):
        frame["prior"] = prior_shift(frame.raw, train_prior, rate)
    labelled = val[val.labelled]
    for name, fit in RECALIBRATORS.items():
        if labelled.empty:  # nothing to learn from: the climatology is the honest forecast
            calibrator = _constant(rate)
        else:
            calibrator = fit(labelled.raw.to_numpy(), labelled.label.astype(int).to_numpy())
        val[name], test[name] = calibrator(val.raw.to_numpy()), calibrator(test.raw.to_numpy())
    return val, test


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximizes TSS (hit rate minus false-alarm rate), from the ROC curve."""
    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(np.asarray(y, int), np.asarray(p, float))
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def verify(val: pd.DataFrame, test: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Per method, on the test windows with a label: TSS at 0.5 and at the threshold chosen on
    validation, ACC, HSS, AUC, and BSS against the fixed training climatology."""
    rows = []
    val, test = val[val.labelled], test[test.labelled]
    y_val, y = val.label.astype(int).to_numpy(), test.label.astype(int).to_numpy()
    for method in METHODS:
        threshold = best_threshold(y_val, val[method].to_numpy())
        at_half = scores(y, test[method].to_numpy(), 0.5, climatology=rate)
        chosen = scores(y, test[method].to_numpy(), threshold, climatology=rate)
        rows.append({"method": method, "TSS@0.5": at_half["TSS"], "HSS@0.5": at_half["HSS"], "ACC@0.5": at_half["ACC"],
                     "threshold": threshold, "TSS@val": chosen["TSS"], "HSS@val": chosen["HSS"],
                     "BSS": at_half["BSS"], "AUC": at_half["AUC"], "event_rate": float(y.mean()) if len(y) else np.nan,
                     "climatology": rate, "n": len(y)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CellForecasts:
    windows: pd.DataFrame  # val and test windows with raw and calibrated probabilities
    scores: pd.DataFrame  # per method
    climatology: float
    train_prior: float


def forecast_cell(dataset_file, cell_folder: Path, model_name: str, split_windows: pd.DataFrame, sequences: np.ndarray,
                  images: Callable | None, image_size: int) -> CellForecasts:
    """One trained cell of the sweep, evaluated on every usable window of its validation and test
    regions: raw probabilities, prior correction, recalibration, verification."""
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
        parts[split] = rows.assign(raw=predict(model, model_inputs(model_name, rows, sequences, scaler, images)))
    rate = climatology(split_windows)
    val, test = calibrated(parts["val"], parts["test"], train_prior, rate)
    return CellForecasts(pd.concat([val, test]), verify(val, test, rate), rate, train_prior)


# --- Full-disk forecasts ---------------------------------------------------------------------------

FULL_DISK_COLUMNS = ["issue_time", "valid_from", "valid_to", "probability", "probability_max", "regions",
                     "region_probabilities", "event", "source", "model", "dataset"]


def issue_times(start: pd.Timestamp, end: pd.Timestamp, every_hours: int = 6) -> pd.DatetimeIndex:
    """Issue times at 00, 06, 12, 18 UT (for every 6 h) from start to end."""
    return pd.date_range(pd.Timestamp(start).ceil(f"{every_hours}h"), pd.Timestamp(end).floor(f"{every_hours}h"),
                         freq=f"{every_hours}h")


def full_disk(region_forecasts: pd.DataFrame, flares: pd.DataFrame, times: pd.DatetimeIndex,
              cadence: pd.Timedelta = pd.Timedelta(minutes=96), horizon: pd.Timedelta = pd.Timedelta(hours=24),
              column: str = "probability") -> pd.DataFrame:
    """Combine the regions on the disk at each issue time into one forecast.

    A region is on the disk at t when it has a window ending in (t - cadence, t]; its latest such
    window's probability counts. Combined: 1 - prod(1 - p_i) (regions flaring independently) and
    max p_i. Observed: any M1.0+ flare peaking in (t, t + horizon], with or without a NOAA region."""
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
    strong = np.sort(flares.peak_time[is_strong(flares.peak_flux.to_numpy())].to_numpy(dtype="datetime64[ns]"))
    a, b = (np.searchsorted(strong, edge, side="right") for edge in (grid, grid + np.timedelta64(horizon)))
    table["event"] = (b > a).astype(int)
    table["valid_from"], table["valid_to"] = times, times + horizon
    return table[["issue_time", "valid_from", "valid_to", "probability", "probability_max", "regions",
                  "region_probabilities", "event"]]


def export_forecasts(table: pd.DataFrame, path: Path, source: str, model: str, dataset: str) -> Path:
    """Write full-disk forecasts as a plain CSV a scoreboard can ingest: one row per issue time,
    ISO 8601 UTC times, probabilities in [0, 1] with 4 decimals, the observed outcome (0/1)."""
    out = table.assign(source=source, model=model, dataset=dataset)[FULL_DISK_COLUMNS].copy()
    for column in ("issue_time", "valid_from", "valid_to"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%dT%H:%MZ")
    out.to_csv(path, index=False, float_format="%.4f")
    return Path(path)


def target_series(dataset: str) -> str:
    return DATASETS[dataset][0]


# --- Out-of-fold forecasts for every region (full disk) -----------------------------------------------

def _tensors(model_name: str, rows: pd.DataFrame, sequences: np.ndarray, scaler: Standardizer, images) -> tuple:
    x = model_inputs(model_name, rows, sequences, scaler, images)
    return x, torch.as_tensor(rows.label.astype(bool).to_numpy().astype(int))


def fit_scaler(train: pd.DataFrame, sequences: np.ndarray, images) -> Standardizer:
    """Keyword statistics per series over every step of the training windows' sequences, pixel
    statistics over their images (when a CNN needs them): leak-free, from training regions only."""
    from flarelib.sampling import KEYWORDS

    steps = sequences.shape[1]
    values = pd.DataFrame(sequences[train.index.to_numpy()].reshape(-1, len(KEYWORDS)).astype(np.float64), columns=KEYWORDS)
    values["SERIES"] = np.repeat(train.SERIES.to_numpy(), steps)
    return fit_standardizer(values, KEYWORDS, images(train) if images is not None else np.zeros(1))


def out_of_fold(windows: pd.DataFrame, sequences: np.ndarray, dataset: str, model_name: str, settings, image_size: int,
                max_bad: int, images=None, k: int = 5) -> pd.DataFrame:
    """A forecast for every usable window of the dataset's target series by a model that never saw
    its region: k folds over the target's regions; in each, the other folds train (20% of their
    regions validate; the other instrument's windows join training for a fused dataset), balanced by
    undersampling as in the study. Then Bayes' rule to the training climatology and isotonic
    recalibration on the fold's validation regions. Columns: the window, label, labelled, fold, raw,
    prior, isotonic (the forecast)."""
    from flarelib.explain import region_folds
    from flarelib.training import fit, predict

    series, fused = DATASETS[dataset]
    ok = windows[usable(windows, max_bad)].assign(labelled=lambda w: w.keep.astype(bool))
    target = ok[ok.SERIES == series]
    folds = region_folds(target[target.labelled].ARPNUM.to_numpy(), k, settings.seed)
    target = target[target.ARPNUM.isin(list(folds))].assign(fold=lambda w: w.ARPNUM.map(folds))
    other = ok[(ok.SERIES == OTHER[series]) & ok.labelled] if fused else ok.iloc[:0]
    out = []
    for fold in range(k):
        rest = target[target.fold != fold]
        regions = rng_for(settings.seed, "oof-val", fold).permutation(np.unique(rest.ARPNUM))
        val_regions = set(regions[: max(1, len(regions) // 5)])
        val = rest[rest.ARPNUM.isin(val_regions)]
        train_target = rest[~rest.ARPNUM.isin(val_regions) & rest.labelled]
        train_all = pd.concat([train_target, other])
        train = undersample(train_all.assign(label=train_all.label.astype(bool)), rng_for(settings.seed, "oof-train", fold))
        val_balanced = undersample(val[val.labelled].assign(label=lambda v: v.label.astype(bool)), rng_for(settings.seed, "oof-bal", fold))
        scaler = fit_scaler(train, sequences, images)
        result = fit(model_name, _tensors(model_name, train, sequences, scaler, images),
                     _tensors(model_name, val_balanced, sequences, scaler, images), settings, image_size)
        held_out = target[target.fold == fold]
        val = val.assign(raw=predict(result.model, model_inputs(model_name, val, sequences, scaler, images)))
        held_out = held_out.assign(raw=predict(result.model, model_inputs(model_name, held_out, sequences, scaler, images)))
        rate = float(train_target.label.astype(bool).mean())
        val, held_out = calibrated(val, held_out, float(train.label.mean()), rate)
        out.append(held_out.assign(climatology=rate))
    return pd.concat(out).sort_values(["ARPNUM", "end"])


# --- Cross-cycle transfer ------------------------------------------------------------------------------

TRANSFER_VARIANTS = ["own cycle", "other cycle", "concatenated", "fine-tuned"]
TRANSFER_COLUMNS = ["variant", "target", "n_train", "epochs", "TSS", "AUC", "BSS", "ACC"]


def _balanced(mask: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices of `mask`, balanced by the study's undersampling (`datasets.undersample`)."""
    rows = np.flatnonzero(mask)
    return undersample(pd.DataFrame({"label": labels[rows] == 1}, index=rows), rng).index.to_numpy()


def transfer(ds, model_name: str, settings, image_size: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """On a fused dataset file (target instrument's val and test; training = target's training
    regions + every region of the other instrument): train on the target's cycle only, on the other
    cycle only (each subset balanced again), on both concatenated (the study's fusion), and on the
    other cycle then fine-tuned on the target's (the study's suggestion). Returns test scores of each
    on the same test windows, and their test predictions (for region bootstraps)."""
    from flarelib.training import fit, predict

    split, series = ds.split.values, ds.series.values
    if not (split == "test").any() or not (split == "val").any():
        return pd.DataFrame(columns=TRANSFER_COLUMNS), {}
    target = str(series[split == "test"][0])
    x = torch.as_tensor(ds.sequence.values if model_name == "LSTM" else ds.image.values)
    labels = ds.label.values.astype(int)
    y = torch.as_tensor(labels)
    pick = lambda rows: (x[rows], y[rows])
    train, val, test = split == "train", pick(split == "val"), pick(split == "test")
    rng = rng_for(settings.seed, "transfer", target)
    own = pick(_balanced(train & (series == target), labels, rng))
    other = pick(_balanced(train & (series != target), labels, rng))
    if not len(own[1]) or not len(other[1]):  # a cycle without a positive training window: nothing to compare
        return pd.DataFrame(columns=TRANSFER_COLUMNS), {}
    models = {"own cycle": fit(model_name, own, val, settings, image_size),
              "other cycle": fit(model_name, other, val, settings, image_size),
              "concatenated": fit(model_name, pick(train), val, settings, image_size)}
    models["fine-tuned"] = fit(model_name, own, val, settings, image_size,
                               init_state={k: v.cpu() for k, v in models["other cycle"].model.state_dict().items()})
    n_train = {"own cycle": len(own[1]), "other cycle": len(other[1]), "concatenated": int(train.sum()),
               "fine-tuned": len(own[1])}
    rows, predictions = [], {}
    base = pd.DataFrame({"series": series[split == "test"], "arpnum": ds.arpnum.values[split == "test"], "label": test[1].numpy()})
    for variant in TRANSFER_VARIANTS:
        prob = predict(models[variant].model, test[0])
        predictions[variant] = base.assign(prob=prob)
        rows.append({"variant": variant, "target": target, "n_train": n_train[variant], "epochs": len(models[variant].history),
                     **{k: v for k, v in scores(test[1].numpy(), prob).items() if k in ("TSS", "AUC", "BSS", "ACC")}})
    return pd.DataFrame(rows), predictions


# --- The sweep at the real rate --------------------------------------------------------------------

def evaluate_sweep(cells: list, datasets_dir: Path, cells_dir: Path, windows: pd.DataFrame, sequences: np.ndarray,
                   images, image_size: int, test_fraction: float, val_fraction: float, max_bad: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every trained cell of the sweep on the unbalanced validation and test windows of its regions.
    Returns the scores (cell, method, metrics) and the test windows' probabilities of every cell."""
    from flarelib.datasets import dataset_path

    splits, score_rows, forecast_rows = {}, [], []
    for cell in cells:
        series = target_series(cell.dataset)
        key = (series, cell.seed)
        if key not in splits:
            splits[key] = unbalanced_split(windows, series, cell.seed, test_fraction, val_fraction, max_bad)
        result = forecast_cell(dataset_path(datasets_dir, cell.dataset, cell.seed), cell.folder(cells_dir), cell.model,
                               splits[key], sequences, images if cell.model == "CNN" else None, image_size)
        labels = dict(dataset=cell.dataset, model=cell.model, seed=cell.seed)
        score_rows.append(result.scores.assign(**labels, train_prior=result.train_prior))
        test = result.windows[(result.windows.split == "test") & result.windows.labelled]
        forecast_rows.append(test[["SERIES", "ARPNUM", "end", "label", *METHODS]].assign(**labels))
    return pd.concat(score_rows, ignore_index=True), pd.concat(forecast_rows, ignore_index=True)


def summary(scores_table: pd.DataFrame, columns: tuple[str, ...] = ("TSS@0.5", "TSS@val", "BSS", "AUC")) -> pd.DataFrame:
    """Mean and standard deviation over seeds, per dataset, model and method."""
    table = scores_table.groupby(["dataset", "model", "method"], sort=False)[list(columns)].agg(["mean", "std"])
    table.columns = [f"{c} {s}" for c, s in table.columns]
    return table


def _fast_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half), for bootstrap loops; equal to
    sklearn's roc_auc_score (a test checks)."""
    from scipy.stats import rankdata

    ranks = rankdata(p)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def seed_statistic(metric: str, thresholds: dict | None = None) -> Callable[[pd.DataFrame], float]:
    """The mean over seeds of a metric of one method's forecasts (`prob`), for bootstraps: TSS at
    each seed's validation threshold (`thresholds[seed]`) or at 0.5, BSS against the table's
    `climatology`, or AUC. Plain numpy, as it runs thousands of times."""

    def one(seed: int, y: np.ndarray, p: np.ndarray, rate: float) -> float:
        positives = y.sum()
        if positives == 0 or positives == len(y):
            return float("nan")
        if metric == "TSS":
            yes = p >= (thresholds[seed] if thresholds else 0.5)
            return float(yes[y == 1].mean() - yes[y == 0].mean())
        if metric == "BSS":
            return float(1 - np.mean((p - y) ** 2) / np.mean((rate - y) ** 2))
        return _fast_auc(y, p)

    def statistic(table: pd.DataFrame) -> float:
        seeds = table.seed.to_numpy()
        y, p = table.label.astype(int).to_numpy(), table.prob.to_numpy(dtype=float)
        rate = table.climatology.to_numpy(dtype=float) if metric == "BSS" else np.zeros(len(table))
        values = [one(s, y[seeds == s], p[seeds == s], rate[seeds == s][0]) for s in np.unique(seeds)]
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    return statistic


# --- Chapter 09's tables ---------------------------------------------------------------------------

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
    regions within each seed."""
    rows = []
    for model in models:
        for method in METHODS:
            cell = test_forecasts[(test_forecasts.dataset == dataset) & (test_forecasts.model == model)].rename(columns={method: "prob"})
            mine = scores_table[(scores_table.dataset == dataset) & (scores_table.model == model) & (scores_table.method == method)]
            cell = cell.merge(mine[["seed", "climatology"]], on="seed")
            thresholds = dict(zip(mine.seed, mine.threshold))
            for metric, statistic in (("TSS@val", seed_statistic("TSS", thresholds)), ("BSS", seed_statistic("BSS")),
                                      ("AUC", seed_statistic("AUC"))):
                value, low, high = bootstrap_ci(cell, statistic, ["ARPNUM"], n_boot=n_boot, seed=seed, strata="seed")
                rows.append({"model": model, "method": method, "metric": metric, "value": value, "95% low": low, "95% high": high})
    return pd.DataFrame(rows)


def full_disk_scores(disk: pd.DataFrame, name: str, column: str, n_boot: int = 300, seed: int = 0) -> dict:
    """One full-disk forecast (`column`: probability or probability_max) verified at threshold 0.5:
    TSS, BSS against the period's event rate, AUC, each with a 95% interval from resampling days."""
    day = disk.assign(prob=disk[column], label=disk.event, seed=0, day=disk.issue_time.dt.floor("D"),
                      climatology=disk.event.mean())
    row = {"forecast": name, "issue times": len(disk), "event rate": disk.event.mean(),
           "mean regions on disk": disk.regions.mean(), "share with no region": (disk.regions == 0).mean()}
    for metric in ("TSS", "BSS", "AUC"):
        value, low, high = bootstrap_ci(day, seed_statistic(metric), ["day"], n_boot=n_boot, seed=seed)
        row.update({metric: value, f"{metric} 95%": f"{low:.3f}-{high:.3f}"})
    return row


def transfer_significance(transfer_table: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 300,
                          seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per target and model: the one-sided paired t-test of fine-tuned > concatenated (TSS over
    seeds), and each variant's mean TSS with a 95% interval from resampling test regions per seed.
    `predictions` stacks `transfer`'s test predictions with variant, model and seed columns."""
    tests, intervals = [], []
    for (target, model), part in transfer_table.groupby(["target", "model"]) if len(transfer_table) else []:
        wide = part.pivot_table(index="seed", columns="variant", values="TSS")
        t, p = paired_greater(wide["fine-tuned"], wide["concatenated"]) if len(wide) > 1 else (np.nan, np.nan)
        tests.append({"target": target, "model": model, "H1": "fine-tuned > concatenated (TSS)", "t": t, "p": p, "n": len(wide)})
        for variant in TRANSFER_VARIANTS:
            mine = predictions[(predictions.variant == variant) & (predictions.model == model) & (predictions.series == target)]
            value, low, high = bootstrap_ci(mine.rename(columns={"arpnum": "ARPNUM"}), seed_statistic("TSS"), ["ARPNUM"],
                                            n_boot=n_boot, seed=seed, strata="seed")
            intervals.append({"target": target, "model": model, "variant": variant, "TSS": value, "95% low": low, "95% high": high})
    return pd.DataFrame(tests), pd.DataFrame(intervals)
