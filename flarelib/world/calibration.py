"""The teaching world beside the real Sun: the statistics the world's constants were fitted to.

Against the study authors' window tables (read by `flarelib.sources.window_tables.real_windows`):
each keyword's distribution per instrument over windows (the window's last record, in log space
where the keyword is skewed: USFLUXL and AREA), compared by the two-sample Kolmogorov-Smirnov
distance (`scipy.stats.ks_2samp`); the event rate (positives over positives and negatives); the
share of regions that ever have a positive window; and the largest share of an instrument's
positives that one region holds. The world's windows are labelled with the study's rules
(`flarelib.sampling`; `flarelib.sources.synthetic.world_windows` does it for a store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from flarelib.schema import KEYWORDS

LOG_KEYWORDS = {"USFLUXL", "AREA"}  # skewed: compared in log10
TARGETS = {"ks": 0.15, "event_rate": {"SHARP": 0.041, "SMARP": 0.034}, "event_rate_tolerance": 0.15,
           "regions_positive": 0.10, "top_region_share": 0.05}


def windows_with_keywords(samples: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """Kept, labelled windows (`sampling.sample_windows`) with their last record's keywords."""
    usable = samples[samples.keep & samples.label.notna()]
    return usable.rename(columns={"end": "T_REC"}).merge(
        kept[["SERIES", "ARPNUM", "T_REC", *KEYWORDS]], on=["SERIES", "ARPNUM", "T_REC"], how="left",
    )[["SERIES", "ARPNUM", "label", *KEYWORDS]].assign(label=lambda d: d.label.astype(bool))


def _values(windows: pd.DataFrame, keyword: str) -> np.ndarray:
    values = windows[keyword].dropna().to_numpy(dtype=float)
    return np.log10(values[values > 0]) if keyword in LOG_KEYWORDS else values


