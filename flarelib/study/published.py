"""The study's published numbers (Sun, Bobra et al. 2022), typed in from its tables, to be shown
beside ours and to check our statistics. Nothing here is computed."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ['PUBLISHED_ORDER', 'FIGURE2_R', 'FIGURE2_TOLERANCE', 'TABLE6', 'TABLE7', 'TABLE8', 'EXPERIMENTS', 'TABLE2', 'archive_differences',
           'table6_beside', 'with_published', 'hole_audit_table', 'hole_verdict', 'bss_beside_published']

PUBLISHED_ORDER = ["FUSED_SHARP", "SHARP_ONLY", "FUSED_SMARP", "SMARP_ONLY"]

# Figure 2: Pearson r of co-temporal SMARP and SHARP keywords. The text gives the most and the least
# correlated keywords; R_VALUE and AREA lie between them.
FIGURE2_R = {"USFLUXL": 0.970, "MEANGBL": 0.796}
FIGURE2_TOLERANCE = 0.02  # not the study's: how near a run's r must come to read "as the study" (#34's target)

# Table 6: test-set mean and 1-sigma over 10 random experiments.
TABLE6 = pd.DataFrame(
    [("ACC", "CNN", 0.906, 0.036, 0.922, 0.017, 0.901, 0.028, 0.877, 0.031),
     ("ACC", "LSTM", 0.950, 0.012, 0.942, 0.016, 0.905, 0.025, 0.900, 0.024),
     ("AUC", "CNN", 0.980, 0.009, 0.981, 0.006, 0.963, 0.017, 0.950, 0.020),
     ("AUC", "LSTM", 0.990, 0.004, 0.986, 0.004, 0.966, 0.015, 0.963, 0.015),
     ("TSS", "CNN", 0.812, 0.071, 0.843, 0.034, 0.802, 0.056, 0.754, 0.061),
     ("TSS", "LSTM", 0.900, 0.023, 0.884, 0.032, 0.810, 0.050, 0.800, 0.049),
     ("BSS", "CNN", 0.649, 0.152, 0.714, 0.064, 0.628, 0.114, 0.520, 0.121),
     ("BSS", "LSTM", 0.799, 0.036, 0.775, 0.047, 0.626, 0.107, 0.586, 0.108)],
    columns=["metric", "model"] + [f"{d} {s}" for d in PUBLISHED_ORDER for s in ("mean", "std")],
).set_index(["metric", "model"])

# Table 7: one-sided paired t-tests, fused > single (p, t) per metric and model.
TABLE7 = {
    ("ACC", "CNN"): {"SHARP": (0.885787, -1.292359), "SMARP": (0.001862, 3.881137)},
    ("ACC", "LSTM"): {"SHARP": (0.016544, 2.514074), "SMARP": (0.026797, 2.219666)},
    ("AUC", "CNN"): {"SHARP": (0.589845, -0.233881), "SMARP": (0.001399, 4.070352)},
    ("AUC", "LSTM"): {"SHARP": (0.000459, 4.842485), "SMARP": (0.033930, 2.074572)},
    ("TSS", "CNN"): {"SHARP": (0.885787, -1.292357), "SMARP": (0.001862, 3.881135)},
    ("TSS", "LSTM"): {"SHARP": (0.016544, 2.514079), "SMARP": (0.026796, 2.219673)},
    ("BSS", "CNN"): {"SHARP": (0.889419, -1.314583), "SMARP": (0.000482, 4.806837)},
    ("BSS", "LSTM"): {"SHARP": (0.054812, 1.775082), "SMARP": (0.000099, 6.014784)},
}

# Table 8: one-sided paired t-tests, LSTM > CNN (p, t) per metric and dataset.
TABLE8 = {
    "ACC": {"FUSED_SHARP": (0.001442, 4.050296), "SHARP_ONLY": (0.007142, 3.028403),
            "FUSED_SMARP": (0.234866, 0.754672), "SMARP_ONLY": (0.001079, 4.245351)},
    "AUC": {"FUSED_SHARP": (0.003757, 3.429557), "SHARP_ONLY": (0.002527, 3.682754),
            "FUSED_SMARP": (0.227978, 0.779031), "SMARP_ONLY": (0.000743, 4.501005)},
    "TSS": {"FUSED_SHARP": (0.001442, 4.050297), "SHARP_ONLY": (0.007142, 3.028405),
            "FUSED_SMARP": (0.234865, 0.754673), "SMARP_ONLY": (0.001079, 4.245350)},
    "BSS": {"FUSED_SHARP": (0.005296, 3.213872), "SHARP_ONLY": (0.002645, 3.653351),
            "FUSED_SMARP": (0.531965, -0.082481), "SMARP_ONLY": (0.005781, 3.159315)},
}
EXPERIMENTS = 10  # so every t above has 9 degrees of freedom

# Table 2 (left): windows by the activity of their observation (rows) and prediction (columns) periods.
_ACTIVITY = ["QUIET", "WEAK", "STRONG"]
TABLE2 = {
    "SMARP": pd.DataFrame([[130695, 12341, 932], [12688, 12033, 1915], [1071, 1723, 1754]], index=_ACTIVITY, columns=_ACTIVITY),
    "SHARP": pd.DataFrame([[66349, 10715, 296], [11110, 14891, 1366], [282, 1371, 1187]], index=_ACTIVITY, columns=_ACTIVITY),
}


def archive_differences(params: dict) -> pd.DataFrame:
    """How a run on the `archive` source differs from the study's own experiments: the table every
    comparison with Table 6 on archive data is shown beside."""
    rows = [
        ("labels", "the authors', from the HEK's GOES events", "ours, from the merged NGDC/SWPC catalogue"),
        ("flare-to-region ties", "NOAA_ARS of every record", "NOAA numbers inferred from the positive windows' flares"),
        ("USFLUXL, MEANGBL of SHARP", "USFLUXL, MEANGBL", "USFLUX, MEANGBZ of the line-of-sight series (forerunners)"),
        ("records of a window", "the full 96-min series; at most 2 bad", f"published window ends; at most {params.get('max_bad_records')} missing, filled"),
        ("keyword standardization", "global", str(params.get("standardization"))),
        ("experiments", str(EXPERIMENTS), str(params.get("n_experiments"))),
        ("models", "LSTM and CNN", ", ".join(params.get("models", []))),
    ]
    return pd.DataFrame(rows, columns=["setting", "study", "this run"]).set_index("setting")


# --- Ours beside the study's --------------------------------------------------------------------------

def table6_beside(ours: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """Table 6 as "mean +- std" strings, ours and the study's side by side for each dataset we ran."""
    def fmt(table: pd.DataFrame, dataset: str) -> pd.Series:
        return table[f"{dataset} mean"].map("{:.3f}".format) + " +- " + table[f"{dataset} std"].map("{:.3f}".format)

    return pd.DataFrame({f"{d} ({who})": fmt(t, d) for d in datasets for who, t in (("ours", ours), ("study", TABLE6))
                         if f"{d} mean" in t})


