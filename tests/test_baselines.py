"""The baselines (#27), each on a hand-made dataset whose answer is known, and run as sweep cells on exactly
the windows and splits the LSTM sees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from flarelib import baselines, sweep
from flarelib.datasets import dataset_path, read_dataset, to_xarray
from flarelib.metrics import scores
from flarelib.events import FLARE_HISTORY
from flarelib.schema import KEYWORDS
from flarelib.significance import versus_baselines


def toy(sequences: np.ndarray, labels: np.ndarray, images: np.ndarray | None = None, *, seed: int = 0,
        history: np.ndarray | None = None, split: np.ndarray | None = None):
    """A dataset file's content: 60% train, 20% val, 20% test, each split balanced (or the `split`
    given), with a flare history (`events.FLARE_HISTORY`; by default a C flare 3 h before the end of
    every positive's observation period and none for the negatives)."""
    n = len(labels)
    rng = np.random.default_rng(seed)
    if split is None:
        split = np.empty(n, dtype=object)
        for value in (0, 1):
            rows = rng.permutation(np.flatnonzero(labels == value))
            k = len(rows)
            split[rows[: int(0.6 * k)]], split[rows[int(0.6 * k): int(0.8 * k)]], split[rows[int(0.8 * k):]] = "train", "val", "test"
    if history is None:
        history = np.where(labels[:, None] == 1, [[0, 1, 0, 0, 2e-6, 3.0]], [[0, 0, 0, 0, 0.0, np.nan]])
    frame = pd.DataFrame({"split": split, "label": labels, "SERIES": "SHARP", "ARPNUM": np.arange(n) // 4,
                          "end": pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n) * 96, unit="min"),
                          **dict(zip(FLARE_HISTORY, np.asarray(history, dtype=float).T))})
    frame["observation"] = np.where(frame.max_flux >= 1e-5, "STRONG", np.where(frame[FLARE_HISTORY[:4]].sum(axis=1) > 0, "WEAK", "QUIET"))
    frame["prediction"] = np.where(labels == 1, "STRONG", "QUIET")
    attrs = {"dataset": "FUSED_SHARP", "seed": seed, "pixel_mean": 10.0, "pixel_std": 100.0, "threshold_flux": 1e-5,
             "observation_hours": 24.0}
    standardized = None if images is None else (images - 10.0) / 100.0
    return to_xarray(frame, sequences, standardized, KEYWORDS, attrs)


def held_out_scores(ds, model):
    prob = baselines.fit_predict(ds, model, seed=0)
    test = ds["split"].values == "test"
    return scores(ds["label"].values[test], prob[test])


def test_logistic_regression_on_a_separable_toy_reaches_tss_1():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 100)
    sequences = rng.normal(size=(200, 16, 4)).astype(np.float32)
    sequences[:, -1, 0] += np.where(labels == 1, 6.0, -6.0)  # the last record's first keyword separates the classes
    ds = toy(sequences, labels)
    assert held_out_scores(ds, "LR_LAST")["TSS"] == 1.0
    assert held_out_scores(ds, "GB_LAST")["TSS"] == 1.0


def test_climatology_has_tss_0_and_bss_0_on_balanced_splits():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 50)
    ds = toy(rng.normal(size=(100, 16, 4)).astype(np.float32), labels)
    prob = baselines.fit_predict(ds, "CLIM", seed=0)
    assert np.all(prob == 0.5)  # the training split's rate
    result = held_out_scores(ds, "CLIM")
    assert result["TSS"] == 0.0 and result["BSS"] == pytest.approx(0.0, abs=1e-12)


def test_the_summary_sees_the_change_that_the_last_record_alone_cannot():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 150)
    sequences = rng.normal(size=(300, 16, 4)).astype(np.float32)
    last = rng.normal(size=300)
    sequences[:, -1, 1] = last  # the same last value for both classes ...
    sequences[:, 0, 1] = last - np.where(labels == 1, 3.0, -3.0)  # ... reached by growth (positives) or decay
    ds = toy(sequences, labels)
    assert abs(held_out_scores(ds, "LR_LAST")["TSS"]) < 0.35
    assert held_out_scores(ds, "LR_SUMMARY")["TSS"] > 0.9
    assert baselines.sequence_summary(sequences).shape == (300, 12)
    np.testing.assert_array_equal(baselines.sequence_summary(sequences)[:, 8:], sequences[:, -1] - sequences[:, 0])


