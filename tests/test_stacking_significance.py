"""Stacking (grid against the K-learner solver), the study's t/p pairs, Holm, the region bootstrap,
and the dask sweep: resume after a killed cell with the same numbers, and a failed cell reported."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from flarelib import significance, stacking, study
from flarelib.sweep import cells, collect, run_sweep
from tests.toy import SETTINGS, write_toy_datasets


def mixture_data(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 + 0.35 * (y - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99)
    q = np.clip(0.5 + 0.2 * (y - 0.5) + rng.normal(0, 0.25, n), 0.01, 0.99)
    return y, p, q


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_k_learner_solver_agrees_with_the_grid_for_two_learners(seed):
    y, p, q = mixture_data(seed)
    weights = stacking.simplex_weights(np.c_[p, q], y)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert weights[0] == pytest.approx(stacking.fit_alpha("CROSS_ENTROPY", y, p, q), abs=1.5e-3)


def test_the_solver_handles_three_learners_and_ignores_a_useless_one():
    y, p, q = mixture_data(3)
    noise = np.random.default_rng(9).uniform(0.01, 0.99, len(y))
    w = stacking.simplex_weights(np.c_[p, q, noise], y)
    assert w[2] < 0.05 and w[0] > w[1]


def test_projection_onto_the_simplex():
    assert np.allclose(stacking.project_simplex(np.array([0.9, 0.8, -0.3])), [0.55, 0.45, 0.0])
    assert np.allclose(stacking.project_simplex(np.array([0.2, 0.3, 0.5])), [0.2, 0.3, 0.5])


def test_stack_baselines_and_criteria():
    y, p, q = mixture_data(4)
    val = pd.DataFrame({"label": y[:200], "p": p[:200], "q": q[:200]})
    test = pd.DataFrame({"label": y[200:], "p": p[200:], "q": q[200:]})
    table = stack = stacking.stack(val, test).set_index("method")
    assert table.loc["LSTM", "alpha"] == 1 and table.loc["CNN", "alpha"] == 0 and table.loc["AVG", "alpha"] == 0.5
    assert table.loc["BEST", "alpha"] == 1.0  # p is the better learner by construction
    for criterion in stacking.CRITERIA:
        assert 0 <= table.loc[criterion, "alpha"] <= 1
    curve = stacking.objective_curve("BSS", val.label, val.p, val.q)
    assert stacking.ALPHAS[np.argmax(curve)] == table.loc["BSS", "alpha"]
    assert stack.index.tolist() == ["LSTM", "CNN", "AVG", "BEST", *stacking.CRITERIA]


def test_our_one_sided_test_reproduces_every_published_t_p_pair():
    pairs = [v for d in study.TABLE7.values() for v in d.values()] + [v for d in study.TABLE8.values() for v in d.values()]
    for p, t in pairs:
        assert significance.one_sided_p(t, study.EXPERIMENTS - 1) == pytest.approx(p, abs=2e-6), (t, p)


def test_paired_greater_is_scipys_ttest_rel():
    from scipy import stats

    a, b = np.array([0.9, 0.85, 0.88, 0.91, 0.87]), np.array([0.86, 0.84, 0.85, 0.9, 0.83])
    t, p = significance.paired_greater(a, b)
    d = a - b
    assert t == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(len(d))))
    assert p == pytest.approx(stats.t.sf(t, len(d) - 1))


def test_holm_by_hand():
    adjusted = significance.holm(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    # sorted 0.01, 0.03, 0.04, 0.5 with m = 4: 0.04, 0.09, max(0.09, 0.08), max(0.09, 0.5)
    assert np.allclose(adjusted[[0, 2, 1, 4]], [0.04, 0.09, 0.09, 0.5]) and np.isnan(adjusted[3])


def test_region_bootstrap_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    tables = []
    for seed in range(3):
        arpnum = np.repeat(np.arange(12), 10)
        label = np.repeat(rng.integers(0, 2, 12), 10)
        tables.append(pd.DataFrame({"series": "SHARP", "arpnum": arpnum, "label": label,
                                    "prob": np.clip(0.5 + 0.4 * (label - 0.5) + rng.normal(0, 0.2, 120), 0, 1)}))
    auc = lambda y, p: float(__import__("sklearn.metrics").metrics.roc_auc_score(y, p))
    first = significance.bootstrap_over_regions(tables, auc, n_boot=200, seed=1)
    assert first == significance.bootstrap_over_regions(tables, auc, n_boot=200, seed=1)
    estimate = np.mean([auc(t.label, t.prob) for t in tables])
    assert first[0] <= estimate <= first[1] and first[1] - first[0] > 0.005


@pytest.fixture(scope="module")
def datasets_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("datasets")
    write_toy_datasets(folder, [0, 1])
    return folder


def test_a_killed_sweep_resumes_and_ends_with_the_same_numbers(datasets_dir, tmp_path):
    todo = cells(["SHARP_ONLY", "FUSED_SHARP"], ["LSTM", "CNN"], [0, 1])
    quiet = lambda _: None
    whole = run_sweep(todo, datasets_dir, tmp_path / "whole", SETTINGS, 32, workers=2, log=quiet)
    assert len(whole.done) == 8 and not whole.failed
    reference, _ = collect(todo, tmp_path / "whole")
    # the same sweep, "killed" with one cell half-written: no done marker, a truncated predictions file
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")
    victim = todo[5].folder(tmp_path / "killed")
    (victim / "done.json").unlink()
    (victim / "predictions.csv").write_text("split,series\nval,")
    resumed = run_sweep(todo, datasets_dir, tmp_path / "killed", SETTINGS, 32, workers=2, log=quiet)
    assert resumed.done == [todo[5]] and len(resumed.skipped) == 7
    again, _ = collect(todo, tmp_path / "killed")
    columns = ["dataset", "model", "seed", "ACC", "TSS", "BSS", "AUC", "best_epoch"]
    pd.testing.assert_frame_equal(reference[columns], again[columns])


def test_a_failed_cell_is_reported_and_the_others_finish(datasets_dir, tmp_path):
    todo = cells(["SHARP_ONLY", "SMARP_ONLY"], ["LSTM"], [0])  # there is no SMARP_ONLY file
    messages = []
    result = run_sweep(todo, datasets_dir, tmp_path / "sweep", SETTINGS, 32, workers=1, log=messages.append)
    assert result.done == [todo[0]]
    (cell, error), = result.failed.items()
    assert (cell.dataset, cell.model, cell.seed) == ("SMARP_ONLY", "LSTM", 0) and "SMARP_ONLY_seed0.nc" in error
    assert any("FAILED SMARP_ONLY LSTM seed 0" in m for m in messages)
    assert json.loads((todo[0].folder(tmp_path / "sweep") / "metrics.json").read_text())["dataset"] == "SHARP_ONLY"


def test_our_tests_stand_beside_the_published_ones():
    t7 = pd.DataFrame({"metric": ["TSS", "BSS"], "model": ["LSTM", "CNN"],
                       "comparison": ["FUSED_SHARP > SHARP_ONLY", "FUSED_SMARP > SMARP_ONLY"]})
    assert study.with_published(t7, "7")["study p, t"].tolist() == [(0.016544, 2.514079), (0.000482, 4.806837)]
    t8 = pd.DataFrame({"metric": ["AUC"], "dataset": ["SMARP_ONLY"], "comparison": ["LSTM > CNN"]})
    assert study.with_published(t8, "8")["study p, t"].tolist() == [(0.000743, 4.501005)]
    beside = study.table6_beside(significance.table6(pd.DataFrame(
        {"dataset": "SHARP_ONLY", "model": "LSTM", "seed": [0, 1], "ACC": [0.9, 0.8], "AUC": 0.9, "TSS": 0.8, "BSS": 0.7})),
        ["SHARP_ONLY"])
    assert beside.loc[("TSS", "LSTM"), "SHARP_ONLY (study)"] == "0.884 +- 0.032"
    assert beside.loc[("ACC", "LSTM"), "SHARP_ONLY (ours)"] == "0.850 +- 0.071"


def test_the_authors_bss_divides_by_the_forecasts_distance_from_the_event_rate():
    from flarelib.metrics import bss, bss_authors

    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.6, 0.3, 0.2])
    brier = np.mean((p - y) ** 2)  # 0.075
    assert bss(y, p) == pytest.approx(1 - brier / 0.25)  # Eq. 14: the reference is mean((0.5 - y)^2) = 0.25
    assert bss_authors(y, p) == pytest.approx(1 - brier / np.mean((p - 0.5) ** 2))  # mean((p - 0.5)^2) = 0.075
    assert bss_authors(y, p) == pytest.approx(0.0) and bss(y, p) == pytest.approx(0.7)
    metrics = pd.DataFrame({"model": "LSTM", "dataset": "FUSED_SHARP", "seed": [0, 1], "BSS": [0.84, 0.84],
                            "BSS_authors": [0.79, 0.79]})
    row = study.bss_beside_published(metrics).loc[("LSTM", "FUSED_SHARP")]
    assert row.tolist() == ["0.840 +- 0.000", "0.790 +- 0.000", "0.799 +- 0.036"]


def test_figure_11s_alpha_maximises_accuracy():
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.4, 0.3, 0.6, 0.8, 0.1])  # the LSTM: one miss, one false alarm
    q = np.array([0.6, 0.7, 0.4, 0.2, 0.3, 0.45])  # the CNN: one miss
    alpha = stacking.fit_alpha("ACC", y, p, q)
    mixed = alpha * p + (1 - alpha) * q
    assert ((mixed >= 0.5) == y.astype(bool)).mean() == stacking.accuracy_curve(y, p, q).max() == 1.0


def test_table7_by_labels_sets_each_label_sets_tests_side_by_side():
    """Two label sets' metrics over five seeds: each column pair is that set's own paired test
    (scipy's ttest_rel, one-sided), so the columns differ only by the labels."""
    from scipy import stats

    def metrics(gain: list[float]) -> pd.DataFrame:
        single = np.array([0.80, 0.82, 0.78, 0.81, 0.79])
        rows = [{"dataset": d, "model": "LSTM", "seed": s, "TSS": v, "ACC": v, "AUC": v, "BSS": v, "HSS": v}
                for s in range(5) for d, v in (("SHARP_ONLY", single[s]), ("FUSED_SHARP", single[s] + gain[s]))]
        return pd.DataFrame(rows)

    ours, theirs = [0.01, -0.02, 0.03, 0.0, 0.01], [0.03, 0.02, 0.04, 0.03, 0.02]
    both = study.table7_by_labels({"ours": metrics(ours), "authors": metrics(theirs)})
    row = both[(both.metric == "TSS") & (both.comparison == "FUSED_SHARP > SHARP_ONLY")].iloc[0]
    for name, gain in (("ours", ours), ("authors", theirs)):
        single = np.array([0.80, 0.82, 0.78, 0.81, 0.79])
        expected = stats.ttest_rel(single + np.array(gain), single, alternative="greater")
        assert row[f"t ({name} labels)"] == pytest.approx(expected.statistic)
        assert row[f"p ({name} labels)"] == pytest.approx(expected.pvalue)
    assert row["p (authors labels)"] < 0.05 < row["p (ours labels)"]


def test_finding1_says_which_label_sets_reach_significance():
    both = pd.DataFrame({"metric": ["TSS"], "model": ["LSTM"], "comparison": ["FUSED_SHARP > SHARP_ONLY"],
                         "t (ours labels)": [1.0], "p (ours labels)": [0.17], "t (authors labels)": [2.96],
                         "p (authors labels)": [0.008], "study p, t": [(0.016544, 2.514079)]})
    (line,) = study.finding1_by_labels(both)
    assert line == ("TSS FUSED_SHARP > SHARP_ONLY: our labels: t = 1.00, p = 0.170 (not significant); the authors' "
                    "labels: t = 2.96, p = 0.008 (significant); the study: t = 2.51, p = 0.017.")


def test_stacking_figures_show_a_dataset_without_scores_instead_of_failing():
    """A small world can leave a test set with one class: its TSS is undefined, the figure says so."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from flarelib import plots

    rows = [{"method": m, "alpha": 0.5 if m in ("CROSS_ENTROPY", "TSS") else float("nan"), "TSS": float("nan") if d == "SHARP_ONLY" else 0.7,
             "dataset": d, "seed": s} for d in ("SHARP_ONLY", "FUSED_SHARP") for s in (0, 1) for m in plots.STACKING_METHODS]
    figure = plots.plot_stacking_tss(pd.DataFrame(rows), "caption")
    assert "no test set with both classes" in figure.axes[0].texts[0].get_text()
    plots.plot_alphas(pd.DataFrame(rows).assign(alpha=float("nan")), "caption")


def test_the_bootstraps_fast_tss_is_the_verification_tss():
    from flarelib.metrics import fast_tss, scores

    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(4, 300))
        y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        p = np.round(rng.uniform(size=n), 2)  # ties at the threshold too
        threshold = float(rng.choice([0.5, 0.3, 0.71]))
        assert fast_tss(y, p, threshold) == scores(y, p, threshold)["TSS"]


def test_rank_auc_is_scikit_learns_auc_one_forecast_or_many():
    from sklearn.metrics import roc_auc_score

    from flarelib.metrics import rank_auc

    rng = np.random.default_rng(5)
    y = np.r_[0, 1, rng.integers(0, 2, 198)]
    forecasts = np.round(rng.uniform(size=(30, 200)), 2)  # many ties
    expected = np.array([roc_auc_score(y, row) for row in forecasts])
    np.testing.assert_allclose(rank_auc(y, forecasts), expected, rtol=0, atol=1e-12)
    assert rank_auc(y, forecasts[0]) == pytest.approx(expected[0], abs=1e-12)


def test_the_auc_stacking_takes_the_first_of_exactly_tied_alphas():
    """Mixtures that rank the samples alike have one AUC; the grid's first such alpha is chosen
    (scikit-learn's trapezoid sums can differ in the last bit between them, and so pick another)."""
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    q = np.array([0.2, 0.3, 0.6, 0.7, 0.1, 0.95])
    curve = stacking.objective_curve("AUC", y, p, q)
    assert stacking.fit_alpha("AUC", y, p, q) == stacking.ALPHAS[np.flatnonzero(curve == curve.max())[0]]
    assert (curve == curve.max()).sum() > 1


def test_the_holm_reach_is_the_t_quantile_of_alpha_over_the_tests():
    from scipy import stats

    from flarelib.significance import holm_reach, reach_note

    p, t = holm_reach(3, 100)
    assert p == 0.0005 and t == pytest.approx(stats.t.isf(0.0005, 2))
    assert t > 30  # two degrees of freedom: out of reach of any realistic difference
    assert holm_reach(10, 100)[1] == pytest.approx(stats.t.isf(0.0005, 9)) and holm_reach(10, 100)[1] < 6
    note = reach_note(3, 100)
    assert "3 experiments (2 degrees of freedom)" in note and "no realistic difference" in note and "n_experiments=10" in note


def test_chapter_07s_tests_are_adjusted_within_each_question():
    rng = np.random.default_rng(3)
    models = ["LSTM", "CNN", "LR_LAST", "GB_IMAGE"]
    metrics = pd.DataFrame([{"dataset": d, "model": m, "seed": s, **{k: rng.random() for k in ("ACC", "TSS", "BSS", "AUC", "HSS")}}
                            for d in ("FUSED_SHARP", "SHARP_ONLY") for m in models for s in range(4)])
    stacked = pd.DataFrame([{"dataset": "FUSED_SHARP", "seed": s, "method": m, "TSS": rng.random()}
                            for s in range(4) for m in ("BEST", "CROSS_ENTROPY", "BSS", "AUC", "TSS", "AVG")])
    family = significance.test_family(metrics, stacked)
    assert set(family.table) == {"7", "8", "stacking", "baselines"}
    parts = [significance.table7(metrics), significance.table8(metrics), significance.stacking_vs_best(stacked),
             significance.versus_baselines(metrics)]
    assert len(family) == sum(map(len, parts))
    for table, part in zip(("7", "8", "stacking", "baselines"), parts):  # one adjustment per question, not over all
        np.testing.assert_allclose(family[family.table == table]["p Holm"], significance.holm(part.p.to_numpy(dtype=float)))
    assert (family["p Holm"].dropna() >= family.p[family["p Holm"].notna()]).all()
    assert (family["same test as"] == "").all()  # random scores: no two tests are the same
