"""Sliding windows and their labels (Section 2.3 and Table 2 of the study), vectorized.

A window ends at a record time t: the observation period is (t - 24 h, t], the prediction period
(t, t + 24 h]. A flare belongs to a period by its peak time and to a region through the NOAA
numbers of the region (NOAA_ARS). The activity of a period is QUIET (no flare of any class), WEAK
(only flares below M1.0) or STRONG (at least one M1.0+). Positive: STRONG in the prediction period;
negative: QUIET in both; every other window is dropped (Table 2, right).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import is_strong

QUIET, WEAK, STRONG = "QUIET", "WEAK", "STRONG"


def region_flares(flares: pd.DataFrame, noaa_ars: str) -> pd.DataFrame:
    """The flares of a region: those whose NOAA number is one of the region's (comma-separated)."""
    numbers = [int(n) for n in str(noaa_ars).split(",") if n.strip()]
    return flares[flares["noaa_ar"].isin(numbers)] if numbers else flares.iloc[:0]


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

    `ends` are window end times; `peak_times`/`peak_flux` the flares of the region (any order)."""
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


def label_records(records: pd.DataFrame, flares: pd.DataFrame, **periods: pd.Timedelta) -> pd.DataFrame:
    """Label a window ending at every record of every region (`SERIES`, `ARPNUM`, `T_REC`, `NOAA_ARS`).

    `flares` needs `peak_time`, `noaa_ar` and a parsed `peak_flux`."""
    out = []
    for (series, arpnum), group in records.groupby(["SERIES", "ARPNUM"], sort=False):
        mine = region_flares(flares, group["NOAA_ARS"].iloc[0])
        labels = label_windows(group["T_REC"].to_numpy(), mine["peak_time"].to_numpy(), mine["peak_flux"].to_numpy(), **periods)
        labels.insert(0, "ARPNUM", arpnum)
        labels.insert(0, "SERIES", series)
        out.append(labels)
    return pd.concat(out, ignore_index=True)