def bipole(strength: float, size: int = 32) -> np.ndarray:
    y, x = np.mgrid[:size, :size]
    blob = lambda cx: np.exp(-((x - cx) ** 2 + (y - size / 2) ** 2) / 8.0)
    return strength * (blob(size / 2 - 3) - blob(size / 2 + 3))


def test_image_statistics_by_hand_and_the_image_baseline_on_a_toy():
    field = np.zeros((8, 8))
    field[1:3, 1:3] = 400.0  # a strong positive patch of 4 pixels
    field[5, 5] = -200.0  # and a strong negative pixel, far from it: no inversion line
    row = dict(zip(baselines.IMAGE_STATISTICS, baselines.image_statistics(field[None])[0]))
    assert row["mean |B|"] == pytest.approx((4 * 400 + 200) / 64)
    assert row["strong pixels"] == pytest.approx(5 / 64)
    assert (row["positive regions"], row["negative regions"], row["largest positive"], row["largest negative"]) == (1, 1, 4, 1)
    assert row["R"] == 0.0
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 60)
    images = np.stack([bipole(800.0 if y else 80.0) + rng.normal(0, 20, (32, 32)) for y in labels])
    ds = toy(rng.normal(size=(120, 16, 4)).astype(np.float32), labels, images)
    assert held_out_scores(ds, "GB_IMAGE")["TSS"] == 1.0
    np.testing.assert_allclose(baselines.features(ds, "GB_IMAGE"), baselines.image_statistics(images), rtol=1e-5)


def test_a_baseline_cell_sees_exactly_the_lstms_windows_and_splits(tmp_path):
    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1], 40)
    sequences = rng.normal(size=(80, 16, 4)).astype(np.float32)
    images = np.stack([bipole(800.0 if y else 80.0) for y in labels])
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    toy(sequences, labels, images).to_netcdf(dataset_path(datasets, "FUSED_SHARP", 0), engine="h5netcdf")
    cells = sweep.cells(["FUSED_SHARP"], ["LSTM", *baselines.BASELINES], [0])
    settings = dict(max_epochs=1, lstm_patience=1, cnn_patience=1, batch_size=32, learning_rate=1e-3, seed=0, cnn_channels=4)
    root = tmp_path / "cells"
    sweep.run_cell(cells[0], str(datasets), str(root), settings, 32)
    summaries = sweep.run_baselines(cells[1:], str(datasets), str(root))
    assert [s["model"] for s in summaries] == list(baselines.BASELINES)
    metrics, predictions = sweep.collect(cells, root)
    keys = ["split", "series", "arpnum", "t_end", "label"]
    lstm = predictions[predictions.model == "LSTM"][keys].reset_index(drop=True)
    for model in baselines.BASELINES:
        pd.testing.assert_frame_equal(predictions[predictions.model == model][keys].reset_index(drop=True), lstm)
        assert sweep.is_done(sweep.Cell("FUSED_SHARP", model, 0), root)
    assert set(metrics.model) == {"LSTM", *baselines.BASELINES}
    assert len(read_dataset(dataset_path(datasets, "FUSED_SHARP", 0)).sample) == len(lstm)


def test_the_sweep_runs_a_dataset_and_seeds_baselines_as_one_task():
    cells = sweep.cells(["SHARP_ONLY", "FUSED_SHARP"], ["LSTM", "CNN", "CLIM", "GB_LAST"], [0, 1])
    groups = sweep.tasks(cells, ensemble=False)
    baseline_groups = [g for g in groups if baselines.is_baseline(g[0].model)]
    assert len(baseline_groups) == 4 and all(len(g) == 2 and len({(c.dataset, c.seed) for c in g}) == 1 for g in baseline_groups)
    assert sorted(map(str, (c for g in groups for c in g))) == sorted(map(str, cells))
    with pytest.raises(ValueError, match="one dataset and seed"):
        sweep.run_baselines([sweep.Cell("A", "CLIM", 0), sweep.Cell("B", "CLIM", 0)], "nowhere", "nowhere")


