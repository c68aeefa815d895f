"""The hole audit (#27): which steps of a window were filled, what their count alone gives away, and the
two LSTM variants that are told of them or never see them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from flarelib import study, sweep
from flarelib.datasets import dataset_path, read_dataset, to_xarray
from flarelib.models import build_model
from flarelib.sampling import filled_bits, filled_mask, hole_audit, sample_windows
from flarelib.schema import KEYWORDS
from flarelib.training import model_inputs
from tests.test_sampling import NO_FLARES, region


def test_a_missing_record_and_a_nan_keyword_are_filled_steps_of_the_windows_that_hold_them():
    records = region(1, 40, USFLUXL={25: np.nan}).drop(index=30).reset_index(drop=True)  # record 30 missing
    samples, _ = sample_windows(records, NO_FLARES, max_bad=15)
    by_end = samples.set_index("end")
    end = pd.Timestamp("2012-01-01") + pd.Timedelta(minutes=96) * 35  # the window of records 20-35
    assert by_end.loc[end, "n_filled"] == 2
    steps = filled_mask(by_end.loc[[end], "filled_steps"].to_numpy(), 16)[0]
    assert np.flatnonzero(steps).tolist() == [5, 10]  # record 25 is step 5, record 30 step 10
    complete = pd.Timestamp("2012-01-01") + pd.Timedelta(minutes=96) * 24
    assert by_end.loc[complete, "n_filled"] == 0 and by_end.loc[complete, "filled_steps"] == 0


def test_filled_steps_round_trip_through_their_bits():
    rng = np.random.default_rng(0)
    mask = rng.uniform(size=(50, 16)) < 0.3
    bits = filled_bits(mask)
    np.testing.assert_array_equal(filled_mask(bits, 16), mask)
    assert filled_bits(np.array([[True] + [False] * 15]))[0] == 1
    with pytest.raises(ValueError, match="at most 62"):
        filled_bits(np.zeros((1, 63), bool))


def test_the_audit_counts_holes_and_gives_the_counts_auc_as_scikit_learn():
    rng = np.random.default_rng(1)
    label = np.repeat([True, False], 100)
    n_filled = np.where(label, rng.poisson(5, 200), rng.poisson(2, 200))
    samples = pd.DataFrame({"SERIES": "SHARP", "keep": True, "label": label, "n_filled": n_filled})
    row = hole_audit(samples).loc["SHARP"]
    assert row["AUC of the count"] == pytest.approx(roc_auc_score(label, n_filled))
    assert row["filled steps, positives"] == pytest.approx(n_filled[label].mean())
    assert row["complete, negatives"] == pytest.approx((n_filled[~label] == 0).mean())
    dropped = samples.assign(keep=np.arange(200) < 150)
    assert hole_audit(dropped).loc["SHARP", "windows"] == 150


def toy_file(folder, n=80, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    split = np.tile(["train", "train", "train", "val", "test"], n // 5)
    frame = pd.DataFrame({"split": split, "label": labels, "SERIES": "SHARP", "ARPNUM": np.arange(n),
                          "end": pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n) * 96, unit="min"),
                          "filled_steps": np.where(np.arange(n) % 4 == 0, 0b101, 0)})
    ds = to_xarray(frame, rng.normal(size=(n, 16, 4)).astype(np.float32), None, KEYWORDS, {"dataset": "SHARP_ONLY", "seed": seed})
    ds.to_netcdf(dataset_path(folder, "SHARP_ONLY", seed), engine="h5netcdf")
    return ds


def test_the_mask_variant_reads_a_fifth_input_and_the_complete_variant_only_complete_windows(tmp_path):
    ds = toy_file(tmp_path)
    x, _ = model_inputs(ds, "LSTM_MASK", "train")
    assert x.shape[-1] == 5 and torch.equal(x[..., 4], torch.as_tensor(ds["filled"].values[ds["split"].values == "train"], dtype=torch.float32))
    assert build_model("LSTM_MASK")(x[:3]).shape == (3, 2)
    settings = dict(max_epochs=1, lstm_patience=1, cnn_patience=1, batch_size=16, learning_rate=1e-3, seed=0, cnn_channels=4)
    cell = sweep.Cell("SHARP_ONLY", "LSTM_COMPLETE", 0)
    sweep.run_cell(cell, str(tmp_path), str(tmp_path / "cells"), settings, 32)
    _, predictions = sweep.collect([cell], tmp_path / "cells")
    complete = read_dataset(dataset_path(tmp_path, "SHARP_ONLY", 0))
    kept = complete["arpnum"].values[complete["filled"].values.sum(axis=1) == 0]
    assert sorted(predictions.arpnum) == sorted(kept) and len(kept) == 60


def test_the_verdict_says_whether_a_score_depends_on_the_holes():
    rows = [("SHARP_ONLY", "LSTM", [0.80, 0.85, 0.90]), ("SHARP_ONLY", "LSTM_MASK", [0.81, 0.86, 0.88]),
            ("SHARP_ONLY", "LSTM_COMPLETE", [0.78, 0.84, 0.87]), ("SMARP_ONLY", "LSTM", [0.80, 0.82, 0.84]),
            ("SMARP_ONLY", "LSTM_MASK", [0.80, 0.81, 0.85]), ("SMARP_ONLY", "LSTM_COMPLETE", [0.60, 0.62, 0.65])]
    metrics = pd.DataFrame([{"dataset": d, "model": m, "seed": s, "TSS": v} for d, m, vs in rows for s, v in enumerate(vs)])
    verdict = study.hole_verdict(metrics)
    assert verdict[0].startswith("SHARP_ONLY: the LSTM 0.850 +- 0.050") and verdict[0].endswith("does not depend on the holes.")
    assert "a drop of 0.020 against a combined spread of 0.068" in verdict[0]
    assert verdict[1].startswith("SMARP_ONLY") and verdict[1].endswith("This score depends on the holes.")
    table = study.hole_audit_table(metrics)
    assert list(table.columns) == ["LSTM", "LSTM_MASK", "LSTM_COMPLETE", "study LSTM"]
    assert table.loc["SHARP_ONLY", "study LSTM"].startswith("0.8")
