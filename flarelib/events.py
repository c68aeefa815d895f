"""The event definition (Section 2.3 and Table 2 of the study): the activity of a window's periods, its
label under a task and a flare-class threshold, and the flare history of its observation period.

A window ends at a record time t: the observation period is [t - 24 h, t], the prediction period
[t, t + 24 h] (the study's lengths; both parameters), both closed as the authors' code takes them. A
flare belongs to a period by its start time, as the study's authors place it (by peak time, a window
ending between a flare's start and its peak would be labelled by a flare its last magnetogram already
shows rising; `flare_time="peak"` keeps that choice), and to a region through the NOAA numbers of the
region (NOAA_ARS). The activity of a period is QUIET (no flare of any class), WEAK (only flares below the
threshold, the study's M1.0) or STRONG (at least one at or above it). The study's strong-vs-quiet task:
positive when the prediction period is STRONG, negative when both are QUIET, every other window dropped
(Table 2, right); the strong-vs-rest task keeps every window (`task_labels`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.goes import STRONG_FLUX, class_letter, is_strong

QUIET, WEAK, STRONG = "QUIET", "WEAK", "STRONG"
ACTIVITY = [QUIET, WEAK, STRONG]
FLARE_TIME = {"start": "start_time", "peak": "peak_time"}  # which time of a flare places it in a period


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
    """How many sorted `times` fall in [lo, hi] for each pair (closed at both ends, as the authors'
    code selects flares: one starting exactly at a window's end is in both of its periods)."""
    return np.searchsorted(times, hi, side="right") - np.searchsorted(times, lo, side="left")


def activity(any_count: np.ndarray, strong_count: np.ndarray) -> np.ndarray:
    return np.where(strong_count > 0, STRONG, np.where(any_count > 0, WEAK, QUIET))


TASKS = ("strong_vs_quiet", "strong_vs_rest")
# The flare history of a window's observation period: what persistence forecasts read. Counts per GOES
# letter (A-class flares count with B), the largest peak flux (0 when none) and the hours from the last
# flare to the window's end (NaN when none).
FLARE_HISTORY = ["flares_B", "flares_C", "flares_M", "flares_X", "max_flux", "hours_since_flare"]


def task_labels(observation: np.ndarray, prediction: np.ndarray, task: str = "strong_vs_quiet") -> pd.arrays.BooleanArray:
    """Each window's label under an event definition (True, False, or <NA> when the task drops it).

    `strong_vs_quiet` (the study's): positive when the prediction period is STRONG, negative when both
    periods are QUIET, every other window dropped. `strong_vs_rest` (how operational forecasts are
    scored): every window, positive when the prediction period is STRONG, negative otherwise."""
    if task not in TASKS:
        raise ValueError(f"task: {task!r} is not an event definition; expected one of {TASKS}")
    label = pd.array(np.where(prediction == STRONG, True, False), dtype="boolean")
    if task == "strong_vs_quiet":
        label[(prediction != STRONG) & ~((observation == QUIET) & (prediction == QUIET))] = pd.NA
    return label


def flare_history(ends: np.ndarray, times: np.ndarray, flux: np.ndarray, observation: pd.Timedelta) -> pd.DataFrame:
    """The flare history of each window's observation period [end - observation, end], closed as the
    periods of `label_windows` (a flare placed exactly at a window's end is in it; one a minute later
    is in the prediction period only and reaches nothing here). `times` sorted, `flux` in their order.

    Parameters
    ----------
    ends : window end times.
    times, flux : the region's flares, sorted by the time that places each, and their peak fluxes.
    observation : the observation period's length.
    """
    if len(ends) > 1 and (np.diff(ends) < np.timedelta64(0)).any():  # computed on sorted ends, returned in the given order
        order = np.argsort(ends, kind="stable")
        return flare_history(ends[order], times, flux, observation).iloc[np.argsort(order)].reset_index(drop=True)
    lo = ends - np.timedelta64(observation)
    letters = class_letter(flux) if len(flux) else np.array([], dtype=str)
    out = {f"flares_{k}": _count(times[np.isin(letters, list(k if k != "B" else "AB"))], lo, ends) for k in "BCMX"}
    largest = np.zeros(len(ends))
    first, last = np.searchsorted(ends, times, side="left"), np.searchsorted(ends, times + np.timedelta64(observation), side="right")
    for a, b, value in zip(first, last, flux):  # the windows whose observation period holds each flare
        largest[a:b] = np.maximum(largest[a:b], value)
    previous = np.searchsorted(times, ends, side="right") - 1
    since = (ends - times[np.clip(previous, 0, None)]) / np.timedelta64(1, "h") if len(times) else np.zeros(len(ends))
    inside = (previous >= 0) & (since <= observation / pd.Timedelta(hours=1))
    out.update(max_flux=largest, hours_since_flare=np.where(inside, since, np.nan))
    return pd.DataFrame(out)


def label_windows(
    ends: np.ndarray,
    peak_times: np.ndarray,
    peak_flux: np.ndarray,
    observation: pd.Timedelta = pd.Timedelta(hours=24),
    prediction: pd.Timedelta = pd.Timedelta(hours=24),
    threshold: float = STRONG_FLUX,
    task: str = "strong_vs_quiet",
) -> pd.DataFrame:
    """Activity of each window's two periods, its label (True, False, or <NA> when dropped) and the
    flare history of its observation period (`FLARE_HISTORY`).

    `ends` are window end times (sorted); `peak_times`/`peak_flux` the flares of the region (any
    order): the times that place each flare in a period (start times, as the study's authors use) and
    the peak fluxes that class it.

    Parameters
    ----------
    ends : window end times.
    peak_times, peak_flux : the region's flares: the time that places each, and its peak flux.
    observation, prediction : the lengths of the observation and prediction periods.
    threshold : the peak flux of a STRONG flare (the study's M1.0, `goes.threshold_flux`).
    task : the event definition (`task_labels`).
    """
    ends = np.asarray(ends, dtype="datetime64[ns]")
    order = np.argsort(np.asarray(peak_times, dtype="datetime64[ns]"), kind="stable")
    times = np.asarray(peak_times, dtype="datetime64[ns]")[order]
    flux = np.asarray(peak_flux, dtype=float)[order]
    strong_times = times[is_strong(flux, threshold)]
    obs_lo, pred_hi = ends - np.timedelta64(observation), ends + np.timedelta64(prediction)
    obs = activity(_count(times, obs_lo, ends), _count(strong_times, obs_lo, ends))
    pred = activity(_count(times, ends, pred_hi), _count(strong_times, ends, pred_hi))
    frame = pd.DataFrame({"end": ends, "observation": obs, "prediction": pred, "label": task_labels(obs, pred, task)})
    return pd.concat([frame, flare_history(ends, times, flux, observation)], axis=1)


def label_records(records: pd.DataFrame, flares: pd.DataFrame, flare_time: str = "start", threshold: float = STRONG_FLUX,
                  task: str = "strong_vs_quiet", **periods: pd.Timedelta) -> pd.DataFrame:
    """Label a window ending at every record of every region (`SERIES`, `ARPNUM`, `T_REC`, `NOAA_ARS`).

    Parameters
    ----------
    records : the records, each ending a window.
    flares : the catalogue: `start_time` (or `peak_time`, with flare_time="peak"), `noaa_ar` and a parsed
        `peak_flux`.
    flare_time : which time of a flare places it in a period.
    threshold, task : the event definition (`label_windows`).
    periods : `observation` and `prediction` lengths.
    """
    out = []
    flares = flares.reset_index(drop=True)
    index = flares_by_region(flares)
    for (series, arpnum), group in records.groupby(["SERIES", "ARPNUM"], sort=False):
        mine = region_flares(flares, group["NOAA_ARS"].iloc[0], index)
        labels = label_windows(group["T_REC"].to_numpy(), mine[FLARE_TIME[flare_time]].to_numpy(), mine["peak_flux"].to_numpy(),
                               threshold=threshold, task=task, **periods)
        labels.insert(0, "ARPNUM", arpnum)
        labels.insert(0, "SERIES", series)
        out.append(labels)
    return pd.concat(out, ignore_index=True)


def hours_words(hours: float) -> str:
    """24.0 -> "24 hours", 12.5 -> "12.5 hours", 1.0 -> "1 hour"."""
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def event_definition(task: str, flare_class: str, observation_hours: float, prediction_hours: float) -> str:
    """The event definition of a run in one sentence, for the pages: what a window holds, what makes it
    positive and negative, and whether that is the study's choice."""
    if task not in TASKS:
        raise ValueError(f"task: {task!r} is not an event definition; expected one of {TASKS}")
    head = (f"A window holds {hours_words(observation_hours)} of a region's records (its observation period); it is "
            f"positive when a flare of class {flare_class} or above starts in the {hours_words(prediction_hours)} after "
            "it (its prediction period)")
    rule = (" and negative when the region had no flare of any class in either period; every other window is dropped "
            "(the strong-vs-quiet task)" if task == "strong_vs_quiet" else
            " and negative otherwise: every window is kept, those of regions with weaker flares included (the "
            "strong-vs-rest task, as operational forecasts are scored)")
    same = (task, flare_class, float(observation_hours), float(prediction_hours)) == ("strong_vs_quiet", "M1.0", 24.0, 24.0)
    return head + rule + (". This is the study's definition." if same else
                          ". The study's: 24 hours each, M1.0, strong-vs-quiet.")
