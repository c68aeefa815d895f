"""Tables and figures that describe a store: what there is per year, what was dropped and why."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from flarelib.plots.layout import WIDTH, caption_title
from flarelib.sources.store import Store

CLASS_COLOURS = {"A": "#bbbbbb", "B": "#7fa7d8", "C": "#3b75af", "M": "#ef8636", "X": "#c53a32"}


def per_year(records: pd.DataFrame) -> pd.DataFrame:
    """Regions and records per year for each series."""
    year = records["T_REC"].dt.year.rename("year")
    table = records.groupby([year, "SERIES"]).agg(regions=("ARPNUM", "nunique"), records=("ARPNUM", "size"))
    return table.unstack("SERIES", fill_value=0)


def flares_per_year(flares: pd.DataFrame) -> pd.DataFrame:
    """Flares per year by GOES class letter (parsed classes only)."""
    letters = flares["goes_class"].str.strip().str[0].str.upper().rename("class")
    return flares.groupby([flares["peak_time"].dt.year.rename("year"), letters]).size().unstack(fill_value=0)


def dropped_summary(dropped_records: pd.DataFrame, store: Store) -> pd.DataFrame:
    """One row per reason a record or flare was dropped, with counts per series (or 'flares')."""
    rows = []
    reasons = dropped_records["reason"].astype(str).str.split("; ")
    for reason, group in dropped_records.assign(reason=reasons).explode("reason").groupby("reason"):
        for series, count in group.groupby("SERIES").size().items():
            rows.append({"what": f"{series} records", "reason": reason, "count": int(count)})
    for rule in store.provenance.get("filters_applied_upstream", []):
        rows.append({"what": "records", "reason": f"{rule} (applied by the source before us; not countable here)", "count": 0})
    records = store.records
    flagged = {"NaN keyword": records[["USFLUXL", "MEANGBL", "R_VALUE", "AREA"]].isna().any(axis=1)}
    if "NAN_PIXELS" in records:
        flagged["NaN pixels"] = records["NAN_PIXELS"].fillna(0) > 0
    for reason, mask in flagged.items():
        for series, count in records[mask].groupby("SERIES").size().items():
            rows.append({"what": f"{series} records", "reason": f"{reason} (kept; the sampling chapter applies "
                         "the study's bad-record rule)", "count": int(count)})
    flares = store.flares
    rejected = flares.rejected["reason"].str.replace(r"^'.*' is not a GOES class.*$", "unknown or malformed class", regex=True)
    for reason, count in rejected.value_counts().items():
        rows.append({"what": "flares", "reason": f"{reason} (excluded)", "count": int(count)})
    no_region = int(flares.flares["noaa_ar"].isna().sum())
    rows.append({"what": "flares", "reason": "no NOAA region (kept, cannot label a region)", "count": no_region})
    return pd.DataFrame(rows, columns=["what", "reason", "count"])


def co_temporal_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """SMARP and SHARP regions sharing a NOAA number and at least one T_REC (the 2010 overlap)."""
    smarp = records[records.SERIES == "SMARP"][["ARPNUM", "T_REC", "NOAA_ARS"]]
    sharp = records[records.SERIES == "SHARP"][["ARPNUM", "T_REC", "NOAA_ARS"]]
    both = smarp.merge(sharp, on=["T_REC", "NOAA_ARS"], suffixes=("_SMARP", "_SHARP"))
    both = both[both.NOAA_ARS != ""]
    return (both.groupby(["ARPNUM_SMARP", "ARPNUM_SHARP", "NOAA_ARS"]).T_REC.agg(["min", "max", "size"])
            .rename(columns={"min": "first", "max": "last", "size": "records"}).reset_index())


def plot_per_year(records: pd.DataFrame, flares: pd.DataFrame, caption: str) -> plt.Figure:
    """Records per year per instrument, and flares per year by class."""
    table, counts = per_year(records)["records"], flares_per_year(flares)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 6), sharex=True)
    for series, colour in (("SMARP", "#3b75af"), ("SHARP", "#ef8636")):
        if series in table:
            top.bar(table.index, table[series], color=colour, alpha=0.8, label=f"{series} records")
    top.set_ylabel("records per year")
    top.legend(frameon=False)
    for letter in [c for c in "ABCMX" if c in counts]:
        bottom.plot(counts.index, counts[letter].replace(0, np.nan), marker="o", ms=3, color=CLASS_COLOURS[letter],
                    label=f"{letter} class")
    bottom.set_yscale("log")
    bottom.set_ylabel("flares per year")
    bottom.set_xlabel("year")
    bottom.legend(ncol=5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    caption_title(fig, caption, y=0.995)
    fig.tight_layout()
    return fig


def plot_sequence(store: Store, series: str, arpnum: int, times: list[pd.Timestamp], caption: str,
                  limit: float = 1000.0) -> plt.Figure:
    """Magnetograms of one region at the given times, on a common grey scale of +-limit G.

    Parameters
    ----------
    store : the run's store.
    series, arpnum : the region.
    times : record times to show.
    caption : the figure's caption (naming the data source).
    limit : the grey scale's range, +-limit G.
    """
    side = min(2.6, WIDTH / max(1, len(times)))
    fig, axes = plt.subplots(1, len(times), figsize=(side * len(times), side + 0.8), squeeze=False)
    _draw_fields(axes[0], store, series, arpnum, times, limit)
    caption_title(fig, f"{series} {arpnum}: line-of-sight field, +-{limit:.0f} G. {caption}")
    fig.tight_layout()
    return fig


def _draw_fields(axes, store: Store, series: str, arpnum: int, times: list[pd.Timestamp], limit: float,
                 titled: bool = True) -> None:
    """One region's magnetograms, one a tile, on a grey scale of +-limit G; each tile with its size and
    (when `titled`) its time."""
    for ax, when in zip(axes, times):
        field, _ = store.magnetogram(series, arpnum, when)
        ax.imshow(field, origin="lower", cmap="gray", vmin=-limit, vmax=limit)
        ax.set_title(f"{when:%Y-%m-%d\n%H:%M}" if titled else "")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(f"{field.shape[1]} x {field.shape[0]} px")


def shared_times(records: pd.DataFrame, pair: pd.Series, n: int = 4) -> list[pd.Timestamp]:
    """`n` record times, evenly spread, at which both regions of a co-temporal pair were observed."""
    smarp = records[(records.SERIES == "SMARP") & (records.ARPNUM == pair.ARPNUM_SMARP)].T_REC
    sharp = records[(records.SERIES == "SHARP") & (records.ARPNUM == pair.ARPNUM_SHARP)].T_REC
    shared = smarp[smarp.isin(sharp)].sort_values()
    return list(shared.iloc[np.unique(np.linspace(0, len(shared) - 1, n).round().astype(int))]) if len(shared) else []


def plot_pair(store: Store, records: pd.DataFrame, pairs: pd.DataFrame, caption: str, n: int = 4,
              limit: float = 1000.0) -> plt.Figure:
    """The co-temporal pair with the most shared records, at `n` shared times: the SMARP region in the
    top row, the SHARP region below, on a common grey scale of +-limit G.

    Parameters
    ----------
    store : the run's store.
    records : the kept records.
    pairs : `co_temporal_pairs` of those records (at least one).
    caption : the figure's caption (naming the data source).
    n : how many shared times.
    limit : the grey scale's range, +-limit G.
    """
    pair = pairs.sort_values("records").iloc[-1]
    times = shared_times(records, pair, n)
    side = min(2.0, WIDTH / max(1, len(times)))
    fig, axes = plt.subplots(2, len(times), figsize=(side * len(times), 2 * side + 1.4), squeeze=False)
    for row, (series, arpnum) in zip(axes, (("SMARP", pair.ARPNUM_SMARP), ("SHARP", pair.ARPNUM_SHARP))):
        _draw_fields(row, store, series, int(arpnum), times, limit, titled=series == "SMARP")
        row[0].set_ylabel(f"{series} {int(arpnum)}")
    caption_title(fig, f"NOAA {pair.NOAA_ARS} through both instruments, line-of-sight field, +-{limit:.0f} G. {caption}")
    fig.tight_layout()
    return fig


def no_pair_note(store: Store) -> str:
    """Why a store has no co-temporal SMARP/SHARP pair, in a sentence for the page."""
    note = "No co-temporal SMARP/SHARP pair in this store: the fusion chapter has no pairs to compare."
    if not store.has_magnetograms:
        note += " (The archive's SMARP windows end on 2010-10-24, its SHARP windows begin on 2010-11-01.)"
    return note
