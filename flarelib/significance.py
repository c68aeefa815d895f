"""Which differences are significant (Section 4.1-4.2, Tables 6-8), and what the study lacks:
bootstrap confidence intervals over active regions and a Holm correction for multiple comparisons."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from flarelib.metrics import fast_tss, rank_auc
from flarelib.schema import SAMPLE_REGION

METRICS = ("ACC", "AUC", "TSS", "BSS")
GROUPS = {"SHARP": ("FUSED_SHARP", "SHARP_ONLY"), "SMARP": ("FUSED_SMARP", "SMARP_ONLY")}


def one_sided_p(t: float, df: int) -> float:
    """p-value of H1: mean difference > 0, for a paired t statistic with df degrees of freedom."""
    return float(stats.t.sf(t, df))


def paired_greater(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """One-sided paired t-test, H1: a > b (scipy.stats.ttest_rel). Returns (t, p)."""
    result = stats.ttest_rel(np.asarray(a, dtype=float), np.asarray(b, dtype=float), alternative="greater")
    return float(result.statistic), float(result.pvalue)


def model_order(model: str) -> tuple[int, str]:
    """The deep models first, then the baselines in `flarelib.baselines.BASELINES` order."""
    from flarelib.baselines import BASELINES

    order = ["LSTM", "CNN", *BASELINES]
    return (order.index(model) if model in order else len(order), model)


def table6(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each metric, per model and dataset."""
    grouped = metrics.groupby(["model", "dataset"])[list(METRICS)].agg(["mean", "std"])
    rows = []
    for metric in METRICS:
        for model in sorted(metrics.model.unique(), key=model_order):
            row = {"metric": metric, "model": model}
            for dataset in metrics.dataset.unique():
                if (model, dataset) in grouped.index:
                    row[f"{dataset} mean"] = grouped.loc[(model, dataset), (metric, "mean")]
                    row[f"{dataset} std"] = grouped.loc[(model, dataset), (metric, "std")]
            rows.append(row)
    return pd.DataFrame(rows).set_index(["metric", "model"])


def _paired(metrics: pd.DataFrame, a: dict, b: dict, metric: str) -> tuple[float, float, int]:
    left = metrics.loc[np.logical_and.reduce([metrics[k] == v for k, v in a.items()])].set_index("seed")[metric]
    right = metrics.loc[np.logical_and.reduce([metrics[k] == v for k, v in b.items()])].set_index("seed")[metric]
    both = pd.concat([left, right], axis=1, keys=["a", "b"]).dropna()
    if len(both) < 2:
        return float("nan"), float("nan"), len(both)
    t, p = paired_greater(both.a, both.b)
    return t, p, len(both)


DEEP_MODELS = ("LSTM", "CNN")


def table7(metrics: pd.DataFrame) -> pd.DataFrame:
    """H1: the fused dataset beats the single one (same test set), per metric and deep model (the study's
    question; the baselines and the LSTM variants of the hole audit are not in its family)."""
    rows = []
    for metric in METRICS:
        for model in [m for m in DEEP_MODELS if m in set(metrics.model)]:
            for group, (fused, single) in GROUPS.items():
                if not {fused, single} <= set(metrics.dataset):
                    continue
                t, p, n = _paired(metrics, {"dataset": fused, "model": model}, {"dataset": single, "model": model}, metric)
                rows.append({"metric": metric, "model": model, "comparison": f"{fused} > {single}", "t": t, "p": p, "n": n})
    return pd.DataFrame(rows)


def table8(metrics: pd.DataFrame) -> pd.DataFrame:
    """H1: the LSTM beats the CNN, per metric and dataset (nothing when a model did not run)."""
    rows = []
    if not {"LSTM", "CNN"} <= set(metrics.model):
        return pd.DataFrame(columns=["metric", "dataset", "comparison", "t", "p", "n"])
    for metric in METRICS:
        for dataset in metrics.dataset.unique():
            t, p, n = _paired(metrics, {"dataset": dataset, "model": "LSTM"}, {"dataset": dataset, "model": "CNN"}, metric)
            rows.append({"metric": metric, "dataset": dataset, "comparison": "LSTM > CNN", "t": t, "p": p, "n": n})
    return pd.DataFrame(rows)