def keyword_distances(world: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """KS distance of every keyword per instrument (rows: SERIES, keyword, scale, ks, medians)."""
    rows = []
    for series in ("SHARP", "SMARP"):
        w, r = world[world.SERIES == series], real[real.SERIES == series]
        for keyword in KEYWORDS:
            ours, theirs = _values(w, keyword), _values(r, keyword)
            rows.append({"SERIES": series, "keyword": keyword, "scale": "log10" if keyword in LOG_KEYWORDS else "linear",
                         "ks": float(stats.ks_2samp(ours, theirs).statistic),
                         "median world": float(np.median(ours)), "median real": float(np.median(theirs))})
    return pd.DataFrame(rows)


def region_statistics(windows: pd.DataFrame) -> pd.DataFrame:
    """Per instrument: windows, positives, event rate, regions, the share that ever has a positive
    window, and the largest and five largest regions' shares of the positives."""
    rows = []
    for series, group in windows.groupby("SERIES"):
        positives = group[group.label].groupby("ARPNUM").size().sort_values(ascending=False)
        rows.append({"SERIES": series, "windows": len(group), "positives": int(positives.sum()),
                     "event rate": float(group.label.mean()), "regions": int(group.ARPNUM.nunique()),
                     "regions ever positive": float(len(positives) / group.ARPNUM.nunique()),
                     "top region share": float(positives.iloc[0] / positives.sum()) if len(positives) else np.nan,
                     "top five share": float(positives.iloc[:5].sum() / positives.sum()) if len(positives) else np.nan})
    return pd.DataFrame(rows).set_index("SERIES")


def calibration_table(world: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """World and Sun side by side: region statistics of both, one row per instrument and source."""
    both = pd.concat({"world": region_statistics(world), "real tables": region_statistics(real)}, names=["source"])
    return both.swaplevel().sort_index()


def calibration_summary(world: pd.DataFrame, real: pd.DataFrame) -> dict:
    """The calibration's numbers for a chapter record: KS per instrument and keyword, and the
    world's event rates, share of regions ever positive and largest region's share."""
    distances = keyword_distances(world, real)
    regions = region_statistics(world)
    return {
        "ks": {f"{r.SERIES} {r.keyword}": round(float(r.ks), 4) for r in distances.itertuples()},
        "event_rate": {s: round(float(v), 4) for s, v in regions["event rate"].items()},
        "regions_ever_positive": {s: round(float(v), 4) for s, v in regions["regions ever positive"].items()},
        "top_region_share": {s: round(float(v), 4) for s, v in regions["top region share"].items()},
        "misses": misses(world, real),
    }


def plot_beside(world: pd.DataFrame, real: pd.DataFrame, caption: str):
    """One panel per instrument and keyword: the world's and the real tables' distributions over
    windows (density histograms on common bins), the KS distance in the title."""
    import matplotlib.pyplot as plt

    from flarelib.plots.layout import WIDTH, caption_title

    distances = keyword_distances(world, real).set_index(["SERIES", "keyword"]).ks
    figure, axes = plt.subplots(len(KEYWORDS), 2, figsize=(WIDTH, 2.6 * len(KEYWORDS)), layout="constrained")
    for column, series in zip(axes.T, ("SHARP", "SMARP")):
        for ax, keyword in zip(column, KEYWORDS):
            ours, theirs = _values(world[world.SERIES == series], keyword), _values(real[real.SERIES == series], keyword)
            bins = np.linspace(min(ours.min(), theirs.min()), max(ours.max(), theirs.max()), 40)
            ax.hist(theirs, bins, density=True, histtype="stepfilled", alpha=0.35, color="0.3", label="real tables")
            ax.hist(ours, bins, density=True, histtype="step", lw=1.6, color="C1", label="synthetic world")
            scale = "log10 " if keyword in LOG_KEYWORDS else ""
            ax.set_title(f"{series} {scale}{keyword}: KS {distances[(series, keyword)]:.3f}")
            ax.set_yticks([])
    axes[0, 0].legend()
    caption_title(figure, caption)
    return figure


def plot_positives_per_region(world: pd.DataFrame, real: pd.DataFrame, caption: str):
    """Per instrument: the share of regions that flare with at least k positive windows, world and
    real tables (a region's positives and how they spread decide how noisy a test set is)."""
    from flarelib.plots.layout import SMALLEST_PT, caption_title, panel_grid

    figure, axes = panel_grid(2, panel=(4.0, 3.8), layout="constrained")
    for ax, series in zip(axes, ("SHARP", "SMARP")):
        for windows, name, style in ((real, "real tables", dict(color="0.3")), (world, "synthetic world", dict(color="C1"))):
            group = windows[windows.SERIES == series]
            counts = np.sort(group[group.label].groupby("ARPNUM").size().to_numpy())[::-1]
            ax.step(counts, np.arange(1, counts.size + 1) / counts.size, where="post", label=f"{name} ({counts.size} regions)", **style)
        ax.set_xscale("log")
        ax.set_xlabel("positive windows of a region")
        ax.set_ylabel("share of flaring regions with at least that many")
        ax.set_title(series)
        ax.legend(fontsize=SMALLEST_PT)
    caption_title(figure, caption)
    return figure


def misses(world: pd.DataFrame, real: pd.DataFrame) -> list[str]:
    """Every calibration target the world misses, in words (empty when it meets them all)."""
    out = [f"{r.SERIES} {r.keyword}: KS {r.ks:.3f} > {TARGETS['ks']}"
           for r in keyword_distances(world, real).itertuples() if r.ks > TARGETS["ks"]]
    for series, row in region_statistics(world).iterrows():
        target = TARGETS["event_rate"][series]
        if abs(row["event rate"] / target - 1) > TARGETS["event_rate_tolerance"]:
            out.append(f"{series} event rate {row['event rate']:.4f}, study {target} (within 15%)")
        if row["top region share"] > TARGETS["top_region_share"]:
            out.append(f"{series}: one region holds {row['top region share']:.1%} of the positives (at most 5%)")
        if not 0.05 <= row["regions ever positive"] <= 0.15:
            out.append(f"{series}: {row['regions ever positive']:.1%} of regions ever positive (about 10%)")
    return out
