"""Repeated experiments trained together: each member is the model it would be alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from flarelib.ensemble import MaskedAdam, Member, StackedLSTM, fit_members
from flarelib.models import LSTMClassifier
from flarelib.sweep import cells, collect, run_sweep, tasks
from flarelib.training import TrainSettings, fit, predict
from tests.toy import SETTINGS, write_toy_datasets


@pytest.fixture(autouse=True)
def one_thread():
    """As a sweep worker trains: small LSTMs gain nothing from threads, and lose much when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, 4, generator=g)
    return x, (x[:, -1, 0] + 0.7 * torch.randn(n, generator=g) > 0).long()


def test_the_stacked_lstm_computes_each_members_logits():
    torch.manual_seed(0)
    members = [LSTMClassifier() for _ in range(3)]
    x = torch.randn(3, 5, 16, 4)
    stacked = StackedLSTM(members)(x)
    for k, member in enumerate(members):
        torch.testing.assert_close(stacked[k], member(x[k]), rtol=1e-5, atol=1e-6)
    restored = LSTMClassifier()
    restored.load_state_dict(StackedLSTM(members).member_state(1))
    torch.testing.assert_close(restored(x[1]), members[1](x[1]))


def test_masked_adam_steps_like_torch_adam_and_leaves_resting_members_alone():
    torch.manual_seed(0)
    weights = torch.nn.Parameter(torch.randn(2, 3))
    reference = torch.nn.Parameter(weights[0].detach().clone())
    mine, theirs = MaskedAdam([weights], lr=0.01), torch.optim.Adam([reference], lr=0.01)
    resting = weights[1].detach().clone()
    for step in range(5):
        grad = torch.randn(3)
        weights.grad = torch.stack([grad, torch.randn(3)])
        reference.grad = grad.clone()
        mine.step(torch.tensor([True, False]))
        theirs.step()
    torch.testing.assert_close(weights[0].detach(), reference.detach())
    assert torch.equal(weights[1].detach(), resting) and mine.steps.tolist() == [5, 0]


def test_a_member_trained_together_is_the_model_trained_alone():
    """Three members of different sizes (one with a last batch of one, dropped as alone), one that
    stops early: same epochs, best epoch, validation TSS, and probabilities to float tolerance."""
    group = [Member(data(1, 300), data(11, 90), TrainSettings(max_epochs=6, patience=2, batch_size=64, seed=0)),
             Member(data(2, 257), data(12, 80), TrainSettings(max_epochs=6, patience=2, batch_size=64, seed=1)),
             Member(data(3, 140), data(13, 70), TrainSettings(max_epochs=6, patience=2, batch_size=64, seed=2))]
    together = fit_members(group)
    for member, result in zip(group, together):
        alone = fit("LSTM", member.train, member.val, member.settings)
        assert result.best_epoch == alone.best_epoch and len(result.history) == len(alone.history)
        pd.testing.assert_series_equal(result.history.val_tss, alone.history.val_tss)
        np.testing.assert_allclose(result.history.train_loss, alone.history.train_loss, rtol=1e-5)
        np.testing.assert_allclose(predict(result.model, member.val[0]), predict(alone.model, member.val[0]), atol=1e-5)
    assert len({len(r.history) for r in together}) > 1 or any(r.stopped_early for r in together)


def test_the_sweep_groups_lstm_seeds_and_writes_every_cells_files(tmp_path):
    write_toy_datasets(tmp_path, [0, 1])
    todo = cells(["SHARP_ONLY", "FUSED_SHARP"], ["LSTM"], [0, 1])
    assert [len(t) for t in tasks(todo + cells(["SHARP_ONLY"], ["CNN"], [0]), ensemble=True)] == [2, 2, 1]
    quiet = lambda _: None
    together = run_sweep(todo, tmp_path, tmp_path / "together", SETTINGS, 32, workers=1, log=quiet, ensemble="on")
    alone = run_sweep(todo, tmp_path, tmp_path / "alone", SETTINGS, 32, workers=1, log=quiet, ensemble="off")
    assert len(together.done) == len(alone.done) == 4
    for cell in todo:
        assert {p.name for p in cell.folder(tmp_path / "together").iterdir()} == {
            "checkpoint.pt", "done.json", "history.csv", "metrics.json", "predictions.csv", "timing.json"}
    columns = ["dataset", "model", "seed", "ACC", "TSS", "AUC", "best_epoch", "epochs"]
    (a, pa), (b, pb) = collect(todo, tmp_path / "together"), collect(todo, tmp_path / "alone")
    pd.testing.assert_frame_equal(a[columns], b[columns])
    np.testing.assert_allclose(pa.prob, pb.prob, atol=1e-5)
    assert json.loads((todo[0].folder(tmp_path / "together") / "metrics.json").read_text())["seed"] == 0


@pytest.mark.parametrize("choice, expected", [("on", True), ("off", False), ("auto", torch.cuda.is_available())])
def test_auto_stacks_the_seeds_only_on_a_gpu(choice, expected):
    from flarelib.sweep import use_ensemble

    assert use_ensemble(choice) is expected


def test_members_with_different_schedules_are_refused():
    group = [Member(data(1, 50), data(2, 20), TrainSettings(max_epochs=2, seed=0)),
             Member(data(3, 50), data(4, 20), TrainSettings(max_epochs=3, seed=1))]
    with pytest.raises(ValueError, match="same epochs, batch size and learning rate"):
        fit_members(group)


def test_the_sweep_starts_the_longest_cells_first():
    from flarelib.sweep import Cell, expected_cost

    ranked = sorted([Cell("SHARP_ONLY", "LSTM", 0), Cell("FUSED_SHARP", "CNN", 0), Cell("FUSED_SMARP", "LSTM", 0),
                     Cell("SMARP_ONLY", "CNN", 0)], key=lambda cell: -expected_cost([cell]))
    assert [(c.dataset, c.model) for c in ranked] == [("FUSED_SHARP", "CNN"), ("SMARP_ONLY", "CNN"),
                                                       ("FUSED_SMARP", "LSTM"), ("SHARP_ONLY", "LSTM")]
    assert expected_cost([Cell("FUSED_SHARP", "LSTM", s) for s in range(3)]) == 3 * expected_cost([Cell("FUSED_SHARP", "LSTM", 0)])