def versus_baselines(metrics: pd.DataFrame) -> pd.DataFrame:
    """H1: the LSTM beats the best keyword baseline, and the CNN the image baseline, per metric and
    dataset (one-sided paired t over seeds, as Table 8). The best keyword baseline is the one with the
    highest mean of the metric over the seeds' test sets, which favours the baseline: the LSTM has to
    beat the strongest of four."""
    from flarelib.baselines import IMAGE_BASELINES, KEYWORD_BASELINES

    return _versus(metrics, (("LSTM", KEYWORD_BASELINES), ("CNN", IMAGE_BASELINES)))


def versus_persistence(metrics: pd.DataFrame) -> pd.DataFrame:
    """H1: the LSTM, and the CNN, beat the best persistence baseline (`baselines.PERSISTENCE_BASELINES`,
    the best by its mean over the seeds' test sets), per metric and dataset: what the deep models add
    over the region's recent flares."""
    from flarelib.baselines import PERSISTENCE_BASELINES

    return _versus(metrics, (("LSTM", PERSISTENCE_BASELINES), ("CNN", PERSISTENCE_BASELINES)))


def _versus(metrics: pd.DataFrame, pairs: tuple[tuple[str, tuple[str, ...]], ...]) -> pd.DataFrame:
    """One-sided paired t-tests over seeds of each deep model against the best of its rivals."""
    rows = []
    for metric in METRICS:
        for dataset in metrics.dataset.unique():
            part = metrics[metrics.dataset == dataset]
            for deep, candidates in pairs:
                rivals = part[part.model.isin(candidates)]
                if deep not in set(part.model) or rivals.empty:
                    continue
                rival = rivals.groupby("model")[metric].mean().idxmax()
                t, p, n = _paired(metrics, {"dataset": dataset, "model": deep}, {"dataset": dataset, "model": rival}, metric)
                rows.append({"metric": metric, "dataset": dataset, "comparison": f"{deep} > {rival}", "t": t, "p": p, "n": n})
    return pd.DataFrame(rows, columns=["metric", "dataset", "comparison", "t", "p", "n"])


def stacking_vs_best(stacked: pd.DataFrame, metric: str = "TSS") -> pd.DataFrame:
    """H1: a stacking criterion beats BEST on the test set, per dataset."""
    rows = []
    if stacked.empty:
        return pd.DataFrame(columns=["dataset", "comparison", "metric", "t", "p", "n"])
    for dataset, group in stacked.groupby("dataset"):
        best = group[group.method == "BEST"].set_index("seed")[metric]
        for method in ("CROSS_ENTROPY", "BSS", "AUC", "TSS", "AVG"):
            mine = group[group.method == method].set_index("seed")[metric]
            both = pd.concat([mine, best], axis=1, keys=["a", "b"]).dropna()
            t, p = paired_greater(both.a, both.b) if len(both) >= 2 else (float("nan"), float("nan"))
            rows.append({"dataset": dataset, "comparison": f"{method} > BEST", "metric": metric, "t": t, "p": p, "n": len(both)})
    return pd.DataFrame(rows)


# The questions of chapter 07, each a family of tests adjusted together by Holm (the study asks the
# first three; the last two are the baselines it lacks).
FAMILIES = {
    "7": "Does the other instrument's data help? (Table 7: fused > single, per metric and model)",
    "8": "Is the LSTM better than the CNN? (Table 8, per metric and dataset)",
    "stacking": "Does stacking beat picking the better model? (TSS, per criterion and dataset)",
    "baselines": "Do the deep models beat simple models of the same inputs? (per metric and dataset)",
    "persistence": "Do the deep models add anything over the region's recent flares? (per metric and dataset)",
}


def test_family(metrics: pd.DataFrame, stacked: pd.DataFrame) -> pd.DataFrame:
    """Every test of chapter 07 in one table, each row naming its `table`, the family (`FAMILIES`) it is
    adjusted in: Table 7 (fused > single), Table 8 (LSTM > CNN), stacking against BEST, the deep models
    against the baselines and against persistence. `p Holm` is Holm's adjusted p within the row's family,
    each distinct test counted once (`holm_distinct`: on a balanced test set ACC and TSS are one test)."""
    tables = [table7(metrics).assign(table="7"), table8(metrics).assign(table="8"),
              stacking_vs_best(stacked).assign(table="stacking"), versus_baselines(metrics).assign(table="baselines"),
              versus_persistence(metrics).assign(table="persistence")]
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame(columns=["metric", "model", "dataset", "comparison", "t", "p", "n", "table", "p Holm", "same test as"])
    family = pd.concat(tables, ignore_index=True)
    return pd.concat([holm_distinct(part) for _, part in family.groupby("table", sort=False)]).loc[family.index]


