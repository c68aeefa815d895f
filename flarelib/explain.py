"""Out-of-sample explanations (Section 4.4.2): k-fold cross-validation over regions, so that every
region explained is explained by a CNN that never saw it, and sequences that go from flare-quiet to
flare-imminent, chosen from the data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from flarelib.datasets import Standardizer, rng_for, undersample
from flarelib.images import cnn_input, last_record_images
from flarelib.training import TrainSettings, fit


def region_folds(arpnums: np.ndarray, k: int, seed: int) -> dict[int, int]:
    """Each region's fold (0 .. k-1), a function of the seed."""
    regions = rng_for(seed, "folds").permutation(np.unique(arpnums))
    return {int(r): i % k for i, r in enumerate(regions)}


def quiet_to_imminent(windows: pd.DataFrame, series: str = "SHARP", n: int = 2, regions: tuple[int, ...] = (),
                      lookback: pd.Timedelta = pd.Timedelta(hours=48)) -> pd.DataFrame:
    """Regions with a flare-quiet window (negative) later followed by a flare-imminent one (positive).
    The sequence runs from the earliest quiet window end within `lookback` of the first positive (or
    the last quiet one) to that positive; the `n` regions with the most positives, or those named."""
    kept = windows[(windows.SERIES == series) & windows.label.notna()]
    rows = []
    for arpnum, group in kept.sort_values("end").groupby("ARPNUM"):
        label = group.label.astype(bool).to_numpy()
        if not label.any():
            continue
        first = int(np.argmax(label))
        quiet = np.flatnonzero(~label[:first])
        if quiet.size == 0:
            continue
        imminent = group.end.iloc[first]
        recent = quiet[group.end.iloc[quiet].to_numpy() >= imminent - lookback]  # a sequence long enough to evolve
        start = group.end.iloc[recent[0] if recent.size else quiet[-1]]
        rows.append({"ARPNUM": int(arpnum), "quiet_end": start, "imminent_end": imminent,
                     "positives": int(label.sum())})
    table = pd.DataFrame(rows, columns=["ARPNUM", "quiet_end", "imminent_end", "positives"])
    if regions:
        return table[table.ARPNUM.isin(regions)].reset_index(drop=True)
    return table.sort_values("positives", ascending=False).head(n).reset_index(drop=True)


@dataclass
class FoldModel:
    model: torch.nn.Module
    scaler: Standardizer
    fold: int
    n_train: int


def train_fold(store, usable: pd.DataFrame, folds: dict[int, int], fold: int, image_size: int, settings: TrainSettings) -> FoldModel:
    """A CNN trained on the balanced samples of every other fold (20% of those regions validate)."""
    others = usable[usable.ARPNUM.map(folds) != fold]
    regions = rng_for(settings.seed, "fold-val", fold).permutation(np.unique(others.ARPNUM))
    val_regions = set(regions[: max(1, len(regions) // 5)])
    train = undersample(others[~others.ARPNUM.isin(val_regions)], rng_for(settings.seed, "fold-train", fold))
    val = undersample(others[others.ARPNUM.isin(val_regions)], rng_for(settings.seed, "fold-valid", fold))
    train_images, val_images = last_record_images(store, train, image_size), last_record_images(store, val, image_size)
    scaler = Standardizer({}, {}, float(train_images.mean()), float(train_images.std()))
    as_tensors = lambda images, rows: (torch.as_tensor(scaler.pixels(images)), torch.as_tensor(rows.label.to_numpy().astype(int)))
    result = fit("CNN", as_tensors(train_images, train), as_tensors(val_images, val), settings, image_size)
    return FoldModel(result.model.eval(), scaler, fold, len(train))


def sequence(store, series: str, arpnum: int, start: pd.Timestamp, end: pd.Timestamp, image_size: int,
             scaler: Standardizer, max_frames: int = 24) -> tuple[pd.DatetimeIndex, list[np.ndarray], np.ndarray]:
    """Record times, native magnetograms and standardized CNN inputs of a region from start to end
    (at most `max_frames`, evenly spaced, always keeping the first and last)."""
    records = store.records
    times = records[(records.SERIES == series) & (records.ARPNUM == arpnum) & records.T_REC.between(start, end)].T_REC.sort_values()
    if len(times) > max_frames:
        times = times.iloc[np.unique(np.linspace(0, len(times) - 1, max_frames).round().astype(int))]
    native = [np.nan_to_num(store.magnetogram(series, arpnum, t)[0]) for t in times]
    inputs = scaler.pixels(np.stack([cnn_input(f, series, image_size) for f in native]))
    return pd.DatetimeIndex(times), native, inputs
