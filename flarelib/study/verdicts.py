"""The study's findings beside what a run measured: each as an effect (a test TSS difference over the
experiments) with its intervals over experiments and over test regions, the test of its family, and a
verdict computed from them; what each model catches by what its region did in the observation period;
the findings page's table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from flarelib.metrics import fast_tss
from flarelib.schema import SAMPLE_REGION
from flarelib.significance import bootstrap_ci, model_order, table7

__all__ = ['table7_by_labels', 'LABEL_WORDS', 'finding1_by_labels', 'means_by_labels', 'by_observation',
           'OBSERVATION_RATES', 'by_observation_means', 'by_observation_table', 'seed_interval', 'region_interval',
           'VERDICTS', 'verdict', 'FINDINGS', 'EFFECT_COLUMNS', 'finding_effects', 'effects_as_text', 'NOT_MEASURED',
           'findings']


# --- Finding 1 with each label set (archive) -----------------------------------------------------------

def table7_by_labels(metrics_by_labels: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 7 made from each label set's metrics (same windows, seeds and settings), side by side:
    columns "t (<name> labels)" and "p (<name> labels)" per row of metric, model and comparison."""
    frames = []
    for name, metrics in metrics_by_labels.items():
        tests = table7(metrics).set_index(["metric", "model", "comparison"])[["t", "p"]]
        frames.append(tests.rename(columns=lambda c: f"{c} ({name} labels)"))
    return pd.concat(frames, axis=1).reset_index()


LABEL_WORDS = {"ours": "our labels", "authors": "the authors' labels"}


def finding1_by_labels(both: pd.DataFrame, metric: str = "TSS", alpha: float = 0.05) -> list[str]:
    """One sentence per comparison of `table7_by_labels` (with the study's "study p, t" column): which
    label sets give p < alpha for `metric`, beside the study's p."""
    lines = []
    for _, row in both[both.metric == metric].iterrows():
        sets = [c[3:-len(" labels)")] for c in row.index if c.startswith("p (")]
        verdicts = [f"{LABEL_WORDS.get(name, name + ' labels')}: t = {row[f't ({name} labels)']:.2f}, p = {row[f'p ({name} labels)']:.3f} "
                    f"({'significant' if row[f'p ({name} labels)'] < alpha else 'not significant'})" for name in sets]
        study = row.get("study p, t")
        said = f"; the study: t = {study[1]:.2f}, p = {study[0]:.3f}" if isinstance(study, tuple) else ""
        lines.append(f"{metric} {row['comparison']}: " + "; ".join(verdicts) + said + ".")
    return lines


def means_by_labels(metrics_by_labels: dict[str, pd.DataFrame], metric: str = "TSS") -> pd.DataFrame:
    """A metric's mean and standard deviation over seeds per dataset and model, one column pair per
    label set."""
    return pd.concat({f"{name} labels": m.groupby(["dataset", "model"])[metric].agg(["mean", "std"])
                      for name, m in metrics_by_labels.items()}, axis=1)


# --- What each model catches, by what its region did in the observation period ---------------------