def holm_distinct(tests: pd.DataFrame) -> pd.DataFrame:
    """Holm's adjustment over the distinct tests of one family: rows of the same comparison (and model
    or dataset) whose t statistics agree to 1e-6 are one test (ACC and TSS at one threshold on a
    balanced test set: ACC = (TSS + 1) / 2), counted once and given the same adjusted p. Column
    `same test as` names the metric of the row each repeat copies ("" for the first)."""
    keys = [c for c in ("comparison", "model", "dataset") if c in tests]
    first: dict[tuple, int] = {}
    same = []
    for index, row in tests.iterrows():
        key = (*[str(row[k]) for k in keys], round(float(row.t), 6) if np.isfinite(row.t) else ("nan", index))
        same.append("" if key not in first else tests.at[first[key], "metric"])
        first.setdefault(key, index)
    distinct = [i for i, s in zip(tests.index, same) if not s]
    adjusted = pd.Series(holm(tests.loc[distinct, "p"].to_numpy()), index=distinct)
    originals = [i if not s else first[(*[str(tests.at[i, k]) for k in keys], round(float(tests.at[i, "t"]), 6))]
                 for i, s in zip(tests.index, same)]
    return tests.assign(**{"p Holm": adjusted.loc[originals].to_numpy(), "same test as": same})