def test_versus_baselines_tests_the_lstm_against_the_best_keyword_baseline():
    seeds = range(5)
    tss = {"LSTM": [0.8, 0.82, 0.79, 0.85, 0.81], "GB_LAST": [0.78, 0.8, 0.8, 0.79, 0.77], "LR_LAST": [0.5] * 5,
           "CNN": [0.6, 0.62, 0.58, 0.61, 0.6], "GB_IMAGE": [0.65, 0.6, 0.64, 0.66, 0.62]}
    metrics = pd.DataFrame([{"dataset": "FUSED_SHARP", "model": m, "seed": s, "TSS": v[s], "ACC": v[s], "AUC": v[s], "BSS": v[s]}
                            for m, v in tss.items() for s in seeds])
    table = versus_baselines(metrics)
    row = table[(table.metric == "TSS") & (table.comparison == "LSTM > GB_LAST")].iloc[0]
    expected = stats.ttest_rel(tss["LSTM"], tss["GB_LAST"], alternative="greater")
    assert (row.t, row.p, row.n) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue), 5)
    cnn = table[(table.metric == "TSS") & (table.comparison == "CNN > GB_IMAGE")].iloc[0]
    assert cnn.t < 0 and cnn.p > 0.5  # the image baseline is better here: the one-sided test says no


def test_the_findings_page_gives_each_finding_its_effect_test_and_verdict(tmp_path):
    import json

    from flarelib.significance import test_family
    from flarelib.study import finding_effects, findings

    # Four seeds; the LSTM gains 0.05 from fusion on SHARP (consistently), persistence scores 0.85 everywhere.
    gain = [0.04, 0.05, 0.06, 0.05]
    rows, predictions = [], []
    for s in range(4):
        for dataset, model, tss in (("SHARP_ONLY", "LSTM", 0.70 + 0.01 * s), ("FUSED_SHARP", "LSTM", 0.70 + 0.01 * s + gain[s]),
                                    ("SHARP_ONLY", "PERSIST_ANY", 0.85), ("FUSED_SHARP", "PERSIST_ANY", 0.85)):
            rows.append({"dataset": dataset, "model": model, "seed": s, "TSS": tss, "ACC": (tss + 1) / 2, "AUC": tss, "BSS": tss / 2})
    metrics = pd.DataFrame(rows)
    tests = test_family(metrics, pd.DataFrame())
    effects = finding_effects(metrics, pd.DataFrame(columns=["split"]), pd.DataFrame(), tests)
    one = effects[effects.finding == 1].iloc[0]
    assert one.comparison == "LSTM FUSED_SHARP > SHARP_ONLY" and one.effect == pytest.approx(0.05)
    expected = stats.ttest_rel([0.70 + 0.01 * s + gain[s] for s in range(4)], [0.70 + 0.01 * s for s in range(4)],
                               alternative="greater")
    assert one.t == pytest.approx(expected.statistic) and one.verdict == "reproduced"  # t = 12.2 over 4 seeds: Holm passes
    four = effects[effects.finding == 4]
    assert set(four.comparison) == {"SHARP_ONLY LSTM > PERSIST_ANY", "FUSED_SHARP LSTM > PERSIST_ANY"}
    assert (four.verdict == "explained by persistence").all() and (four.effect < 0).all()
    run = tmp_path / "archive"
    (run / "07_significance").mkdir(parents=True)
    (run / "08_attribution").mkdir()
    effects.to_csv(run / "07_significance" / "effects.csv", index=False)
    (run / "08_attribution" / "record.json").write_text(json.dumps({"skipped": "the archive source has no magnetograms", "numbers": {}}))
    page = findings(run)
    assert page.verdict.tolist()[0] == "reproduced"
    assert page[page.finding.str.startswith("(2)")].verdict.iloc[0].startswith("not measurable on this source: stacking needs the CNN")
    assert page[page.finding.str.startswith("(3)")].verdict.iloc[0].startswith("not measurable on this source: attribution")
    assert (page[page.finding.str.startswith("(4)")].verdict == "explained by persistence").all()
    assert page.iloc[0]["effect (TSS difference)"].startswith("+0.050; seeds [+0.0")
    assert page.iloc[0]["test"] == f"t = {expected.statistic:.2f}, p = {expected.pvalue:.3f}, Holm {one['p Holm']:.3f} (4 experiments)"
    # a synthetic run whose chapter 08 explained no region: measurable on the source, not measured in the run
    (run / "08_attribution" / "record.json").write_text(json.dumps({"numbers": {"candidates": 20, "pil_ratio_mean": None}}))
    three = findings(run).set_index("finding").filter(like="(3)", axis=0).verdict.iloc[0]
    assert three.startswith("not measured in this run: none of its 20 candidate regions") and "magnetograms" not in three


