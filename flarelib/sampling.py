"""Sliding windows and their labels (Section 2.3 and Table 2 of the study), vectorized.

A window ends at a record time t: the observation period is (t - 24 h, t], the prediction period
(t, t + 24 h]. A flare belongs to a period by its start time, as the study's authors place it (by
peak time, a window ending between a flare's start and its peak would be labelled by a flare its
last magnetogram already shows rising; `flare_time="peak"` keeps that choice), and to a region
through the NOAA numbers of the region (NOAA_ARS). The activity of a period is QUIET (no flare of any class), WEAK
(only flares below M1.0) or STRONG (at least one M1.0+). Positive: STRONG in the prediction period;
negative: QUIET in both; every other window is dropped (Table 2, right).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import is_strong
from flarelib.images import SUBSAMPLE
from flarelib.schema import KEYWORDS

QUIET, WEAK, STRONG = "QUIET", "WEAK", "STRONG"
FLARE_TIME = {"start": "start_time", "peak": "peak_time"}  # which time of a flare places it in a period
SHARP_SAMPLES_FROM = pd.Timestamp("2010-10-29")  # the study's SHARP samples start here; the MDI overlap
# before it serves the fusion chapter only (its NOAA regions are SMARP's too: no leak between instruments)


def region_flares(flares: pd.DataFrame, noaa_ars: str, index: dict | None = None) -> pd.DataFrame:
    """The flares of a region: those whose NOAA number is one of the region's (comma-separated).

    `index` (from `flares_by_region`) avoids scanning the catalogue once per region."""
    numbers = [int(n) for n in str(noaa_ars).split(",") if n.strip()]
    if index is None:
        return flares[flares["noaa_ar"].isin(numbers)] if numbers else flares.iloc[:0]
    rows = [index[n] for n in numbers if n in index]
    return flares.iloc[np.concatenate(rows)] if rows else flares.iloc[:0]


def flares_by_region(flares: pd.DataFrame) -> dict:
    """Row positions of the flares of each NOAA number."""
    return {int(k): v for k, v in flares.reset_index(drop=True).groupby("noaa_ar").indices.items()}


def _count(times: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many sorted `times` fall in (lo, hi] for each pair."""
    return np.searchsorted(times, hi, side="right") - np.searchsorted(times, lo, side="right")


def activity(any_count: np.ndarray, strong_count: np.ndarray) -> np.ndarray:
    return np.where(strong_count > 0, STRONG, np.where(any_count > 0, WEAK, QUIET))


def label_windows(
    ends: np.ndarray,
    peak_times: np.ndarray,
    peak_flux: np.ndarray,
    observation: pd.Timedelta = pd.Timedelta(hours=24),
    prediction: pd.Timedelta = pd.Timedelta(hours=24),
) -> pd.DataFrame:
    """Activity of each window's two periods and its label (True, False, or <NA> when dropped).

    `ends` are window end times; `peak_times`/`peak_flux` the flares of the region (any order):
    the times that place each flare in a period (start times, as the study's authors use) and the
    peak fluxes that class it.

    Parameters
    ----------
    ends : window end times.
    peak_times, peak_flux : the region's flares: the time that places each, and its peak flux.
    observation, prediction : the lengths of the observation and prediction periods.
    """
    ends = np.asarray(ends, dtype="datetime64[ns]")
    order = np.argsort(np.asarray(peak_times, dtype="datetime64[ns]"))
    times = np.asarray(peak_times, dtype="datetime64[ns]")[order]
    strong_times = times[is_strong(np.asarray(peak_flux, dtype=float)[order])]
    obs_lo, pred_hi = ends - np.timedelta64(observation), ends + np.timedelta64(prediction)
    obs = activity(_count(times, obs_lo, ends), _count(strong_times, obs_lo, ends))
    pred = activity(_count(times, ends, pred_hi), _count(strong_times, ends, pred_hi))
    label = pd.array(np.where(pred == STRONG, True, False), dtype="boolean")
    label[(pred != STRONG) & ~((obs == QUIET) & (pred == QUIET))] = pd.NA
    return pd.DataFrame({"end": ends, "observation": obs, "prediction": pred, "label": label})


