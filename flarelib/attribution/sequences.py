"""Out-of-sample explanations (Section 4.4.2): k-fold cross-validation over regions, so that every
region explained is explained by a CNN that never saw it, and sequences that go from flare-quiet to
flare-imminent, chosen from the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from flarelib.datasets import Standardizer
from flarelib.images import ImageCache, cnn_input
from flarelib.training import FoldDraws, FoldFit, TrainSettings, train_held_out


def quiet_to_imminent(windows: pd.DataFrame, series: str = "SHARP", n: int = 2, regions: tuple[int, ...] = (),
                      lookback: pd.Timedelta = pd.Timedelta(hours=48)) -> pd.DataFrame:
    """Regions with a flare-quiet window (negative) later followed by a flare-imminent one (positive).
    The sequence runs from the earliest quiet window end within `lookback` of the first positive (or
    the last quiet one) to that positive; the `n` regions with the most positives, or those named.

    Parameters
    ----------
    windows : chapter 03's windows (a `label` of True, False or missing).
    series : "SHARP" or "SMARP".
    n : how many regions, when none are named.
    regions : region numbers to use instead of choosing.
    lookback : how far before the first positive the sequence may start.
    """
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


def train_fold(store, usable: pd.DataFrame, folds: dict[int, int], fold: int, image_size: int,
               settings: TrainSettings) -> FoldFit:
    """A CNN trained on the balanced samples of every other fold (20% of those regions validate);
    pixels standardized by the training images' mean and standard deviation.

    Parameters
    ----------
    store : the run's store (magnetograms).
    usable : the kept windows of the regions, with a boolean `label`.
    folds, fold : each region's fold (`flarelib.training.region_folds`), and the fold held out.
    image_size : the CNN's input size.
    settings : how to train; its seed drives the draws ("fold-val", "fold-train", "fold-valid").
    """
    images = ImageCache(store, image_size)
    return train_held_out("CNN", usable, folds, fold, settings=settings, image_size=image_size,
                          draws=FoldDraws(val_regions="fold-val", train="fold-train", val="fold-valid"),
                          scaler_for=lambda train: Standardizer.of_pixels(images(train)),
                          inputs=lambda rows, scaler: torch.as_tensor(scaler.pixels(images(rows))))


def sequence(store, series: str, arpnum: int, start: pd.Timestamp, end: pd.Timestamp, image_size: int,
             scaler: Standardizer, max_frames: int = 24) -> tuple[pd.DatetimeIndex, list[np.ndarray], np.ndarray]:
    """Record times, native magnetograms and standardized CNN inputs of a region from start to end
    (at most `max_frames`, evenly spaced, always keeping the first and last).

    Parameters
    ----------
    store : the run's store.
    series, arpnum : the region.
    start, end : the first and last record time.
    image_size : the CNN's input size.
    scaler : the standardization of the CNN that will read the frames.
    max_frames : at most this many frames.
    """
    records = store.records
    times = records[(records.SERIES == series) & (records.ARPNUM == arpnum) & records.T_REC.between(start, end)].T_REC.sort_values()
    if len(times) > max_frames:
        times = times.iloc[np.unique(np.linspace(0, len(times) - 1, max_frames).round().astype(int))]
    native = [np.nan_to_num(store.magnetogram(series, arpnum, t)[0]) for t in times]
    inputs = scaler.pixels(np.stack([cnn_input(f, series, image_size) for f in native]))
    return pd.DatetimeIndex(times), native, inputs


LIMB_CMD_DEG = 45.0  # frames further than this from central meridian count as near the limb


def inversion_line_shares(model: torch.nn.Module, scaler: Standardizer, life: tuple, records: pd.DataFrame,
                          series: str, arpnum: int, image_size: int, cdelt_deg: float = 0.03) -> pd.DataFrame:
    """Over every frame of a region's life (`life` as `sequence` returns it), Integrated Gradients
    against an empty field, and the share of the positive attribution within two pixels of a
    strong-field inversion line beside the share of pixels there; with each frame's distance from
    central meridian (CMD, the record's LON_FWT).

    Parameters
    ----------
    model, scaler : the fold's CNN and its standardization.
    life : (times, native magnetograms, CNN inputs) of the region's records.
    records : the store's records (for LON_FWT).
    series, arpnum : the region.
    image_size : the CNN's input size.
    cdelt_deg : the native pixel (degrees; HMI's 0.03 by default).
    """
    from flarelib.attribution.methods import attribute, near_inversion_lines, positive_share_near_pil

    times, native, frames = life
    empty = np.full(frames.shape[1:], scaler.pixels(np.zeros(1))[0])
    maps = attribute(model, frames, "IntegratedGradients", baseline=empty, steps=64, output="probability")
    cmd = records.set_index(["SERIES", "ARPNUM", "T_REC"]).LON_FWT
    rows = []
    for t, field, m in zip(times, native, maps):
        share, area = positive_share_near_pil(m, near_inversion_lines(field, image_size, cdelt_deg))
        rows.append({"HARP": arpnum, "T_REC": t, "CMD": cmd[(series, arpnum, t)], "share near PIL": share, "pixel share": area})
    return pd.DataFrame(rows)


def limb_or_disk(shares: pd.DataFrame) -> pd.DataFrame:
    """`inversion_line_shares` of several regions with where each frame is (limb or disk) and the
    ratio of the attribution share to the pixel share (above 1: the CNN looks at inversion lines
    more than at random)."""
    if shares.empty:
        return shares
    where = np.where(shares.CMD.abs() > LIMB_CMD_DEG, f"limb (|CMD| > {LIMB_CMD_DEG:g})", f"disk (|CMD| <= {LIMB_CMD_DEG:g})")
    return shares.assign(where=where, ratio=shares["share near PIL"] / shares["pixel share"].replace(0, np.nan))
