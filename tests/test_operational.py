"""Forecasts at the real event rate: the prior correction against the exact posterior of a two-Gaussian
problem, recalibration monotone in the raw probability, full-disk aggregation on hand-made disks, the
export format, thresholds and bootstraps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from flarelib import significance
from flarelib.operational import calibration, full_disk


@pytest.mark.parametrize("train_prior, target", [(0.5, 0.04), (0.5, 0.3), (0.3, 0.04), (0.5, 0.5)])
def test_prior_correction_is_exact_on_two_gaussians(train_prior, target):
    """x | flare ~ N(+1, 1), x | quiet ~ N(-1, 1): the log-likelihood ratio is 2x, so the posterior at
    prior q is expit(2x + logit q). Correcting the posterior learnt at `train_prior` must give it."""
    x = np.linspace(-6, 6, 1001)
    learnt = expit(2 * x + logit(train_prior))
    np.testing.assert_allclose(calibration.prior_shift(learnt, train_prior, target), expit(2 * x + logit(target)), rtol=1e-12, atol=1e-15)


def test_prior_corrected_forecasts_are_calibrated_at_the_real_rate():
    """Draw a 4% event rate; the balanced-prior posterior corrected to 4% forecasts, on average, the
    observed rate in each forecast bin (within sampling error)."""
    rng = np.random.default_rng(0)
    y = rng.random(400_000) < 0.04
    x = rng.normal(np.where(y, 1.0, -1.0), 1.0)
    p = calibration.prior_shift(expit(2 * x), 0.5, 0.04)
    bins = np.digitize(p, [0.02, 0.05, 0.1, 0.2, 0.4])
    for b in np.unique(bins):
        assert abs(p[bins == b].mean() - y[bins == b].mean()) < 0.01
    assert calibration.prior_shift(expit(2 * x), 0.5, 0.04).mean() == pytest.approx(0.04, abs=0.002)


@pytest.mark.parametrize("name", list(calibration.RECALIBRATORS))
def test_recalibrated_probabilities_are_monotone_in_the_raw_ones(name):
    rng = np.random.default_rng(1)
    p = rng.random(3000)
    y = rng.random(3000) < 0.05 + 0.3 * np.sin(6 * p) ** 2  # a wiggly, non-monotone truth
    calibrator = calibration.RECALIBRATORS[name](p, y)
    grid = np.linspace(-0.1, 1.1, 2001)
    out = calibrator(grid)
    assert np.all(np.diff(out) >= -1e-12) and out.min() >= 0 and out.max() <= 1


def test_platt_never_reverses_the_ranking():
    rng = np.random.default_rng(2)
    p = rng.random(2000)
    y = rng.random(2000) < 0.5 * (1 - p)  # anti-informative
    out = calibration.fit_platt(p, y)(np.array([0.1, 0.5, 0.9]))
    assert np.all(out == pytest.approx(y.mean()))


def test_histogram_binning_by_hand():
    """Four equal-count bins of rates 0, 1/2, 1/4, 1: the middle pair is out of order and pooled to 3/8."""
    p = np.repeat([0.1, 0.3, 0.6, 0.9], 4)
    y = np.array([0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1])
    calibrator = calibration.fit_binning(p, y, bins=4)
    np.testing.assert_allclose(calibrator(np.array([0.05, 0.3, 0.6, 0.95])), [0, 3 / 8, 3 / 8, 1])


def test_the_threshold_maximizes_tss():
    y = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.5, 0.7])
    assert calibration.best_threshold(y, p) == 0.5  # catches both positives with one false alarm: TSS 0.75


def forecasts(rows):
    return pd.DataFrame(rows, columns=["SERIES", "ARPNUM", "end", "probability"]).assign(end=lambda d: pd.to_datetime(d.end))


def catalogue(rows):
    from flarelib.goes import parse_classes

    table = pd.DataFrame(rows, columns=["peak_time", "goes_class", "noaa_ar"]).assign(peak_time=lambda d: pd.to_datetime(d.peak_time))
    return table.assign(peak_flux=parse_classes(table.goes_class).flux)


def test_full_disk_aggregation_on_hand_made_disks():
    regions = forecasts([
        ("SHARP", 1, "2012-01-01 23:00", 0.9),  # older window of region 1: superseded
        ("SHARP", 1, "2012-01-01 23:36", 0.2),
        ("SHARP", 2, "2012-01-01 22:48", 0.5),
        ("SHARP", 3, "2012-01-01 21:00", 0.7),  # last seen 3 h before the issue time: off the disk
        ("SHARP", 1, "2012-01-02 05:12", 0.1),
    ])
    flares = catalogue([("2012-01-02 03:00", "C9.9", 1), ("2012-01-02 10:00", "M1.0", None),  # no region: counts
                        ("2012-01-03 06:00", "M2.0", 2)])  # exactly at the end of the second window: inside
    times = full_disk.issue_times(pd.Timestamp("2012-01-01 21:00"), pd.Timestamp("2012-01-02 13:00"))
    assert list(times) == list(pd.to_datetime(["2012-01-02 00:00", "2012-01-02 06:00", "2012-01-02 12:00"]))
    disk = full_disk.full_disk(regions, flares, times)
    assert disk.regions.tolist() == [2, 1, 0]
    np.testing.assert_allclose(disk.probability, [1 - 0.8 * 0.5, 0.1, 0.0])
    np.testing.assert_allclose(disk.probability_max, [0.5, 0.1, 0.0])
    assert disk.event.tolist() == [1, 1, 1]
    assert disk.region_probabilities[0] == "SHARP 1:0.2000;SHARP 2:0.5000"
    quiet = full_disk.full_disk(regions, catalogue([("2012-01-01 23:59", "X1.0", 1), ("2012-01-03 00:01", "M5.0", 1)]), times[:1])
    assert quiet.event.tolist() == [0]  # just before the issue time, and just after its 24 h


def test_the_export_format(tmp_path):
    regions = forecasts([("SHARP", 1, "2012-01-01 23:36", 0.25)])
    disk = full_disk.full_disk(regions, catalogue([("2012-01-02 03:00", "M1.0", 1)]), full_disk.issue_times("2012-01-02", "2012-01-02"))
    path = full_disk.export_forecasts(disk, tmp_path / "forecasts.csv", "synthetic", "LSTM", "FUSED_SHARP")
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(full_disk.FULL_DISK_COLUMNS)
    assert lines[1] == "2012-01-02T00:00Z,2012-01-02T00:00Z,2012-01-03T00:00Z,0.2500,0.2500,1,SHARP 1:0.2500,1,synthetic,LSTM,FUSED_SHARP"


def test_bootstrap_resamples_whole_groups():
    table = pd.DataFrame({"arpnum": [1, 1, 2, 2], "value": [1.0, 1.0, 3.0, 3.0]})
    estimate, low, high = significance.bootstrap_ci(table, lambda t: t.value.mean(), ["arpnum"], n_boot=400, seed=0)
    assert estimate == 2.0 and low == 1.0 and high == 3.0  # whole regions: the mean is 1, 2 or 3
    constant = significance.bootstrap_ci(table.assign(value=5.0), lambda t: t.value.mean(), ["arpnum"], n_boot=50)
    assert constant == (5.0, 5.0, 5.0)


def test_a_validation_set_of_one_class_recalibrates_to_a_constant():
    p = np.linspace(0, 1, 50)
    for name, fit in calibration.RECALIBRATORS.items():
        out = fit(p, np.zeros(50, int))(np.array([0.1, 0.9]))
        assert np.all(out == 0.0), name
    val = pd.DataFrame({"raw": [0.2, 0.8], "labelled": [False, False], "label": [pd.NA, pd.NA]})
    val_out, test_out = calibration.calibrated(val, val.copy(), 0.5, 0.03)
    assert np.all(test_out[list(calibration.RECALIBRATORS)].to_numpy() == 0.03)


def test_the_bootstrap_statistics_agree_with_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from flarelib.metrics import bss, contingency, tss

    rng = np.random.default_rng(3)
    table = pd.DataFrame({"seed": np.repeat([0, 1], 500), "label": rng.random(1000) < 0.2,
                          "prob": np.round(rng.random(1000), 2), "climatology": 0.15})  # rounded: ties
    table["prob"] = np.where(table.label, np.minimum(table.prob + 0.2, 1), table.prob)
    parts = [part for _, part in table.groupby("seed")]
    expected = {"AUC": np.mean([roc_auc_score(t.label, t.prob) for t in parts]),
                "BSS": np.mean([bss(t.label, t.prob, 0.15) for t in parts]),
                "TSS": np.mean([tss(contingency(t.label, t.prob >= th)) for t, th in zip(parts, (0.3, 0.6))])}
    assert significance.seed_statistic("AUC")(table) == pytest.approx(expected["AUC"], abs=1e-12)
    assert significance.seed_statistic("BSS")(table) == pytest.approx(expected["BSS"], abs=1e-12)
    assert significance.seed_statistic("TSS", {0: 0.3, 1: 0.6})(table) == pytest.approx(expected["TSS"], abs=1e-12)
