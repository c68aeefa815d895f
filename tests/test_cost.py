"""The sweep's cost estimate: cells x epochs x batches x measured seconds per step, over the workers."""

from __future__ import annotations

import pandas as pd
import pytest

from flarelib.compendium import cost
from flarelib.compendium.params import load_params


def test_training_sizes_come_from_a_finished_chapter_03_or_the_study(tmp_path):
    table5 = tmp_path / "table5.csv"
    pd.DataFrame({"dataset": ["SHARP_ONLY", "SHARP_ONLY"], "seed": [0, 1], "train positive": [100, 120],
                  "train negative": [100, 120]}).to_csv(table5, index=False)
    sizes, origin = cost.training_sizes(["SHARP_ONLY"], table5)
    assert sizes == {"SHARP_ONLY": 220.0} and "chapter 03" in origin
    sizes, origin = cost.training_sizes(["SHARP_ONLY", "FUSED_SMARP"], table5)  # a dataset it lacks: the study's
    assert sizes == {"SHARP_ONLY": 3548.0, "FUSED_SMARP": 11396.0} and "Table 5" in origin


def test_the_estimate_is_cells_times_steps_times_seconds_over_workers(monkeypatch):
    params, _ = load_params("paper", ["workers=2", "datasets=[SHARP_ONLY, FUSED_SHARP]", "n_experiments=10"])
    monkeypatch.setattr(cost, "device", lambda: __import__("torch").device("cpu"))
    monkeypatch.setattr(cost, "seconds_per_step", lambda model, size, batch, cnn_channels=64: {"LSTM": 0.01, "CNN": 2.0}[model])
    found = cost.estimate(params)
    steps = (56 + 200) / 2 * 20  # ceil(3548 / 64) and ceil(12750 / 64) batches, 20 epochs
    assert found.per_model["CNN"]["steps"] == steps
    assert found.seconds == pytest.approx(20 * steps * (0.01 + 2.0) / 2)
    assert "at most 14.3 h" in found.describe()  # 51,456 s and "CNN: 20 cells" in found.describe()


def test_a_training_step_is_timed_on_this_machine():
    assert 0 < cost.seconds_per_step("LSTM", 32, 8) < 5


def test_mean_seconds_warms_up_once_then_averages_the_timed_calls(monkeypatch):
    """One untimed warm-up call, then `repeats` timed ones; the clock (stepped by hand) gives the mean,
    and the device is waited for before each reading."""
    calls, waits, clock = [], [], iter([10.0, 16.0])
    monkeypatch.setattr(cost.time, "perf_counter", lambda: next(clock))
    seconds = cost.mean_seconds(lambda: calls.append(1), 3, synchronize=lambda: waits.append(len(calls)))
    assert len(calls) == 4 and waits == [1, 4]
    assert seconds == pytest.approx(2.0)
