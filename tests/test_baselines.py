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
from flarelib.schema import KEYWORDS
from flarelib.significance import versus_baselines


def toy(sequences: np.ndarray, labels: np.ndarray, images: np.ndarray | None = None, *, seed: int = 0):
    """A dataset file's content: 60% train, 20% val, 20% test, each split balanced."""
    n = len(labels)
    rng = np.random.default_rng(seed)
    split = np.empty(n, dtype=object)
    for value in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == value))
        k = len(rows)
        split[rows[: int(0.6 * k)]], split[rows[int(0.6 * k): int(0.8 * k)]], split[rows[int(0.8 * k):]] = "train", "val", "test"
    frame = pd.DataFrame({"split": split, "label": labels, "SERIES": "SHARP", "ARPNUM": np.arange(n) // 4,
                          "end": pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n) * 96, unit="min")})
    attrs = {"dataset": "FUSED_SHARP", "seed": seed, "pixel_mean": 10.0, "pixel_std": 100.0}
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


def test_the_findings_page_reads_a_runs_tests_and_says_what_it_could_not_measure(tmp_path):
    import json

    from flarelib.study import findings

    run = tmp_path / "archive"
    (run / "07_significance").mkdir(parents=True)
    (run / "08_attribution").mkdir()
    pd.DataFrame([
        {"table": "7", "metric": "TSS", "model": "LSTM", "comparison": "FUSED_SHARP > SHARP_ONLY", "dataset": None, "t": 2.5, "p": 0.017, "n": 10, "p Holm": 0.2},
        {"table": "7", "metric": "TSS", "model": "CNN", "comparison": "FUSED_SHARP > SHARP_ONLY", "dataset": None, "t": 9.0, "p": 0.0, "n": 10, "p Holm": 0.0},
        {"table": "baselines", "metric": "TSS", "model": None, "comparison": "LSTM > GB_LAST", "dataset": "FUSED_SHARP", "t": -0.5, "p": 0.69, "n": 10, "p Holm": 1.0},
    ]).to_csv(run / "07_significance" / "tests.csv", index=False)
    (run / "08_attribution" / "record.json").write_text(json.dumps({"skipped": "the archive source has no magnetograms", "numbers": {}}))
    table = findings(run)
    one, two, three = table["measured in this run"]
    assert one == "FUSED_SHARP > SHARP_ONLY: t = 2.50, p = 0.017 (Holm 0.200, 10 experiments)"  # the LSTM's row, not the CNN's
    assert table["the baseline beside it"][0] == "FUSED_SHARP: LSTM > GB_LAST: t = -0.50, p = 0.690 (Holm 1.000, 10 experiments)"
    assert two.startswith("not measured: stacking needs the CNN") and three.startswith("not measured: attribution")