def _instrument(comparison: str) -> str | None:
    """SHARP or SMARP, the instrument of a "FUSED_X > X_ONLY" comparison."""
    from flarelib.significance import GROUPS

    return next((group for group, (fused, single) in GROUPS.items() if comparison == f"{fused} > {single}"), None)


def with_published(tests: pd.DataFrame, table: str) -> pd.DataFrame:
    """Our tests of Table 7 (fused > single) or Table 8 (LSTM > CNN) with the study's (p, t) beside
    each row, in a column "study p, t" (None where the study has no such test)."""
    if table == "7":
        published = [TABLE7.get((r.metric, r.model), {}).get(_instrument(r.comparison)) for r in tests.itertuples()]
    elif table == "8":
        published = [TABLE8[r.metric].get(r.dataset) for r in tests.itertuples()]
    else:
        raise ValueError(f"the study has Tables 7 and 8, not {table!r}")
    return tests.assign(**{"study p, t": published})


def hole_audit_table(metrics: pd.DataFrame, metric: str = "TSS") -> pd.DataFrame:
    """The hole audit's Table 6 rows: the LSTM, the LSTM told which steps were filled and the LSTM on
    complete windows only, mean +- std over seeds per dataset, beside the study's LSTM."""
    models = [m for m in ("LSTM", "LSTM_MASK", "LSTM_COMPLETE") if m in set(metrics.model)]
    part = metrics[metrics.model.isin(models)].groupby(["dataset", "model"])[metric].agg(["mean", "std", "count"])
    table = part["mean"].map("{:.3f}".format) + " +- " + part["std"].map("{:.3f}".format)
    out = table.unstack("model")[models]
    published = TABLE6.loc[(metric, "LSTM")]
    out["study LSTM"] = [f"{published[f'{d} mean']:.3f} +- {published[f'{d} std']:.3f}" if f"{d} mean" in published else ""
                         for d in out.index]
    return out