def label_records(records: pd.DataFrame, flares: pd.DataFrame, flare_time: str = "start", **periods: pd.Timedelta) -> pd.DataFrame:
    """Label a window ending at every record of every region (`SERIES`, `ARPNUM`, `T_REC`, `NOAA_ARS`).

    `flares` needs `start_time` (or `peak_time`, with flare_time="peak"), `noaa_ar` and a parsed `peak_flux`."""
    out = []
    flares = flares.reset_index(drop=True)
    index = flares_by_region(flares)
    for (series, arpnum), group in records.groupby(["SERIES", "ARPNUM"], sort=False):
        mine = region_flares(flares, group["NOAA_ARS"].iloc[0], index)
        labels = label_windows(group["T_REC"].to_numpy(), mine[FLARE_TIME[flare_time]].to_numpy(), mine["peak_flux"].to_numpy(),
                               **periods)
        labels.insert(0, "ARPNUM", arpnum)
        labels.insert(0, "SERIES", series)
        out.append(labels)
    return pd.concat(out, ignore_index=True)


# --- Samples: windows of records, the bad-record rules, keyword sequences (Section 2.3) -------------



def window_slots(steps: np.ndarray, length: int) -> np.ndarray:
    """For records at integer cadence steps (sorted), the row of each of the `length` slots of the
    window ending at every record: shape (n, length), -1 where the slot has no record (a gap)."""
    lookup = np.full(steps[-1] - steps[0] + 1, -1, dtype=np.int64)
    lookup[steps - steps[0]] = np.arange(steps.size)
    slots = steps[:, None] - np.arange(length - 1, -1, -1)[None, :] - steps[0]
    return np.where(slots >= 0, lookup[np.clip(slots, 0, None)], -1)


def sampling_records(kept: pd.DataFrame) -> pd.DataFrame:
    """The records windows are cut from: the kept records, SHARP's from 2010-10-29 only (the
    authors' rule; the May-October 2010 overlap with MDI would otherwise put the same NOAA region in
    both instruments' datasets)."""
    return kept[(kept.SERIES != "SHARP") | (kept.T_REC >= SHARP_SAMPLES_FROM)]


def bad_records(records: pd.DataFrame) -> np.ndarray:
    """Per record: NaN pixels (on the CNN's grid, see the data model) or a NaN keyword (the size
    rule needs the window, see `sample_windows`)."""
    bad = records[KEYWORDS].isna().any(axis=1).to_numpy()
    if "NAN_PIXELS" in records:
        bad |= records["NAN_PIXELS"].fillna(0).to_numpy() > 0
    return bad


def sample_windows(records: pd.DataFrame, flares: pd.DataFrame, length: int = 16, cadence: pd.Timedelta = pd.Timedelta(minutes=96),
                   max_bad: int = 2, size_tolerance: int = 2, flare_time: str = "start",
                   **periods: pd.Timedelta) -> tuple[pd.DataFrame, np.ndarray]:
    """Every window of every region with its activity, label, bad-record count and whether the study
    keeps it; and the windows' keyword sequences, shape (n, length, 4), gaps and bad records filled
    from the next good record of the window (the last ones from the previous).

    A record is bad if its magnetogram has NaN pixels, its height or width is more than
    `size_tolerance` pixels from the window's median, or a keyword is NaN; a missing record (a gap)
    counts as bad. A window is dropped with more than `max_bad` bad records or a bad last record.
    Sizes are compared on the grid the CNN sees, as the authors compare them: HMI's after the 4x
    subsampling (`images.SUBSAMPLE`), so 2 pixels there are 8 native HMI pixels.

    Parameters
    ----------
    records : the store's records that passed the study's filters.
    flares : the catalogue.
    length : records per window.
    cadence : the records' cadence.
    max_bad : at most this many bad records in a kept window.
    size_tolerance : the image-size rule, in pixels of the CNN's grid from the window's median.
    flare_time : "start" (the authors') or "peak": which time of a flare places it in a period.
    periods : `observation` and `prediction` lengths, passed to `label_windows`.
    """
    frames, sequences = [], []
    flares = flares.reset_index(drop=True)
    index = flares_by_region(flares)
    has_size = {"NX", "NY"} <= set(records.columns) and records[["NX", "NY"]].notna().all().all()
    for (series, arpnum), group in records.sort_values("T_REC").groupby(["SERIES", "ARPNUM"], sort=False):
        steps = ((group["T_REC"] - group["T_REC"].iloc[0]) / cadence).round().astype(np.int64).to_numpy()
        slots = window_slots(steps, length)
        present = slots >= 0
        bad = np.where(present, bad_records(group)[np.clip(slots, 0, None)], True)
        if has_size:
            factor = SUBSAMPLE.get(str(series), 1)
            for column in ("NX", "NY"):
                on_grid = np.ceil(group[column].to_numpy(dtype=float) / factor)  # the size of image[::factor]
                size = np.where(present, on_grid[np.clip(slots, 0, None)], np.nan)
                median = np.nanmedian(size, axis=1, keepdims=True)
                bad |= np.abs(size - median) > size_tolerance
        mine = region_flares(flares, group["NOAA_ARS"].iloc[0], index)
        labels = label_windows(group["T_REC"].to_numpy(), mine[FLARE_TIME[flare_time]].to_numpy(), mine["peak_flux"].to_numpy(),
                               **periods)
        n_bad = bad.sum(axis=1)
        keep = labels["label"].notna().to_numpy() & (n_bad <= max_bad) & ~bad[:, -1]
        labels.insert(0, "ARPNUM", arpnum)
        labels.insert(0, "SERIES", series)
        labels["n_bad"] = n_bad
        labels["last_bad"] = bad[:, -1]
        labels["keep"] = keep
        frames.append(labels)
        sequences.append(_fill_sequences(group[KEYWORDS].to_numpy(dtype=np.float32), slots, bad))
    samples = pd.concat(frames, ignore_index=True)
    return samples, np.concatenate(sequences) if sequences else np.empty((0, length, len(KEYWORDS)), np.float32)


