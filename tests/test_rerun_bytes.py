"""A re-run with the same parameters writes the same bytes: checkpoints, and a sweep cell whose
seconds differ (they live in `timing.json`, outside the hashed artifacts)."""

from __future__ import annotations

import json

import pandas as pd
import torch

from flarelib import sweep
from flarelib.baselines import Fitted
from flarelib.compendium.integrity import artifact_files
from flarelib.models import build_model
from flarelib.training import write_checkpoint


def test_the_same_weights_give_the_same_checkpoint_bytes(tmp_path):
    torch.manual_seed(0)
    state = build_model("LSTM", 32).state_dict()
    first = write_checkpoint(state, tmp_path / "a" / "checkpoint.pt")
    second = write_checkpoint(state, tmp_path / "b" / "checkpoint.pt")
    assert first.read_bytes() == second.read_bytes()
    loaded = torch.load(second, weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_a_cell_finished_again_in_other_seconds_changes_no_hashed_file(tmp_path):
    cell = sweep.Cell("SHARP_ONLY", "CLIM", 0)
    predictions = pd.DataFrame({"split": ["test"] * 4, "label": [0, 1, 0, 1], "prob": [0.2, 0.7, 0.4, 0.9]})
    written = []
    for run, seconds in (("one", 1.5), ("two", 97.25)):
        folder = cell.folder(tmp_path / run)
        folder.mkdir(parents=True)
        (folder / "predictions.csv").write_text("x\n1\n")
        sweep._finish(cell, folder, Fitted(), predictions, seconds)
        written.append({p.name: p.read_bytes() for p in artifact_files(folder)})
        assert json.loads((folder / "timing.json").read_text())["seconds"] == seconds
        assert "timing.json" not in json.loads((folder / "done.json").read_text())["files"]
    assert written[0] == written[1] and "timing.json" not in written[0]
    assert sweep.is_done(cell, tmp_path / "two")
    assert sweep.timings([cell], tmp_path / "two").seconds.tolist() == [97.25]