def family_note(family: pd.DataFrame) -> str:
    """The families of `test_family` in words, to print before the tests: each question, how many
    distinct tests it adjusts together, and which repeats are counted once."""
    lines = ["Holm's adjustment is made within each question (family) of tests, each distinct test counted once:"]
    for table, question in FAMILIES.items():
        part = family[family.table.astype(str) == table]
        if part.empty or part.p.notna().sum() == 0:
            continue
        same = part["same test as"].fillna("")  # read back from tests.csv, an empty cell is NaN
        repeats = int((same != "").sum())
        said = (f"; {repeats} rows repeat another metric's test exactly (as ACC and TSS do on a balanced test set) and are "
                "counted once" if repeats else "")
        lines.append(f"- {question}: {int(((same == '') & part.p.notna()).sum())} distinct tests{said}.")
    return "\n".join(lines)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error); NaN stays NaN."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid])]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def bootstrap_ci(table: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], groups: list[str],
                 n_boot: int = 500, seed: int = 0, level: float = 0.95, strata: str | None = None) -> tuple[float, float, float]:
    """A statistic of a table and its percentile interval, resampling whole groups (active regions,
    or days for full-disk forecasts) with replacement: rows of one group are not independent. With
    `strata` (say, the experiment's seed) groups are resampled within each stratum.

    Parameters
    ----------
    table : one row per forecast.
    statistic : the number computed from a (resampled) table.
    groups : the columns naming a group resampled whole.
    n_boot, seed : draws and their seed.
    level : the interval's coverage.
    strata : a column within whose values groups are resampled.
    """
    rng = np.random.default_rng(seed)
    layers = [table] if strata is None else [part for _, part in table.groupby(strata)]
    offsets = np.cumsum([0] + [len(part) for part in layers[:-1]])
    indices = [[idx + offset for idx in part.groupby(groups).indices.values()] for part, offset in zip(layers, offsets)]
    ordered = pd.concat(layers)
    draws = []
    for _ in range(n_boot):
        pick = np.concatenate([index[i] for index in indices for i in rng.integers(0, len(index), len(index))])
        value = statistic(ordered.iloc[pick])
        if np.isfinite(value):
            draws.append(value)
    tail = (1 - level) / 2
    estimate = statistic(table)
    if not draws:
        return estimate, float("nan"), float("nan")
    return estimate, float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def bootstrap_over_regions(predictions_by_seed: list[pd.DataFrame], metric: Callable[[np.ndarray, np.ndarray], float],
                           n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the mean over seeds of a test metric, resampling active regions (with
    all their samples) within each seed's test set: samples of one region are not independent.

    Parameters
    ----------
    predictions_by_seed : each seed's test predictions (`arpnum`, `label`, `prob`).
    metric : metric(labels, probabilities).
    n_boot, seed : draws and their seed.
    level : the interval's coverage.
    """
    table = pd.concat([t.assign(_experiment=i) for i, t in enumerate(predictions_by_seed)], ignore_index=True)

    def mean_over_seeds(sample: pd.DataFrame) -> float:
        values = [metric(g.label.to_numpy(), g.prob.to_numpy()) for _, g in sample.groupby("_experiment")
                  if g.label.nunique() == 2]
        return float(np.mean(values)) if values else float("nan")

    _, low, high = bootstrap_ci(table, mean_over_seeds, SAMPLE_REGION, n_boot, seed, level, strata="_experiment")
    return low, high


def bootstrap_table(predictions: pd.DataFrame, metrics: pd.DataFrame, metric: Callable[[np.ndarray, np.ndarray], float],
                    name: str = "TSS", n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """Per dataset and model: the mean test metric over seeds and its 95% interval by region bootstrap.

    Parameters
    ----------
    predictions, metrics : chapter 06's predictions and metrics tables.
    metric : metric(labels, probabilities).
    name : the metric's name in the table.
    n_boot, seed : draws and their seed.
    """
    rows = []
    for (dataset, model), part in predictions[predictions.split == "test"].groupby(["dataset", "model"]):
        low, high = bootstrap_over_regions([g for _, g in part.groupby("seed")], metric, n_boot=n_boot, seed=seed)
        rows.append({"dataset": dataset, "model": model,
                     f"mean {name}": metrics[(metrics.dataset == dataset) & (metrics.model == model)][name].mean(),
                     "95% low": low, "95% high": high, "test regions per seed": part.groupby("seed").arpnum.nunique().mean()})
    return pd.DataFrame(rows)


def seed_statistic(metric: str, thresholds: dict | None = None) -> Callable[[pd.DataFrame], float]:
    """The mean over seeds of a metric of one method's forecasts (`prob`), for bootstraps: TSS at
    each seed's validation threshold (`thresholds[seed]`) or at 0.5, BSS against the table's
    `climatology`, or AUC. Plain numpy, as it runs thousands of times."""

    def one(seed: int, y: np.ndarray, p: np.ndarray, rate: float) -> float:
        positives = y.sum()
        if positives == 0 or positives == len(y):
            return float("nan")
        if metric == "TSS":
            return fast_tss(y, p, thresholds[seed] if thresholds else 0.5)
        if metric == "BSS":
            return float(1 - np.mean((p - y) ** 2) / np.mean((rate - y) ** 2))
        return rank_auc(y, p)

    def statistic(table: pd.DataFrame) -> float:
        seeds = table.seed.to_numpy()
        y, p = table.label.astype(int).to_numpy(), table.prob.to_numpy(dtype=float)
        rate = table.climatology.to_numpy(dtype=float) if metric == "BSS" else np.zeros(len(table))
        values = [one(s, y[seeds == s], p[seeds == s], rate[seeds == s][0]) for s in np.unique(seeds)]
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    return statistic



# A t needed above this is out of reach: no difference the repeated experiments realistically give passes
UNREACHABLE_T = 10.0


def holm_reach(n_experiments: int, n_tests: int, alpha: float = 0.05) -> tuple[float, float]:
    """What the strongest of `n_tests` one-sided paired t-tests over `n_experiments` needs to be
    significant after Holm: its p below alpha / n_tests, that is its t above the returned value
    (scipy.stats.t.isf with n - 1 degrees of freedom). Returns (p needed, t needed)."""
    needed = alpha / max(n_tests, 1)
    return needed, float(stats.t.isf(needed, max(n_experiments - 1, 1)))


def reach_note(n_experiments: int, n_tests: int, alpha: float = 0.05) -> str:
    """The sentence above Table 7: whether this many experiments can reach significance after Holm."""
    p, t = holm_reach(n_experiments, n_tests, alpha)
    _, t10 = holm_reach(10, n_tests, alpha)
    verdict = ("no realistic difference can pass it: with seeds this few, every p Holm below stays near 1"
               if t > UNREACHABLE_T else "a consistent difference can pass it")
    return (f"With {n_experiments} experiments ({n_experiments - 1} degrees of freedom) and {n_tests} tests adjusted "
            f"together, the strongest test needs p < {p:.2g} after Holm, that is t > {t:.1f}: {verdict}. The study ran "
            f"10 experiments (t > {t10:.1f} here); `flarelib run --params <set> --from 03_sampling -p n_experiments=10` "
            "runs them (about three times the sweep's time).")
