"""Out-of-sample explanations (Section 4.4.2): k-fold cross-validation over regions, so that every
region explained is explained by a CNN that never saw it, and sequences that go from flare-quiet to
flare-imminent, chosen from the data."""

from __future__ import annotations

from dataclasses import dataclass

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


RISE_CANDIDATES = 10  # regions whose forecast rise is measured, per region explained (the teach run: of the 4
# regions with the most positives none rose by 0.1, their first flares coming out of quiet records)


def candidates(windows: pd.DataFrame, series: str, n: int, regions: tuple[int, ...] = ()) -> pd.DataFrame:
    """The regions whose out-of-fold forecast rise is measured: `RISE_CANDIDATES` times the `n` to be
    explained (`quiet_to_imminent`), or the regions named."""
    return quiet_to_imminent(windows, series, n * RISE_CANDIDATES, regions)


def forecast_rise(store, series: str, chosen: pd.DataFrame, fits: dict[int, FoldFit], folds: dict[int, int],
                  image_size: int) -> pd.DataFrame:
    """The out-of-fold CNN forecast at the first (quiet) and last (imminent) record of each region's
    sequence, and its rise: a region is worth explaining only where the forecast moved.

    Parameters
    ----------
    store : the run's store.
    series : "SHARP" or "SMARP".
    chosen : the candidate regions and their sequences (`candidates`).
    fits, folds : the CNN of each fold (`fold_models`), and each region's fold.
    image_size : the CNN's input size.
    """
    from flarelib.attribution.methods import probability

    rows = []
    for row in chosen.itertuples():
        fit = fits[folds[int(row.ARPNUM)]]
        frames = [cnn_input(np.nan_to_num(store.magnetogram(series, row.ARPNUM, t)[0]), series, image_size)
                  for t in (row.quiet_end, row.imminent_end)]
        quiet, imminent = probability(fit.model, fit.scaler.pixels(np.stack(frames)))
        rows.append({"ARPNUM": int(row.ARPNUM), "fold": fit.fold, "positives": int(row.positives),
                     "forecast when quiet": float(quiet), "forecast when imminent": float(imminent),
                     "rise": float(imminent - quiet)})
    return pd.DataFrame(rows, columns=["ARPNUM", "fold", "positives", "forecast when quiet", "forecast when imminent", "rise"])


def rising(chosen: pd.DataFrame, rises: pd.DataFrame, n: int, min_rise: float) -> pd.DataFrame:
    """The `n` candidates whose forecast rose most, among those that rose by at least `min_rise`
    (possibly none: the chapter then says so)."""
    up = rises[rises.rise >= min_rise].sort_values("rise", ascending=False).head(n)
    return chosen.set_index("ARPNUM").loc[up.ARPNUM].reset_index()


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


def fold_models(store, windows: pd.DataFrame, series: str, folds: dict[int, int], chosen: pd.DataFrame,
                image_size: int, settings: TrainSettings) -> dict[int, FoldFit]:
    """One CNN per fold that holds a chosen region, trained on every other fold (`train_fold`), by fold.

    Parameters
    ----------
    store : the run's store (magnetograms).
    windows : chapter 03's windows; the kept ones of `series` train.
    series : "SHARP" or "SMARP".
    folds : each region's fold (`flarelib.training.region_folds`).
    chosen : the regions to explain (`quiet_to_imminent`).
    image_size, settings : the CNN's input size and how to train it.
    """
    usable = windows[windows.keep & (windows.SERIES == series)].assign(label=lambda d: d.label.astype(bool))
    needed = dict.fromkeys(folds[int(a)] for a in chosen.ARPNUM)  # in the order the regions come
    return {fold: train_fold(store, usable, folds, fold, image_size, settings) for fold in needed}


Frames = tuple[pd.DatetimeIndex, list[np.ndarray], np.ndarray]  # record times, native fields, CNN inputs


@dataclass
class Explained:
    """A region explained by the CNN of the fold that never saw it: its whole life and its quiet-to-imminent
    sequence, as `sequence` returns them."""

    arpnum: int
    series: str
    fit: FoldFit
    noaa: str  # the region's NOAA numbers as the records give them ("11429,11430")
    life: Frames
    sequence: Frames

    @property
    def title(self) -> str:
        return f"HARP {self.arpnum} (NOAA {self.noaa}), explained by the CNN of fold {self.fit.fold}"


