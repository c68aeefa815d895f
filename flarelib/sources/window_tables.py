"""The study authors' published window tables (../shared/data/arnet-windows-3f6c20b, see its README)
as a keyword source: reading and validating them, rebuilding per-region keyword records, inferring
each region's NOAA numbers from the flares the tables list, and comparing our labels with theirs.

The tables hold only the windows the authors kept (positives and QUIET-to-QUIET negatives), one row
per window, the keywords of its last record. Their SHARP `USFLUX` and `MEANGBZ` come from a
line-of-sight keyword series, the forerunners of `USFLUXL` and `MEANGBL`; we use them as such.
The tables carry no NOAA numbers, so a region is tied to NOAA regions through the flares its positive
windows list (`flares`: every GOES class in the prediction period); a region with no positive window
cannot be tied to any, and our catalogue sees no flare in it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from flarelib.schema import KEYWORDS

TABLES_DIR = "arnet-windows-3f6c20b"
TABLE_COLUMNS = ["prefix", "arpnum", "t_start", "t_end", "label", "flares", "FLARE_INDEX", "AREA", "USFLUX", "MEANGBZ", "R_VALUE"]
PREFIX_SERIES = {"HARP": "SHARP", "TARP": "SMARP"}
KEYWORD_MAP = {"USFLUX": "USFLUXL", "MEANGBZ": "MEANGBL", "R_VALUE": "R_VALUE", "AREA": "AREA"}


class WindowTableError(ValueError):
    """A malformed window table; the message names the file, the line and what is wrong."""


def _problems(path: Path, table: pd.DataFrame) -> list[str]:
    """Every malformed row of one table as 'file:line: what' (line 1 is the header)."""
    out = []
    start, end = pd.to_datetime(table.t_start, errors="coerce"), pd.to_datetime(table.t_end, errors="coerce")
    checks = {
        "prefix is not HARP or TARP": ~table.prefix.isin(list(PREFIX_SERIES)),
        "arpnum is not a positive integer": ~table.arpnum.astype(str).str.fullmatch(r"[1-9]\d*"),
        "t_start or t_end is not a time": start.isna() | end.isna(),
        "the window is not 24 h long": (start.notna() & end.notna()) & ((end - start) != pd.Timedelta(hours=24)),
        "label is not True or False": ~table.label.astype(str).isin(["True", "False"]),
        "a positive window lists no flare": (table.label.astype(str) == "True") & table.flares.isna(),
    }
    for column in ["FLARE_INDEX", *KEYWORD_MAP]:
        checks[f"{column} is not a number"] = pd.to_numeric(table[column], errors="coerce").isna() & table[column].notna()
    for what, bad in checks.items():
        out += [f"{path.name}:{i + 2}: {what} (got {table.iloc[i].to_dict()})" for i in np.flatnonzero(bad.to_numpy())]
    return out


def read_window_table(path: str | Path) -> pd.DataFrame:
    """One fold file, validated: any malformed row raises, naming file and line; never guessed."""
    path = Path(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise WindowTableError(f"{path}: columns {missing} are missing (found {list(table.columns)})")
    problems = _problems(path, table)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WindowTableError("malformed window table rows:\n  " + "\n  ".join(problems[:5]) + more)
    out = table[TABLE_COLUMNS].copy()
    out["arpnum"] = out.arpnum.astype(np.int64)
    out["t_start"], out["t_end"] = pd.to_datetime(out.t_start), pd.to_datetime(out.t_end)
    out["label"] = out.label == "True"
    for column in ["FLARE_INDEX", *KEYWORD_MAP]:
        out[column] = pd.to_numeric(out[column])
    out["flares"] = out.flares.fillna("")
    return out


def read_window_tables(data_dir: str | Path) -> pd.DataFrame:
    """Both instruments' five folds with `SERIES` and `fold`; a region in two folds is an error.
    The tables come through the data registry: verified, and fetched where missing."""
    from flarelib.sources import registry

    root = registry.ensure(TABLES_DIR, Path(data_dir))
    frames = []
    for series in ("sharp", "smarp"):
        paths = sorted((root / series).glob(f"{series}_[0-9].csv"))
        if not paths:
            raise WindowTableError(f"no {series}_<fold>.csv under {root / series}: the registry's tables are missing (flarelib data list)")
        frames += [read_window_table(p).assign(fold=int(p.stem.split("_")[1])) for p in paths]
    tables = pd.concat(frames, ignore_index=True)
    tables.insert(0, "SERIES", tables.prefix.map(PREFIX_SERIES))
    folds = tables.groupby(["SERIES", "arpnum"]).fold.nunique()
    if (folds > 1).any():
        raise WindowTableError(f"regions in more than one fold: {list(folds[folds > 1].index[:5])}")
    duplicated = tables.duplicated(["SERIES", "arpnum", "t_end"])
    if duplicated.any():
        raise WindowTableError(f"windows listed twice: {tables.loc[duplicated, ['SERIES', 'arpnum', 't_end']].head().values.tolist()}")
    return tables.sort_values(["SERIES", "arpnum", "t_end"]).reset_index(drop=True)


# --- NOAA numbers from the listed flares ----------------------------------------------------------

def window_matches(windows: pd.DataFrame, flares: pd.DataFrame,
                   prediction: pd.Timedelta = pd.Timedelta(hours=24)) -> pd.DataFrame:
    """For every positive window and every NOAA region with flares in its prediction period
    (t_end, t_end + 24 h]: how many of the listed flares (a multiset of classes) that region's
    catalogue flares match. Columns SERIES, arpnum, t_end, noaa, matched, listed."""
    catalogue = flares.dropna(subset=["noaa_ar"]).sort_values("peak_time")
    times = catalogue.peak_time.to_numpy()
    classes, regions = catalogue.goes_class.to_numpy(), catalogue.noaa_ar.to_numpy(dtype=np.int64)
    rows = []
    for w in windows[windows.label].itertuples(index=False):
        listed = Counter(w.flares.split("|"))
        lo, hi = np.searchsorted(times, [np.datetime64(w.t_end), np.datetime64(w.t_end + prediction)], side="right")
        by_region: dict[int, Counter] = {}
        for cls, noaa in zip(classes[lo:hi], regions[lo:hi]):
            by_region.setdefault(int(noaa), Counter())[cls] += 1
        for noaa, seen in by_region.items():
            matched = sum((listed & seen).values())
            if matched:
                rows.append((w.SERIES, w.arpnum, w.t_end, noaa, matched, sum(listed.values())))
    return pd.DataFrame(rows, columns=["SERIES", "arpnum", "t_end", "noaa", "matched", "listed"])


def infer_noaa(windows: pd.DataFrame, flares: pd.DataFrame, min_windows: int = 3) -> pd.DataFrame:
    """Each region's NOAA numbers, chosen greedily: first the NOAA region whose catalogue flares match
    the most listed flares over the region's positive windows; then any other that matches listed
    flares left unmatched in at least `min_windows` windows (a region tracked as two NOAA regions).
    Columns SERIES, arpnum, NOAA_ARS ('n1,n2'), listed, matched (flares over its positive windows)."""
    matches = window_matches(windows, flares)
    out = []
    for (series, arpnum), group in matches.groupby(["SERIES", "arpnum"], sort=False):
        chosen, unmatched = [], group.groupby("t_end").listed.first()
        total = int(unmatched.sum())
        while True:
            gain = group[~group.noaa.isin(chosen)].assign(
                gain=lambda g: np.minimum(g.matched.to_numpy(), unmatched.reindex(g.t_end).to_numpy()))
            gain = gain[gain.gain > 0]
            if gain.empty:
                break
            score = gain.groupby("noaa").agg(flares=("gain", "sum"), windows=("gain", "size"))
            ranked = score.sort_values(["flares", "windows"], ascending=False)
            if chosen and ranked.windows.iloc[0] < min_windows:
                break
            noaa = int(ranked.index[0])
            chosen.append(noaa)
            mine = gain[gain.noaa == noaa].set_index("t_end").gain
            unmatched = unmatched.sub(mine, fill_value=0).clip(lower=0)
        out.append((series, arpnum, ",".join(map(str, chosen)), total, total - int(unmatched.sum())))
    return pd.DataFrame(out, columns=["SERIES", "arpnum", "NOAA_ARS", "listed", "matched"])


# --- The store's records ---------------------------------------------------------------------------

def archive_records(windows: pd.DataFrame, noaa: pd.DataFrame) -> pd.DataFrame:
    """One store record per published window, at its end time, with the keywords of that record.

    QUALITY, position and image sizes are not in the tables (the authors' filters ran before them):
    QUALITY is 0 and positions are unknown (NaN). Regions without a NOAA number keep an empty
    NOAA_ARS but NOAA_NUM 1: the authors kept them as matching a NOAA region."""
    records = windows.rename(columns={"arpnum": "ARPNUM", "t_end": "T_REC", **KEYWORD_MAP})
    records = records.merge(noaa[["SERIES", "arpnum", "NOAA_ARS"]].rename(columns={"arpnum": "ARPNUM"}),
                            on=["SERIES", "ARPNUM"], how="left")
    records["NOAA_ARS"] = records.NOAA_ARS.fillna("")
    records["NOAA_NUM"] = records.NOAA_ARS.map(lambda s: max(1, len([n for n in s.split(",") if n])))
    records["QUALITY"] = 0
    for column in ("LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX", "NX", "NY", "NAN_PIXELS"):
        records[column] = np.nan
    records["AUTHORS_LABEL"], records["AUTHORS_FLARES"] = records.label, records.flares
    return records[["SERIES", "ARPNUM", "T_REC", "NOAA_ARS", "NOAA_NUM", "LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX", "QUALITY",
                    "USFLUXL", "MEANGBL", "R_VALUE", "AREA", "NX", "NY", "NAN_PIXELS", "AUTHORS_LABEL", "AUTHORS_FLARES", "fold"]]


# --- Our labels against the authors' --------------------------------------------------------------

def label_agreement(samples: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Our label of every published window (positive, negative, or dropped as WEAK) against the
    authors', per series and per whether the region has a NOAA number: counts."""
    ours = samples[["SERIES", "ARPNUM", "end", "label", "observation", "prediction"]]
    theirs = records[["SERIES", "ARPNUM", "T_REC", "AUTHORS_LABEL", "AUTHORS_FLARES", "NOAA_ARS"]].rename(columns={"T_REC": "end"})
    theirs = theirs.assign(AUTHORS_FLARES=theirs.AUTHORS_FLARES.fillna(""))  # an empty list reads back as NaN
    both = theirs.merge(ours, on=["SERIES", "ARPNUM", "end"], how="left", validate="one_to_one")
    both["authors"] = np.where(both.AUTHORS_LABEL, "positive", "negative")
    both["ours"] = np.select([both.label.isna(), both.label.fillna(False).astype(bool)], ["dropped", "positive"], "negative")
    both["regions"] = np.where(both.NOAA_ARS != "", "with NOAA number", "without NOAA number")
    return both


def agreement_table(both: pd.DataFrame) -> pd.DataFrame:
    """Counts of (authors, ours) per series and region kind, and the share that agrees."""
    table = pd.crosstab([both.SERIES, both.regions, both.authors], both.ours)
    table = table.reindex(columns=["positive", "negative", "dropped"], fill_value=0)
    agree = [table.at[i, a] for i, a in zip(table.index, table.index.get_level_values("authors"))]
    table["agreement"] = np.array(agree) / table.sum(axis=1)
    return table


def explain_disagreements(both: pd.DataFrame, flares: pd.DataFrame,
                          prediction: pd.Timedelta = pd.Timedelta(hours=24), flare_time: str = "start") -> pd.DataFrame:
    """Why each disagreeing window of a region with NOAA numbers disagrees, found in the catalogues:
    the authors' listed classes against ours in the prediction period (the region's NOAA numbers),
    and, for a missed M1.0+ flare, whether it peaks just after the period (when our labels place flares
    by peak, `flare_time="peak"`; the authors place them by start), or our catalogue has it without a
    NOAA number, under another one, or not at all. Columns: the window, both labels, both flare lists,
    reason."""
    from flarelib.events import FLARE_TIME

    when = FLARE_TIME[flare_time]
    bad = both[(both.authors != both.ours) & (both.regions == "with NOAA number")]
    rows = []
    for w in bad.itertuples(index=False):
        numbers = [int(n) for n in w.NOAA_ARS.split(",")]
        period = flares[(flares[when] >= w.end) & (flares[when] <= w.end + prediction)]  # closed, as `sampling` counts
        mine = period[period.noaa_ar.isin(numbers)].sort_values(when)
        theirs = w.AUTHORS_FLARES
        late = flares.iloc[:0]
        if flare_time == "peak" and "start_time" in flares:  # started inside the period, peaked after it
            edge = w.end + prediction
            late = flares[flares.noaa_ar.isin(numbers) & (flares.start_time <= edge) & (flares.peak_time > edge)]
        rows.append({"SERIES": w.SERIES, "ARPNUM": w.ARPNUM, "end": w.end, "authors": w.authors, "ours": w.ours,
                     "authors_flares": theirs, "our_flares": "|".join(mine.goes_class),
                     "reason": _reason(w, theirs, period, mine, late)})
    return pd.DataFrame(rows, columns=["SERIES", "ARPNUM", "end", "authors", "ours", "authors_flares", "our_flares", "reason"])


def _reason(w, theirs: str, period: pd.DataFrame, mine: pd.DataFrame, late: pd.DataFrame) -> str:
    if w.authors == "negative":
        return f"our catalogue ties flares to the region's NOAA numbers ({w.observation} then {w.prediction}); the authors' did not"
    strong = [c for c in theirs.split("|") if c[:1] in "MX"]
    missing = [c for c in strong if c not in set(mine.goes_class)]
    if not missing:
        return f"the M1.0+ flare is ours too, but we see {w.observation} then {w.prediction}"
    if missing[0] in set(late.goes_class):
        return "the M1.0+ flare starts in the period but peaks after it (the authors place flares by start time)"
    same = period[period.goes_class == missing[0]]
    if same.empty:
        return "the authors' M1.0+ flare is not in our catalogue in this period"
    if same.noaa_ar.isna().all():
        return "our catalogue has the M1.0+ flare without a NOAA number"
    return "our catalogue ties the M1.0+ flare to another NOAA region"


def mapping_summary(records: pd.DataFrame, noaa: pd.DataFrame) -> pd.DataFrame:
    """Per series: regions, those with a positive window, those tied to NOAA numbers (and to more
    than one), and the share of listed flares our catalogue matches for them."""
    regions = records.groupby(["SERIES", "ARPNUM"]).agg(positive=("AUTHORS_LABEL", "any"), NOAA_ARS=("NOAA_ARS", "first"))
    table = regions.groupby("SERIES").agg(regions=("positive", "size"), with_positive_window=("positive", "sum"),
                                          with_noaa=("NOAA_ARS", lambda s: int((s != "").sum())),
                                          with_several_noaa=("NOAA_ARS", lambda s: int(s.str.contains(",").sum())))
    flares = noaa.groupby("SERIES")[["listed", "matched"]].sum()
    table["listed_flares_matched"] = flares.matched / flares.listed
    return table


def real_windows(data_dir) -> pd.DataFrame:
    """The authors' windows (SERIES, ARPNUM, label and the four keywords under our names), as the
    teaching world's calibration compares them (`flarelib.world.calibration`)."""
    tables = read_window_tables(data_dir)
    return tables.rename(columns={"arpnum": "ARPNUM", **KEYWORD_MAP})[["SERIES", "ARPNUM", "label", *KEYWORDS]]


def real_windows_if_present() -> pd.DataFrame | None:
    """The authors' windows when their tables are in the data folder (never fetched), else None."""
    from flarelib.sources import registry

    try:
        registry.ensure(TABLES_DIR, fetch=False)
    except registry.DataMissing:
        return None
    return real_windows(registry.data_dir())
