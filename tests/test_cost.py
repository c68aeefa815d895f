"""The run's cost estimate: every chapter, every cell of the sweep (baselines included), measured steps."""

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


@pytest.fixture
def timed_by_hand(monkeypatch):
    """The estimate's measurements replaced by round numbers, so its arithmetic can be checked."""
    monkeypatch.setattr(cost, "device", lambda: __import__("torch").device("cpu"))
    monkeypatch.setattr(cost, "seconds_per_step", lambda model, size, batch, cnn_channels=64: {"LSTM": 0.01, "CNN": 2.0}[model])
    monkeypatch.setattr(cost, "start_seconds", lambda: 5.0)
    monkeypatch.setattr(cost, "baseline_seconds", lambda model, n, size: 0.5)


def test_the_estimate_counts_every_cell_of_the_sweep_and_every_chapter(timed_by_hand):
    """smoke's sweep: 4 datasets x 2 experiments x (LSTM, CNN and ten baselines) = 96 cells, not 16."""
    params, _ = load_params("smoke")
    assert len(params.baselines) == 10
    found = cost.estimate(params)
    sweep = [p for p in found.parts if p.chapter == "06_stacking" and p.parallel]
    assert sum(p.count for p in sweep) == 96 and all(p.count == 8 for p in sweep)
    assert sorted(p.what for p in sweep) == sorted(["LSTM cell", "CNN cell", *(f"{b} cell" for b in params.baselines)])
    assert list(found.chapter_seconds()) == [f"0{i}_{n}" for i, n in enumerate(
        ["data", "fusion", "sampling", "lstm", "cnn", "stacking", "significance", "attribution", "operational"], 1)]
    baselines = 80 * 0.5 / params.workers  # ten baselines x 8 cells of 0.5 s, over smoke's 2 workers
    assert found.chapter_seconds()["06_stacking"] > baselines + 5.0
    assert "about" in found.describe() and "80 x" not in found.describe() and "8 x GB_IMAGE cell" in found.describe()


def test_a_training_is_epochs_times_batches_times_a_step_plus_its_fixed_cost(timed_by_hand):
    params, _ = load_params("paper", ["workers=2", "datasets=[SHARP_ONLY, FUSED_SHARP]", "n_experiments=10", "baselines=[]"])
    found = cost.estimate(params)
    (cnn,) = [p for p in found.parts if p.what == "CNN cell"]
    batches = (56 + 200) / 2  # the mean of ceil(3548 / 64) and ceil(12750 / 64): the study's sizes (paper is jsoc)
    assert cnn.count == 20 and cnn.parallel
    assert cnn.at_most_each == pytest.approx(20 * (batches * 2.0) + 5.0 / cost.START_REFERENCE * cost.CELL_SECONDS, rel=0.01)
    assert cnn.seconds_each == cnn.at_most_each  # 2 x patience 10 >= 20
    (lstm,) = [p for p in found.parts if p.what == "LSTM cell"]
    assert lstm.seconds_each < lstm.at_most_each  # 2 x patience 5 = 10 of 20 epochs expected
    assert found.at_most >= found.seconds and "at most" in found.describe()


def test_the_synthetic_worlds_training_sizes_scale_with_the_regions_of_each_cycle():
    sizes, origin = cost.training_sizes(["SHARP_ONLY", "SMARP_ONLY", "FUSED_SHARP"], None, regions=(90, 80), source="synthetic")
    sharp, smarp = cost.SYNTHETIC_TRAIN_PER_REGION["SHARP_ONLY"] * 80, cost.SYNTHETIC_TRAIN_PER_REGION["SMARP_ONLY"] * 90
    # a fused dataset trains on its own instrument's training windows and on every window of the other's
    assert sizes == pytest.approx({"SHARP_ONLY": sharp, "SMARP_ONLY": smarp, "FUSED_SHARP": sharp + smarp / 0.6})
    assert "170 regions" in origin
    # the teach run's chapter 03 cut (mean over its 10 seeds) 3,877, 5,665 and 12,654 training windows
    teach, _ = cost.training_sizes(["SHARP_ONLY", "SMARP_ONLY", "FUSED_SHARP"], None, regions=(2400, 1300), source="synthetic")
    assert teach == pytest.approx({"SHARP_ONLY": 3877, "SMARP_ONLY": 5665, "FUSED_SHARP": 12654}, rel=0.06)


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


def test_every_baseline_can_be_timed():
    """The estimate times each baseline by fitting it once; a rule (climatology, persistence) fits nothing."""
    from flarelib.baselines import BASELINES, RULES

    for model in BASELINES:
        seconds = cost.baseline_seconds(model, 200, 32)
        assert seconds >= 0.0 and (seconds == 0.0) == (model in RULES), model
