"""Tables and figures that describe a store: what there is per year, what was dropped and why."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
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
    bottom.legend(ncol=5, frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.suptitle(caption, fontsize=9, y=0.995)
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
    fig, axes = plt.subplots(1, len(times), figsize=(2.6 * len(times), 2.6), squeeze=False)
    for ax, when in zip(axes[0], times):
        field, _ = store.magnetogram(series, arpnum, when)
        ax.imshow(field, origin="lower", cmap="gray", vmin=-limit, vmax=limit)
        ax.set_title(f"{when:%Y-%m-%d %H:%M}", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(f"{field.shape[1]} x {field.shape[0]} px", fontsize=7)
    fig.suptitle(f"{series} {arpnum}: line-of-sight field, +-{limit:.0f} G. {caption}", fontsize=8)
    fig.tight_layout()
    return fig
