"""Windows of records (Section 2.3 of the study), vectorized: every region's records cut into windows
ending at each record, labelled by the event definition (`flarelib.events`), the bad-record rules of
the authors' code, the keyword sequences, and the tables that describe the windows (Tables 2 and 3,
the holes, persistence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flarelib.events import ACTIVITY, FLARE_TIME, QUIET, STRONG, WEAK, flares_by_region, label_windows, region_flares
from flarelib.goes import STRONG_FLUX
from flarelib.schema import KEYWORDS, SUBSAMPLE

SHARP_SAMPLES_FROM = pd.Timestamp("2010-10-29")  # the study's SHARP samples start here; the MDI overlap
# before it serves the fusion chapter only (its NOAA regions are SMARP's too: no leak between instruments)


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


def bad_images(records: pd.DataFrame) -> np.ndarray:
    """Per record: its magnetogram has NaN pixels (on the CNN's grid, see the data model). The size
    rule needs the window, see `sample_windows`."""
    if "NAN_PIXELS" not in records:
        return np.zeros(len(records), dtype=bool)
    return records["NAN_PIXELS"].fillna(0).to_numpy() > 0


def sample_windows(records: pd.DataFrame, flares: pd.DataFrame, length: int = 16, cadence: pd.Timedelta = pd.Timedelta(minutes=96),
                   max_bad: int = 2, size_tolerance: int = 2, flare_time: str = "start", require_first: bool = True,
                   threshold: float = STRONG_FLUX, task: str = "strong_vs_quiet", **periods: pd.Timedelta) -> tuple[pd.DataFrame, np.ndarray]:
    """Every window of every region with its activity, label, bad-record counts and whether the study
    keeps it; and the windows' keyword sequences, shape (n, length, 4), missing or NaN keywords filled
    from the next good record of the window (the last ones from the previous).

    The rules of the authors' code, which the study's text ("a bad record ... at most 2") leaves open:
    a window starts at an existing record (`require_first`) and ends at another; keyword NaNs and bad
    images are counted separately, at most `max_bad` of each. A keyword counts per column (a missing
    record makes every column NaN); an image is bad if it has NaN pixels, is missing, or its height or
    width is more than `size_tolerance` pixels from the window's median (sizes on the grid the CNN
    sees, as the authors compare them: HMI's after the 4x subsampling, `schema.SUBSAMPLE`). The last
    record must have every keyword and a good image, since the CNN reads it. `usable` marks the windows
    that pass these rules whatever their label; `keep` the usable windows with a label.

    Parameters
    ----------
    records : the store's records that passed the study's filters.
    flares : the catalogue.
    length : records per window.
    cadence : the records' cadence.
    max_bad : at most this many NaN values of a keyword, and this many bad images, in a kept window.
    size_tolerance : the image-size rule, in pixels of the CNN's grid from the window's median.
    flare_time : "start" (the authors') or "peak": which time of a flare places it in a period.
    require_first : a window's first record must exist (False where the store lists only windows'
        last records, as the archive's tables do).
    threshold, task : the event definition (`label_windows`).
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
        rows = np.clip(slots, 0, None)
        nan_keywords = np.where(present[:, :, None], group[KEYWORDS].isna().to_numpy()[rows], True)
        bad_image = np.where(present, bad_images(group)[rows], True)
        if has_size:
            factor = SUBSAMPLE.get(str(series), 1)
            for column in ("NX", "NY"):
                on_grid = np.ceil(group[column].to_numpy(dtype=float) / factor)  # the size of image[::factor]
                size = np.where(present, on_grid[rows], np.nan)
                bad_image |= np.abs(size - np.nanmedian(size, axis=1, keepdims=True)) > size_tolerance
        mine = region_flares(flares, group["NOAA_ARS"].iloc[0], index)
        labels = label_windows(group["T_REC"].to_numpy(), mine[FLARE_TIME[flare_time]].to_numpy(), mine["peak_flux"].to_numpy(),
                               threshold=threshold, task=task, **periods)
        labels.insert(0, "ARPNUM", arpnum)
        labels.insert(0, "SERIES", series)
        labels["n_nan_keywords"] = nan_keywords.sum(axis=1).max(axis=1)  # the worst keyword
        labels["n_bad_images"] = bad_image.sum(axis=1)
        labels["last_bad"] = nan_keywords[:, -1].any(axis=1) | bad_image[:, -1]
        labels["first_missing"] = ~present[:, 0]
        filled = nan_keywords.any(axis=2)  # a step whose keywords came from a neighbouring record
        labels["n_filled"] = filled.sum(axis=1)
        labels["filled_steps"] = filled_bits(filled)
        frames.append(labels)
        sequences.append(_fill_sequences(group[KEYWORDS].to_numpy(dtype=np.float32), slots, nan_keywords.any(axis=2)))
    samples = pd.concat(frames, ignore_index=True)
    samples["usable"] = passes_rules(samples, max_bad, require_first)
    samples["keep"] = samples["usable"] & samples["label"].notna().to_numpy()
    return samples, np.concatenate(sequences) if sequences else np.empty((0, length, len(KEYWORDS)), np.float32)


def filled_bits(filled: np.ndarray) -> np.ndarray:
    """Each window's filled steps (n, length) as one integer, step k in bit k (a CSV column)."""
    if filled.shape[1] > 62:
        raise ValueError(f"windows of {filled.shape[1]} steps do not fit the filled-step bits (at most 62)")
    return (filled.astype(np.int64) << np.arange(filled.shape[1], dtype=np.int64)).sum(axis=1)


def filled_mask(bits: np.ndarray, length: int) -> np.ndarray:
    """`filled_bits` back to a boolean mask (n, length)."""
    return (np.asarray(bits, dtype=np.int64)[:, None] >> np.arange(length, dtype=np.int64)) & 1 == 1


def hole_audit(samples: pd.DataFrame) -> pd.DataFrame:
    """Per instrument, over the kept windows: how many steps were filled, for positives and negatives,
    the share of complete windows, and the label's ROC AUC from the count of filled steps alone (0.5:
    the holes tell nothing; the further from it, the more a model could learn from them)."""
    from flarelib.metrics import auc

    rows = []
    kept = samples[samples["keep"].astype(bool)]
    for series, part in kept.groupby("SERIES"):
        label = part["label"].astype(bool).to_numpy()
        n = part["n_filled"].to_numpy()
        rows.append({"SERIES": series, "windows": len(part), "positives": int(label.sum()),
                     "filled steps, positives": float(n[label].mean()), "filled steps, negatives": float(n[~label].mean()),
                     "complete, positives": float((n[label] == 0).mean()), "complete, negatives": float((n[~label] == 0).mean()),
                     "AUC of the count": auc(label, n) if 0 < label.sum() < len(label) else float("nan")})
    return pd.DataFrame(rows).set_index("SERIES")


def passes_rules(samples: pd.DataFrame, max_bad: int, require_first: bool = True) -> np.ndarray:
    """The bad-record rules of the authors' code on `sample_windows`' counts (see there)."""
    ok = (samples["n_nan_keywords"] <= max_bad) & (samples["n_bad_images"] <= max_bad) & ~samples["last_bad"].astype(bool)
    if require_first:
        ok &= ~samples["first_missing"].astype(bool)
    return ok.to_numpy()


def rule_counts(samples: pd.DataFrame, max_bad: int) -> pd.DataFrame:
    """Per series: windows, and how many each bad-record rule drops (a window can fail several)."""
    reasons = pd.DataFrame({
        "SERIES": samples["SERIES"],
        "first record missing": samples["first_missing"].astype(bool),
        f"keyword NaNs > {max_bad}": samples["n_nan_keywords"] > max_bad,
        f"bad images > {max_bad}": samples["n_bad_images"] > max_bad,
        "last record bad": samples["last_bad"].astype(bool),
        "usable": samples["usable"].astype(bool),
    })
    table = reasons.groupby("SERIES").sum()
    table.insert(0, "windows", reasons.groupby("SERIES").size())
    return table


def _fill_sequences(values: np.ndarray, slots: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Keyword sequences of the windows, with missing or NaN-keyword slots taken from the nearest later
    good slot, as the study authors' LSTM data fill a gap from the next good record (or, at the end,
    the nearest earlier one). A record with a bad image keeps its keywords."""
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


def evolution_table(samples: pd.DataFrame) -> pd.DataFrame:
    """Table 2 (left): windows of every evolution type per series, after the bad-record rules."""
    usable = samples[samples["usable"].astype(bool)]
    order = [QUIET, WEAK, STRONG]
    table = pd.crosstab([usable["SERIES"], usable["observation"]], usable["prediction"])
    return table.reindex(columns=order, fill_value=0).reindex(
        pd.MultiIndex.from_product([sorted(usable["SERIES"].unique()), order], names=["SERIES", "observation"]), fill_value=0)


def persistence_shares_of(table2: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """From Table 2 per instrument: the share of positives that follow a QUIET observation period (a
    region's first strong flare), and of STRONG observation periods followed by a STRONG prediction
    period (how long strong activity lasts)."""
    rows = {}
    for series, t in table2.items():
        t = t.reindex(index=ACTIVITY, columns=ACTIVITY, fill_value=0)
        positives, strong_days = int(t["STRONG"].sum()), int(t.loc["STRONG"].sum())
        rows[series] = {"positives": positives, "after a QUIET observation": int(t.at["QUIET", "STRONG"]),
                        "share after QUIET": t.at["QUIET", "STRONG"] / positives if positives else float("nan"),
                        "STRONG observations": strong_days, "followed by STRONG": int(t.at["STRONG", "STRONG"]),
                        "share STRONG to STRONG": t.at["STRONG", "STRONG"] / strong_days if strong_days else float("nan")}
    counts = ["positives", "after a QUIET observation", "STRONG observations", "followed by STRONG"]
    return pd.DataFrame(rows).T.astype({c: int for c in counts}).rename_axis("SERIES")


def persistence_shares(samples: pd.DataFrame) -> pd.DataFrame:
    """Table 2's persistence per series (`persistence_shares_of` on `evolution_table`) for a run's windows;
    `study.TABLE2` gives the study's."""
    table = evolution_table(samples)
    return persistence_shares_of({series: table.xs(series, level="SERIES") for series in table.index.unique("SERIES")})


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


LABEL_SETS = ("ours", "authors")  # the archive's labels: made again from the NOAA catalogues, or the authors' own


def other_labels(name: str) -> str:
    """The label set beside `name` ("ours" <-> "authors"), for chapters that train on both."""
    if name not in LABEL_SETS:
        raise ValueError(f"unknown label set {name!r}; expected one of {LABEL_SETS}")
    return LABEL_SETS[1 - LABEL_SETS.index(name)]


def with_authors_labels(samples: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The windows labelled as the study's authors labelled their published windows (archive source:
    its records carry AUTHORS_LABEL), the bad-record rules unchanged; a window they did not publish
    has no label. Separates the effect of our relabelling from everything else."""
    theirs = records[["SERIES", "ARPNUM", "T_REC", "AUTHORS_LABEL"]].rename(columns={"T_REC": "end"})
    matched = samples[["SERIES", "ARPNUM", "end"]].merge(theirs, on=["SERIES", "ARPNUM", "end"], how="left",
                                                         validate="one_to_one")
    label = pd.array(matched.AUTHORS_LABEL.map({True: True, False: False, "True": True, "False": False}), dtype="boolean")
    keep = ~pd.isna(label) & samples.usable.astype(bool).to_numpy()
    return samples.assign(label=label, keep=np.asarray(keep, dtype=bool))