def persistence_toy() -> tuple:
    """Ten test windows with hand-made flare histories (B, C, M, X counts, largest flux, hours since):
    five positives, four of which flared in their observation period (two at M1.0+), and five negatives,
    two of which had a C flare (as the operational task's negatives may)."""
    rows = [((0, 1, 0, 0, 3e-6, 2.0), 1), ((0, 0, 1, 0, 2e-5, 5.0), 1), ((1, 0, 0, 1, 2e-4, 1.0), 1), ((2, 0, 0, 0, 4e-7, 9.0), 1),
            ((0, 0, 0, 0, 0.0, np.nan), 1),
            ((0, 0, 0, 0, 0.0, np.nan), 0), ((0, 0, 0, 0, 0.0, np.nan), 0), ((0, 0, 0, 0, 0.0, np.nan), 0),
            ((0, 2, 0, 0, 5e-6, 20.0), 0), ((0, 1, 0, 0, 1e-6, 12.0), 0)]
    history = np.array([h for h, _ in rows], dtype=float)
    labels = np.array([y for _, y in rows])
    rng = np.random.default_rng(6)
    train_labels = np.repeat([0, 1], 40)  # a training split for PERSIST_PROB: positives flared, negatives did not
    train_history = np.where(train_labels[:, None] == 1, [[0, 2, 1, 0, 3e-5, 4.0]], [[0, 0, 0, 0, 0.0, np.nan]])
    split = np.array(["train"] * 80 + ["test"] * 10, dtype=object)
    ds = toy(rng.normal(size=(90, 16, 4)).astype(np.float32), np.concatenate([train_labels, labels]),
             history=np.concatenate([train_history, history]), split=split)
    return ds, labels


def test_persistence_baselines_tss_and_false_alarms_by_hand():
    ds, labels = persistence_toy()
    test = ds["split"].values == "test"
    any_flare = baselines.fit_predict(ds, "PERSIST_ANY", seed=0)[test]
    strong = baselines.fit_predict(ds, "PERSIST_STRONG", seed=0)[test]
    np.testing.assert_array_equal(any_flare, [1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(strong, [0, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    # By hand: any flare catches 4 of 5 positives and raises 2 false alarms among 5 negatives.
    result = scores(labels, any_flare)
    assert result["TSS"] == pytest.approx(4 / 5 - 2 / 5)
    assert scores(labels, strong)["TSS"] == pytest.approx(2 / 5 - 0 / 5)
    # Where the negatives are all QUIET (the study's task), persistence raises no false alarm at all.
    quiet = labels == 1
    quiet[5:8] = True
    assert scores(labels[quiet], any_flare[quiet])["TSS"] == pytest.approx(4 / 5)
    # The probabilistic one learns from its training split (positives had C and M flares, negatives none):
    # C flares and above -> likely; every window that flared ranks above every one that did not.
    prob = baselines.fit_predict(ds, "PERSIST_PROB", seed=0)[test]
    assert prob[:3].min() > 0.5 and prob[[4, 5, 6, 7]].max() < 0.5 < prob[8]
    assert prob[[0, 1, 2, 3, 8, 9]].min() > prob[[4, 5, 6, 7]].max()
    x = baselines.features(ds, "LR_LAST_HISTORY")
    assert x.shape == (90, 4 + 7)
    np.testing.assert_allclose(x[80, 4:], [0, np.log(2), 0, 0, np.log10(3e-6), 2.0, 1.0])
    np.testing.assert_allclose(x[84, 4:], [0, 0, 0, 0, -9.0, 24.0, 0.0])  # no flare: below A1.0, the observation's length


def test_persistence_needs_the_flare_history():
    ds, _ = persistence_toy()
    with pytest.raises(ValueError, match="FUSED_SHARP seed 0 has no flare history.*03_sampling"):
        baselines.features(ds.drop_vars("history"), "PERSIST_ANY")