def _fill_sequences(values: np.ndarray, slots: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Keyword sequences of the windows, with bad or missing slots taken from the nearest later good
    slot, as the study authors' LSTM data fill a gap from the next good record (or, at the end, the
    nearest earlier one)."""
    good = ~bad
    index = np.where(good, np.arange(slots.shape[1])[None, :], -1)
    forward = np.maximum.accumulate(index, axis=1)
    backward_index = np.where(good, np.arange(slots.shape[1])[None, :], slots.shape[1])
    backward = np.minimum.accumulate(backward_index[:, ::-1], axis=1)[:, ::-1]
    chosen = np.where(backward < slots.shape[1], backward, forward)
    chosen = np.clip(chosen, 0, slots.shape[1] - 1)
    rows = np.take_along_axis(slots, chosen, axis=1)
    out = values[np.clip(rows, 0, None)]
    out[rows < 0] = np.nan  # a window with no good record at all (always dropped)
    return out


def evolution_table(samples: pd.DataFrame, max_bad: int = 2) -> pd.DataFrame:
    """Table 2 (left): windows of every evolution type per series, after the bad-record rules."""
    usable = samples[(samples["n_bad"] <= max_bad) & ~samples["last_bad"]]
    order = [QUIET, WEAK, STRONG]
    table = pd.crosstab([usable["SERIES"], usable["observation"]], usable["prediction"])
    return table.reindex(columns=order, fill_value=0).reindex(
        pd.MultiIndex.from_product([sorted(usable["SERIES"].unique()), order], names=["SERIES", "observation"]), fill_value=0)


def class_balance(samples: pd.DataFrame) -> pd.DataFrame:
    """Table 3: kept positives and negatives per series and the event rate."""
    kept = samples[samples["keep"]]
    table = kept.groupby("SERIES")["label"].agg(positive=lambda s: int(s.sum()), negative=lambda s: int((~s.astype(bool)).sum()))
    table["event_rate"] = table["positive"] / (table["positive"] + table["negative"])
    return table


def read_windows(path) -> pd.DataFrame:
    """The sampling chapter's `windows.csv`, with labels as a nullable boolean again."""
    table = pd.read_csv(path, parse_dates=["end"])
    table["label"] = table["label"].map({True: True, False: False, "True": True, "False": False}).astype("boolean")
    return table


def with_authors_labels(samples: pd.DataFrame, records: pd.DataFrame, max_bad: int) -> pd.DataFrame:
    """The windows labelled as the study's authors labelled their published windows (archive source:
    its records carry AUTHORS_LABEL), the bad-record rules unchanged; a window they did not publish
    has no label. Separates the effect of our relabelling from everything else."""
    theirs = records[["SERIES", "ARPNUM", "T_REC", "AUTHORS_LABEL"]].rename(columns={"T_REC": "end"})
    matched = samples[["SERIES", "ARPNUM", "end"]].merge(theirs, on=["SERIES", "ARPNUM", "end"], how="left",
                                                         validate="one_to_one")
    label = pd.array(matched.AUTHORS_LABEL.map({True: True, False: False, "True": True, "False": False}), dtype="boolean")
    keep = ~pd.isna(label) & (samples.n_bad.to_numpy() <= max_bad) & ~samples.last_bad.astype(bool).to_numpy()
    return samples.assign(label=label, keep=np.asarray(keep, dtype=bool))