def explain_regions(store, series: str, chosen: pd.DataFrame, fits: dict[int, FoldFit], folds: dict[int, int],
                    image_size: int, life_frames: int = 80, sequence_frames: int = 16) -> dict[int, Explained]:
    """Each chosen region's frames, standardized for the CNN of its fold: its whole life (at most
    `life_frames`) and its quiet-to-imminent sequence (at most `sequence_frames`), by region.

    Parameters
    ----------
    store : the run's store.
    series : "SHARP" or "SMARP".
    chosen : the regions and their sequences (`quiet_to_imminent`).
    fits, folds : the CNN of each fold (`fold_models`), and each region's fold.
    image_size : the CNN's input size.
    life_frames, sequence_frames : at most this many frames of the life and of the sequence.
    """
    explained = {}
    for row in chosen.itertuples():
        fit = fits[folds[int(row.ARPNUM)]]
        records = store.records[(store.records.SERIES == series) & (store.records.ARPNUM == row.ARPNUM)]
        life = sequence(store, series, row.ARPNUM, records.T_REC.min(), records.T_REC.max(), image_size, fit.scaler, life_frames)
        quiet = sequence(store, series, row.ARPNUM, row.quiet_end, row.imminent_end, image_size, fit.scaler, sequence_frames)
        explained[int(row.ARPNUM)] = Explained(int(row.ARPNUM), series, fit, str(records.NOAA_ARS.iloc[0]), life, quiet)
    return explained


def completeness(explained: dict[int, Explained], steps: int = 128) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Integrated Gradients of each sequence's last frame against its first (the change from quiet to
    imminent), and its completeness: the map's sum beside the change of probability it explains.
    Returns the table (one row per region) and the maps, by region.

    Parameters
    ----------
    explained : the regions (`explain_regions`).
    steps : the integral's steps.
    """
    from flarelib.attribution.methods import attribute, probability

    rows, maps = [], {}
    for arpnum, region in explained.items():
        model, frames = region.fit.model, region.sequence[2]
        maps[arpnum] = attribute(model, frames[-1:], "IntegratedGradients", baseline=frames[0], steps=steps,
                                 output="probability")[0]
        first, last = (float(p) for p in probability(model, frames[[0, -1]]))
        rows.append({"HARP": arpnum, "P(first)": first, "P(last)": last, "sum of IG map": float(maps[arpnum].sum()),
                     "change of P": last - first})
    columns = ["HARP", "P(first)", "P(last)", "sum of IG map", "change of P"]
    return pd.DataFrame(rows, columns=columns), maps


def completeness_error(table: pd.DataFrame) -> float:
    """The largest gap between an Integrated Gradients map's sum and the change of probability (NaN: no region)."""
    return float((table["sum of IG map"] - table["change of P"]).abs().max()) if len(table) else float("nan")


def time_path_table(explained: dict[int, Explained], steps_between: int = 16) -> pd.DataFrame:
    """Integrated Gradients along each sequence's own path, frame after frame (the study's proposal):
    the map's sum and the quadrature error of its completeness, one row per region."""
    from flarelib.attribution.methods import time_path_ig

    rows = []
    for arpnum, region in explained.items():
        path_map, error = time_path_ig(region.fit.model, region.sequence[2], steps_between=steps_between)
        rows.append({"HARP": arpnum, "time-path IG sum": float(path_map.sum()), "quadrature error": error})
    return pd.DataFrame(rows, columns=["HARP", "time-path IG sum", "quadrature error"])


def inversion_line_table(explained: dict[int, Explained], records: pd.DataFrame, image_size: int) -> pd.DataFrame:
    """`inversion_line_shares` over every frame of every region's life, with where each frame is
    (`limb_or_disk`); empty when no region is explained."""
    shares = [inversion_line_shares(r.fit.model, r.fit.scaler, r.life, records, r.series, arpnum, image_size)
              for arpnum, r in explained.items()]
    return limb_or_disk(pd.concat(shares, ignore_index=True) if shares else pd.DataFrame())


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
    central meridian (CMD, the record's LON_FWT). The control: the same share for a map that is the
    frame's ``|B|`` on the CNN's grid and nothing else, since strong field crowds inversion lines and any
    map that follows ``|B|`` scores high there.

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
        pil = near_inversion_lines(field, image_size, cdelt_deg)
        share, area = positive_share_near_pil(m, pil)
        control, _ = positive_share_near_pil(np.abs(cnn_input(field, series, image_size)), pil)
        rows.append({"HARP": arpnum, "T_REC": t, "CMD": cmd[(series, arpnum, t)], "share near PIL": share,
                     "|B| share near PIL": control, "pixel share": area})
    return pd.DataFrame(rows)


def limb_or_disk(shares: pd.DataFrame) -> pd.DataFrame:
    """`inversion_line_shares` of several regions with where each frame is (limb or disk), the ratio of
    the attribution share to the pixel share (above 1: the CNN looks at inversion lines more than at
    random), the same ratio of the ``|B|`` control, and their difference (above 0: more than ``|B|`` alone
    would put there)."""
    if shares.empty:
        return shares
    where = np.where(shares.CMD.abs() > LIMB_CMD_DEG, f"limb (|CMD| > {LIMB_CMD_DEG:g})", f"disk (|CMD| <= {LIMB_CMD_DEG:g})")
    pixels = shares["pixel share"].replace(0, np.nan)
    ratio, control = shares["share near PIL"] / pixels, shares["|B| share near PIL"] / pixels
    return shares.assign(where=where, ratio=ratio, **{"|B| ratio": control, "ratio - |B| ratio": ratio - control})