def hole_verdict(metrics: pd.DataFrame, metric: str = "TSS") -> list[str]:
    """In words, per dataset: does the LSTM's score depend on the filled steps? It does where telling
    the LSTM which steps were filled raises its mean by more than its standard deviation over seeds,
    or where training and testing on complete windows lowers it by more than the two variants'
    combined spread (sqrt(s1^2 + s2^2)). Complete windows are a smaller and different test
    population, so a drop there mixes the holes' help with less data and another test set."""
    lines = []
    stats_ = metrics.groupby(["dataset", "model"])[metric].agg(["mean", "std"])
    for dataset in metrics.dataset.unique():
        if (dataset, "LSTM") not in stats_.index:
            continue
        base, spread = stats_.loc[(dataset, "LSTM")]
        mask = stats_.loc[(dataset, "LSTM_MASK"), "mean"] if (dataset, "LSTM_MASK") in stats_.index else float("nan")
        complete, spread_c = (stats_.loc[(dataset, "LSTM_COMPLETE")] if (dataset, "LSTM_COMPLETE") in stats_.index
                              else (float("nan"), float("nan")))
        combined = float(np.hypot(spread, spread_c))
        depends = (mask - base > spread) or (base - complete > combined)
        lines.append(f"{dataset}: the LSTM {base:.3f} +- {spread:.3f}; told the filled steps {mask:.3f}; on complete windows "
                     f"only {complete:.3f} +- {spread_c:.3f} (a drop of {base - complete:.3f} against a combined spread of "
                     f"{combined:.3f}). " + ("This score depends on the holes." if depends else
                                             "Within the spread: this score does not depend on the holes."))
    return lines


def bss_beside_published(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model and dataset: our BSS by Eq. 14, the same predictions' BSS by the formula of the code
    that produced the study's tables (`metrics.bss_authors`), and the published BSS, each mean +- std
    over seeds. Only the middle column is comparable with the published one."""
    fmt = lambda s: f"{s.mean():.3f} +- {s.std():.3f}"
    rows = []
    for (model, dataset), part in metrics.groupby(["model", "dataset"], sort=False):
        published = TABLE6.loc[("BSS", model)] if ("BSS", model) in TABLE6.index else None
        rows.append({"model": model, "dataset": dataset, "ours (Eq. 14)": fmt(part.BSS),
                     "ours (authors' code)": fmt(part.BSS_authors) if "BSS_authors" in part else "",
                     "published": (f"{published[f'{dataset} mean']:.3f} +- {published[f'{dataset} std']:.3f}"
                                   if published is not None and f"{dataset} mean" in published else "")})
    return pd.DataFrame(rows).set_index(["model", "dataset"])
