"""Models, training and verification: shapes, parameter counts by hand, learning, early stopping,
determinism, and metrics against scikit-learn and Finley's 1884 tornado forecasts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score

from flarelib import metrics
from flarelib.models import CNNLi2020, LSTMClassifier, build_model, count_parameters
from flarelib.plots import reliability, verification_figure
from flarelib.training import EarlyStopping, TrainSettings, fit, predict


def test_lstm_shape_and_parameters_by_hand():
    model = LSTMClassifier()
    assert model(torch.zeros(5, 16, 4)).shape == (5, 2)
    layer1 = 4 * (64 * (4 + 64) + 2 * 64)  # four gates: input and recurrent weights, two biases
    layer2 = 4 * (64 * (64 + 64) + 2 * 64)
    assert count_parameters(model) == layer1 + layer2 + (64 * 2 + 2) == 51_330


def test_cnn_shape_and_parameters_by_hand():
    model = CNNLi2020(128).eval()
    assert model(torch.zeros(3, 128, 128)).shape == (3, 2)
    convs = (64 * 121 + 64) + (64 * 64 * 121 + 64) + 3 * (64 * 64 * 9 + 64) + 5 * 2 * 64  # with batch norms
    linear = (64 * 4 * 4 * 128 + 128) + 2 * 128 + (128 * 64 + 64) + 2 * 64 + (64 * 2 + 2)
    assert count_parameters(model) == convs + linear == 754_882
    assert CNNLi2020(32).eval()(torch.zeros(2, 1, 32, 32)).shape == (2, 2)
    with pytest.raises(ValueError, match="too small"):
        CNNLi2020(16)


def toy(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 16, 4, generator=g) + (2.0 * y - 1.0)[:, None, None]  # separable by the mean
    return x, y


def test_training_reduces_the_loss_and_separates_a_toy_set():
    train, val = toy(256, 0), toy(128, 1)
    result = fit("LSTM", train, val, TrainSettings(max_epochs=6, patience=6, seed=0))
    assert result.history.train_loss.iloc[-1] < 0.5 * result.history.train_loss.iloc[0]
    assert metrics.tss(metrics.contingency(val[1].numpy(), predict(result.model, val[0]) >= 0.5)) > 0.9


def test_same_seed_same_probabilities():
    train, val = toy(128, 0), toy(64, 1)
    a = fit("LSTM", train, val, TrainSettings(max_epochs=2, seed=3))
    b = fit("LSTM", train, val, TrainSettings(max_epochs=2, seed=3))
    assert np.array_equal(predict(a.model, val[0]), predict(b.model, val[0]))


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience():
    stopper = EarlyStopping(patience=2)
    sequence = [(0.2, 0.7), (0.6, 0.6), (0.6, 0.5), (0.5, 0.4), (0.4, 0.3)]  # (val TSS, val loss)
    stops = [stopper.update(e, t, l, {"epoch": torch.tensor(e)}) for e, (t, l) in enumerate(sequence, 1)]
    assert stops[:4] == [False, False, False, True]  # epoch 4 is the second without a better TSS
    assert stopper.best_epoch == 3 and int(stopper.best_state["epoch"]) == 3  # the tie at 0.6 goes to the lower loss


def test_without_a_validation_set_the_last_epoch_is_kept():
    stopper = EarlyStopping(patience=1)
    assert [stopper.update(e, float("nan"), float("nan"), {"e": e}) for e in (1, 2, 3)] == [False] * 3
    assert stopper.best_epoch == 3


def test_fit_restores_the_best_epochs_weights():
    train, val = toy(128, 0), toy(64, 1)
    result = fit("LSTM", train, val, TrainSettings(max_epochs=4, patience=4, seed=1))
    probe = fit("LSTM", train, val, TrainSettings(max_epochs=result.best_epoch, patience=99, seed=1))
    assert np.allclose(predict(result.model, val[0]), predict(probe.model, val[0]), atol=1e-6)


FINLEY = metrics.Contingency(tp=28, fn=23, fp=72, tn=2680)  # Finley (1884), tornado forecasts


def test_finley_tornado_table():
    assert metrics.accuracy(FINLEY) == pytest.approx(2708 / 2803)
    assert metrics.tss(FINLEY) == pytest.approx(28 / 51 - 72 / 2752)
    assert metrics.tss(FINLEY) == pytest.approx(0.523, abs=5e-4)  # Peirce's skill score, as published
    assert metrics.hss(FINLEY) == pytest.approx(0.355, abs=5e-4)  # Heidke skill score, as published


def test_against_scikit_learn_and_the_balanced_identity():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 200)
    prob = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    s = metrics.scores(y, prob)
    tn, fp, fn, tp = confusion_matrix(y, prob >= 0.5).ravel()
    assert (s["TP"], s["FN"], s["FP"], s["TN"]) == (tp, fn, fp, tn)
    assert s["AUC"] == pytest.approx(roc_auc_score(y, prob))
    assert metrics.brier(y, prob) == pytest.approx(brier_score_loss(y, prob))
    assert s["BSS"] == pytest.approx(1 - brier_score_loss(y, prob) / 0.25)  # event rate 0.5: reference 0.25
    assert s["TSS"] == pytest.approx(s["HSS"]) == pytest.approx(2 * s["ACC"] - 1)  # the study's identity
    assert metrics.bss(y, prob, climatology=0.05) == pytest.approx(1 - brier_score_loss(y, prob) / np.mean((0.05 - y) ** 2))


def test_one_class_gives_undefined_scores_with_a_reason():
    s = metrics.scores(np.zeros(4), np.full(4, 0.3))
    assert np.isnan(s["TSS"]) and s["note"] == "skill scores undefined: only negative samples"
    assert metrics.scores(np.array([]), np.array([]))["note"] == "skill scores undefined: no samples"


def test_reliability_bins_and_a_figure_over_several_runs():
    freq, counts = reliability(np.array([0, 1, 1, 0]), np.array([0.05, 0.95, 0.92, 0.15]))
    assert counts[0] == 1 and counts[1] == 1 and counts[9] == 2
    assert freq[0] == 0 and freq[9] == 1 and np.isnan(freq[5])
    rng = np.random.default_rng(1)
    runs = {"A": [(np.repeat([0, 1], 50), rng.uniform(size=100)) for _ in range(3)], "B": [(np.zeros(5), np.zeros(5))]}
    fig = verification_figure(runs, "caption")
    assert len(fig.axes) >= 3 and fig.axes[1].get_legend_handles_labels()[1] == ["A"]  # B (one class) is left out


def test_training_settings_come_from_a_runs_parameters():
    params = {"max_epochs": 7, "lstm_patience": 3, "cnn_patience": 9, "batch_size": 16, "learning_rate": 0.01, "seed": 4}
    assert TrainSettings.from_params(params, "LSTM") == TrainSettings(7, 3, 16, 0.01, 4)
    assert TrainSettings.from_params(params, "CNN", seed=11) == TrainSettings(7, 9, 16, 0.01, 11)


def test_the_cnn_width_is_a_parameter_and_a_checkpoint_carries_its_own(tmp_path):
    import torch

    from flarelib.models import build_model
    from flarelib.operational.real_rate import load_model
    from flarelib.training import TrainSettings

    narrow = build_model("CNN", 32, cnn_channels=16)
    assert narrow.features[0].weight.shape[0] == 16 and build_model("CNN", 32).features[0].weight.shape[0] == 64
    torch.save(narrow.state_dict(), tmp_path / "checkpoint.pt")
    loaded = load_model(tmp_path, "CNN", 32)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), narrow.state_dict().values()))
    base = dict(max_epochs=3, cnn_patience=2, batch_size=8, learning_rate=1e-3, seed=0)
    assert TrainSettings.from_params(base, "CNN").cnn_channels == 64
    assert TrainSettings.from_params({**base, "cnn_channels": 16}, "CNN").cnn_channels == 16


def test_the_cnn_in_either_memory_layout_gives_the_same_outputs_and_vmap_takes_channels_first():
    """Channels-last is only a layout: the same weights give the same probabilities in PyTorch's default
    layout, which torch.func.vmap needs to train several CNNs at once (benchmarks/ensemble.py)."""
    from torch.func import functional_call, stack_module_state, vmap

    torch.manual_seed(0)
    last = build_model("CNN", 32, 8).eval()
    first = CNNLi2020(32, 8, channels_last=False).eval()
    first.load_state_dict(last.state_dict())
    x = torch.randn(5, 32, 32)
    torch.testing.assert_close(first(x), last(x), rtol=1e-5, atol=1e-5)
    params, buffers = stack_module_state([first, first])
    stacked = vmap(lambda p, b, xs: functional_call(first, (p, b), (xs,)))(params, buffers, torch.stack([x, x]))
    torch.testing.assert_close(stacked[1], first(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="vmap"):
        vmap(lambda p, b, xs: functional_call(last, (p, b), (xs,)))(*stack_module_state([last, last]), torch.stack([x, x]))