def by_observation(predictions: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Per test set (dataset, model, seed): the hit rate on positives whose observation period was QUIET
    (a region's first strong flare), and on those whose observation period was active (WEAK or STRONG),
    at the one threshold whose false-alarm rate (POFD: false alarms over all negatives) is given beside.
    Needs the predictions' `observation` column (chapter 03's activity of each window)."""
    if "observation" not in predictions:
        raise ValueError("the predictions have no observation column: chapter 06 needs chapter 03's dataset files "
                         "written with each window's activity (flarelib run --from 03_sampling)")
    test = predictions[predictions.split == "test"]
    rows = []
    for (dataset, model, seed), part in test.groupby(["dataset", "model", "seed"]):
        y, yes = part.label.astype(bool).to_numpy(), part.prob.to_numpy() >= threshold
        quiet = (part.observation == "QUIET").to_numpy()
        rate = lambda mask: float(yes[mask].mean()) if mask.any() else float("nan")
        rows.append({"dataset": dataset, "model": model, "seed": seed,
                     "hit rate, quiet observation": rate(y & quiet), "hit rate, active observation": rate(y & ~quiet),
                     "false-alarm rate": rate(~y), "positives, quiet observation": int((y & quiet).sum()),
                     "positives, active observation": int((y & ~quiet).sum())})
    return pd.DataFrame(rows)


OBSERVATION_RATES = ["hit rate, quiet observation", "hit rate, active observation", "false-alarm rate"]


def by_observation_means(per_seed: pd.DataFrame) -> dict[str, dict[str, float]]:
    """`by_observation`'s rates as means over seeds, {"<dataset> <model>": {rate: mean}} (a record's form)."""
    means = per_seed.groupby(["dataset", "model"])[OBSERVATION_RATES].mean()
    return {f"{d} {m}": {k: float(v) for k, v in row.items()} for (d, m), row in means.iterrows()}


def by_observation_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """`by_observation` as mean +- std over seeds per dataset and model (counts as means)."""
    grouped = per_seed.groupby(["dataset", "model"])
    table = pd.DataFrame({c: grouped[c].mean().map("{:.3f}".format) + " +- " + grouped[c].std().map("{:.3f}".format)
                          for c in OBSERVATION_RATES})
    table["positives per test set (quiet / active)"] = (grouped["positives, quiet observation"].mean().map("{:.0f}".format) + " / "
                                                        + grouped["positives, active observation"].mean().map("{:.0f}".format))
    return table.loc[sorted(table.index, key=lambda k: (k[0], model_order(k[1])))]


# --- Effects, their intervals, and a verdict ---------------------------------------------------------

def seed_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The mean paired difference a - b over seeds and its t interval (scipy.stats.t): (mean, low, high)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else float("nan")), float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def region_interval(predictions: pd.DataFrame, a: dict, b: dict, n_boot: int = 300, seed: int = 0,
                    level: float = 0.95, threshold: float = 0.5) -> tuple[float, float]:
    """The 95% interval of the mean TSS difference a - b over seeds, resampling test regions within each
    seed (both forecasts of a region move together: the two sides must share their test windows, as
    fused and single datasets, or two models of one dataset, do).

    Parameters
    ----------
    predictions : chapter 06's predictions (`split`, `seed`, region, `t_end`, `label`, `prob` and the
        columns `a` and `b` select by).
    a, b : the two sides, as {column: value}.
    n_boot, seed : draws and their seed.
    level : the interval's coverage.
    threshold : the TSS threshold.
    """
    if predictions.empty:
        return float("nan"), float("nan")
    test = predictions[predictions.split == "test"]
    pick = lambda sel: test.loc[np.logical_and.reduce([test[k] == v for k, v in sel.items()])]
    keys = ["seed", *SAMPLE_REGION, "t_end", "label"]
    both = pick(a)[keys + ["prob"]].merge(pick(b)[keys + ["prob"]], on=keys, suffixes=("_a", "_b"))
    if both.empty:
        return float("nan"), float("nan")

    def statistic(table: pd.DataFrame) -> float:
        values = []
        for _, g in table.groupby("seed"):
            y = g.label.astype(bool).to_numpy()
            if 0 < y.sum() < len(y):
                values.append(fast_tss(y, g.prob_a.to_numpy(), threshold) - fast_tss(y, g.prob_b.to_numpy(), threshold))
        return float(np.mean(values)) if values else float("nan")

    _, low, high = bootstrap_ci(both, statistic, SAMPLE_REGION, n_boot, seed, level, strata="seed")
    return low, high


VERDICTS = ("reproduced", "reversed", "not significant with {n} experiments", "explained by persistence",
            "adds beyond persistence", "not measurable on this source", "not measurable with {n} scored experiments")


def verdict(mean: float, low: float, high: float, p_holm: float, n: int, *, measurable: bool = True,
            persistence: bool = False, alpha: float = 0.05) -> str:
    """One line for a tested effect (a mean difference over seeds in the study's direction, its interval
    over seeds, its Holm-adjusted one-sided p over `n` experiments).

    - "not measurable on this source" when the source cannot run it; "not measurable with N scored
      experiments" when fewer than 2 experiments have a score;
    - "reproduced" when p Holm < alpha; "reversed" when the whole interval is below 0;
    - otherwise "not significant with N experiments".

    With `persistence` (the comparison is a deep model against persistence) the words say what that
    means: "adds beyond persistence" when significant, else "explained by persistence".

    Parameters
    ----------
    mean, low, high : the effect and its interval over seeds.
    p_holm : its test's Holm-adjusted one-sided p.
    n : the experiments scored.
    measurable : False when the source cannot run the comparison.
    persistence : the comparison is a deep model against the best persistence baseline.
    alpha : the significance level.
    """
    if not measurable:
        return "not measurable on this source"
    if n < 2 or not np.isfinite(mean):
        return f"not measurable with {n} scored experiment{'s' if n != 1 else ''}"
    significant = np.isfinite(p_holm) and p_holm < alpha
    if persistence:
        return "adds beyond persistence" if significant else "explained by persistence"
    if significant:
        return "reproduced"
    if np.isfinite(high) and high < 0:
        return "reversed"
    return f"not significant with {n} experiments"


# --- The study's findings, beside what a run measured --------------------------------------------------

FINDINGS = {
    1: "The LSTM trained on two solar cycles has a significantly higher TSS than on one (p < 0.05).",
    2: "On cycle 23 (SMARP), stacking the LSTM and the CNN by the TSS criterion beats selecting the better one.",
    3: "Integrated Gradients attributes the CNN's flare forecasts to emerging flux near inversion lines "
       "(and to the line-of-sight polarity artifact).",
    4: "(Not asked by the study.) The deep models add skill over the region's recent flares (persistence).",
}
EFFECT_COLUMNS = ["finding", "comparison", "effect", "seeds low", "seeds high", "regions low", "regions high", "t", "p",
                  "p Holm", "n", "verdict"]


def _row_of(tests: pd.DataFrame, table: str, comparison: str, metric: str = "TSS", **where) -> pd.Series | None:
    rows = tests[(tests.table.astype(str) == table) & (tests.metric == metric) & (tests.comparison == comparison)]
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows.iloc[0] if len(rows) and pd.notna(rows.p.iloc[0]) else None


def _effect(finding: int, comparison: str, a: pd.Series, b: pd.Series, test: pd.Series | None,
            regions: tuple[float, float], persistence: bool = False) -> dict:
    """One row of `finding_effects`: the mean difference a - b over the seeds both have, its intervals,
    the test and the verdict."""
    both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna()
    mean, low, high = seed_interval(both.a, both.b)
    n = int(test.n) if test is not None else len(both)
    p_holm = float(test["p Holm"]) if test is not None else float("nan")
    return {"finding": finding, "comparison": comparison, "effect": mean, "seeds low": low, "seeds high": high,
            "regions low": regions[0], "regions high": regions[1],
            "t": float(test.t) if test is not None else float("nan"), "p": float(test.p) if test is not None else float("nan"),
            "p Holm": p_holm, "n": n,
            "verdict": verdict(mean, low, high, p_holm, n, persistence=persistence)}


def finding_effects(metrics: pd.DataFrame, predictions: pd.DataFrame, stacked: pd.DataFrame, tests: pd.DataFrame,
                    n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """Findings 1, 2 and the new question 4 as effects (test TSS differences, mean over seeds) with a 95%
    interval over seeds (t) and over test regions (bootstrap, `significance.region_interval`), the test of
    chapter 07's family and a verdict (`significance.verdict`). A comparison the run could not make
    (no CNN, one dataset) is left out; `findings` says why.

    Parameters
    ----------
    metrics, predictions, stacked : chapter 06's tables.
    tests : chapter 07's `test_family`.
    n_boot, seed : the region bootstrap's draws and seed.
    """
    from flarelib.significance import GROUPS

    tss = lambda **sel: metrics.loc[np.logical_and.reduce([metrics[k] == v for k, v in sel.items()])].set_index("seed").TSS
    rows = []
    for fused, single in GROUPS.values():  # finding 1: the LSTM, fused > single
        if {fused, single} <= set(metrics.dataset) and "LSTM" in set(metrics.model):
            a, b = {"dataset": fused, "model": "LSTM"}, {"dataset": single, "model": "LSTM"}
            rows.append(_effect(1, f"LSTM {fused} > {single}", tss(**a), tss(**b),
                                _row_of(tests, "7", f"{fused} > {single}", model="LSTM"),
                                region_interval(predictions, a, b, n_boot, seed)))
    for dataset in ("SMARP_ONLY", "FUSED_SMARP"):  # finding 2: stacking by TSS > BEST
        part = stacked[stacked.dataset == dataset] if len(stacked) else stacked
        if len(part) and {"TSS", "BEST"} <= set(part.method):
            by = lambda m: part[part.method == m].set_index("seed").TSS
            rows.append(_effect(2, f"{dataset} stacking (TSS) > BEST", by("TSS"), by("BEST"),
                                _row_of(tests, "stacking", "TSS > BEST", dataset=dataset), (float("nan"), float("nan"))))
    persistence = tests[(tests.table.astype(str) == "persistence") & (tests.metric == "TSS")] if len(tests) else tests
    for r in persistence.itertuples():  # question 4: each deep model against the best persistence baseline
        deep, rival = r.comparison.split(" > ")
        a, b = {"dataset": r.dataset, "model": deep}, {"dataset": r.dataset, "model": rival}
        rows.append(_effect(4, f"{r.dataset} {r.comparison}", tss(**a), tss(**b), tests.loc[r.Index],
                            region_interval(predictions, a, b, n_boot, seed), persistence=True))
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _interval(low: float, high: float) -> str:
    return "-" if not (np.isfinite(low) and np.isfinite(high)) else f"[{low:+.3f}, {high:+.3f}]"


def effects_as_text(effects: pd.DataFrame) -> pd.DataFrame:
    """`finding_effects` as the findings page shows it: the effect with its two 95% intervals, the test."""
    rows = []
    for _, r in effects.iterrows():
        test = "-" if not np.isfinite(r.p) else f"t = {r.t:.2f}, p = {r.p:.3f}, Holm {r['p Holm']:.3f} ({int(r.n)} experiments)"
        rows.append({"finding": int(r.finding), "comparison": r.comparison,
                     "effect (TSS difference)": f"{r.effect:+.3f}; seeds {_interval(r['seeds low'], r['seeds high'])}; "
                                                f"regions {_interval(r['regions low'], r['regions high'])}",
                     "test": test, "verdict": r.verdict})
    return pd.DataFrame(rows, columns=["finding", "comparison", "effect (TSS difference)", "test", "verdict"])


NOT_MEASURED = {
    1: "not measurable on this source: chapter 07 has no Table 7 here",
    2: "not measurable on this source: stacking needs the CNN, and the CNN needs magnetograms (none of the real ones "
       "can be had offline)",
    4: "not measurable on this source: no persistence baseline ran (baselines)",
}


def findings(run_dir: Path) -> pd.DataFrame:
    """Each of the study's findings, and the question of persistence, with this run's effect, test and
    verdict (chapter 07's `effects.csv`); finding 3 from chapter 08's record. A finding the run could not
    measure says why."""
    import json

    run_dir = Path(run_dir)
    effects_file = run_dir / "07_significance" / "effects.csv"
    effects = pd.read_csv(effects_file) if effects_file.is_file() else pd.DataFrame(columns=EFFECT_COLUMNS)
    shown = effects_as_text(effects)
    record_file = run_dir / "08_attribution" / "record.json"
    attribution = json.loads(record_file.read_text()) if record_file.is_file() else {}
    rows = []
    for number in (1, 2, 3, 4):
        if number == 3:
            found = [_finding3(attribution)]
        else:
            found = shown[shown.finding == number].drop(columns="finding").to_dict("records") or [
                {"comparison": "-", "effect (TSS difference)": "-", "test": "-", "verdict": NOT_MEASURED[number]}]
        rows += [{"finding": f"({number}) {FINDINGS[number]}", **row} for row in found]
    return pd.DataFrame(rows, columns=["finding", "comparison", "effect (TSS difference)", "test", "verdict"])


def _finding3(attribution: dict) -> dict:
    numbers = attribution.get("numbers", {})
    if attribution.get("skipped") or not numbers:
        return {"comparison": "-", "effect (TSS difference)": "-", "test": "-",
                "verdict": "not measurable on this source: attribution explains the CNN, which needs magnetograms "
                           "(none of the real ones offline)"}
    if not numbers.get("pil_ratio_mean"):
        candidates = numbers.get("candidates", 0)
        return {"comparison": "-", "effect (TSS difference)": "-", "test": "-",
                "verdict": f"not measured in this run: none of its {candidates} candidate regions had an out-of-fold CNN "
                           "forecast that rose by attribution_min_rise, so no region's maps were made (chapter 08)"}
    control = numbers.get("pil_control_ratio_mean")
    said = (f"positive attribution near strong-field inversion lines {numbers['pil_ratio_mean']:.1f} x their share of "
            "the pixels" + (f", against {control:.1f} x for a map of |B| alone" if control else "")
            + f"; on the bipole grid, Spearman {numbers['grid_spearman']['B0']:+.2f} with B0")
    return {"comparison": "attribution near inversion lines", "effect (TSS difference)": said, "test": "-",
            "verdict": "described, not tested (one model's maps; no repeated experiments). The polarity artifact is "
                       "not in the teaching world's line-of-sight field, so it is not measurable here"}
