"""Training as in the study (Section 3.1): Adam, learning rate 1e-3, batch 64, cross-entropy; the
validation TSS after every epoch drives early stopping (patience 5 for the LSTM, 10 for the CNN,
at most 20 epochs) and the best epoch's weights are kept. Seeded and deterministic on a CPU; a GPU
is used when there is one.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from sklearn.metrics import log_loss

from flarelib.metrics import contingency, tss
from flarelib.models import build_model
from flarelib.seeding import rng_for
from flarelib.sources.files import atomic_path


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Same seed, same numbers: seeds torch and asks for deterministic kernels."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class TrainSettings:
    """How one model is trained: the study's settings are the defaults (patience 5 is the LSTM's)."""

    max_epochs: int = 20
    patience: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    cnn_channels: int = 64  # the CNN's filters per convolution (64 as published)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], model: str, seed: int | None = None) -> "TrainSettings":
        """The settings of `model` ("LSTM" or "CNN") from a run's parameters: `max_epochs`,
        `batch_size`, `learning_rate`, the model's own patience (`lstm_patience` or `cnn_patience`),
        `cnn_channels` (64 where absent) and `seed` (or the `seed` given, for one experiment of several)."""
        patience = "lstm_patience" if model.startswith("LSTM") else f"{model.lower()}_patience"
        return cls(max_epochs=int(params["max_epochs"]), patience=int(params[patience]),
                   batch_size=int(params["batch_size"]), learning_rate=float(params["learning_rate"]),
                   seed=int(params["seed"] if seed is None else seed), cnn_channels=int(params.get("cnn_channels", 64)))


@dataclass
class TrainResult:
    model: nn.Module
    history: pd.DataFrame  # epoch, train_loss, val_loss, val_tss
    best_epoch: int
    stopped_early: bool = field(default=False)


class EarlyStopping:
    """Keep the state of the epoch with the best validation TSS (ties: lower validation loss) and
    stop after `patience` epochs without a better TSS."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best: tuple[float, float] | None = None
        self.best_state: dict | None = None
        self.best_epoch = 0
        self.waited = 0

    def update(self, epoch: int, val_tss: float, val_loss: float, state: dict) -> bool:
        """Record an epoch; True when training should stop.

        A NaN TSS (no validation set with both classes) selects nothing: the latest epoch is kept."""
        if np.isnan(val_tss):
            if self.best is None or np.isnan(self.best[0]):
                self.best, self.best_state, self.best_epoch = (val_tss, -val_loss), copy.deepcopy(state), epoch
            return False
        key = (val_tss, -val_loss)
        improved_tss = self.best is None or np.isnan(self.best[0]) or val_tss > self.best[0]
        if improved_tss or key > self.best:
            self.best, self.best_state, self.best_epoch = key, copy.deepcopy(state), epoch
        self.waited = 0 if improved_tss else self.waited + 1
        return self.waited >= self.patience


def model_inputs(ds, model_name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and labels of one split of a dataset file (keyword sequences or images)."""
    rows = ds["split"].values == split
    if model_name == "LSTM_MASK":  # the keywords and, as a fifth input, whether each step was filled
        x = np.concatenate([ds["sequence"].values[rows], ds["filled"].values[rows][..., None].astype(np.float32)], axis=2)
    else:
        x = ds["sequence"].values[rows] if model_name.startswith("LSTM") else ds["image"].values[rows]
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(ds["label"].values[rows], dtype=torch.long)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Probability of the positive class."""
    model.eval()
    where = next(model.parameters()).device
    out = [torch.softmax(model(x[i:i + batch_size].to(where)), dim=1)[:, 1].cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.empty(0, dtype=np.float32)


def index_loader(n: int, settings: TrainSettings, generator: torch.Generator) -> DataLoader:
    """The shuffled index batches of an epoch over n training windows. Indexing the tensors with a
    batch gives what a `DataLoader` over the tensors themselves gives (same sampler, same generator),
    without collating 64 single windows per step. A last batch of one is dropped: batch
    normalisation cannot train on it."""
    return DataLoader(TensorDataset(torch.arange(n)), batch_size=settings.batch_size, shuffle=True, generator=generator,
                      drop_last=n % settings.batch_size == 1)


def _epoch(model, train, loader, optimiser, loss_fn, where) -> float:
    model.train()
    total, count = 0.0, 0
    for (index,) in loader:
        x, y = train[0][index].to(where), train[1][index].to(where)
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / max(count, 1)


def fit(model_name: str, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
        settings: TrainSettings, image_size: int = 128, init_state: dict | None = None,
        progress: Callable[[str], None] | None = None) -> TrainResult:
    """Train with early stopping on validation TSS; return the best epoch's model and the history.
    `init_state` starts from trained weights instead of random ones (fine-tuning).

    Parameters
    ----------
    model_name : "LSTM" or "CNN".
    train, val : (inputs, labels) tensors.
    settings : epochs, patience, batch size, learning rate and seed.
    image_size : the CNN's input size.
    init_state : weights to start from.
    progress : called with a line after every epoch.
    """
    generator = seed_everything(settings.seed)
    where = device()
    model = build_model(model_name, image_size, settings.cnn_channels)
    if init_state is not None:
        model.load_state_dict(init_state)
    model = model.to(where)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    loader = index_loader(len(train[1]), settings, generator)
    rows, stopper = [], EarlyStopping(settings.patience)
    for epoch in range(1, settings.max_epochs + 1):
        train_loss = _epoch(model, train, loader, optimiser, loss_fn, where)
        val_loss, val_tss = validation_scores(val[1], predict(model, val[0]))
        rows.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_tss": val_tss})
        if progress is not None:
            progress(f"{model_name} epoch {epoch}/{settings.max_epochs}: validation TSS {val_tss:.3f}")
        if stopper.update(epoch, val_tss, val_loss, model.state_dict()):
            break
    model.load_state_dict(stopper.best_state)
    history = pd.DataFrame(rows)
    best_epoch = stopper.best_epoch
    return TrainResult(model, history, best_epoch, stopped_early=len(history) < settings.max_epochs)


def validation_scores(labels: torch.Tensor, prob: np.ndarray) -> tuple[float, float]:
    """Validation cross-entropy and TSS at threshold 0.5 (NaN without both classes), which early
    stopping reads."""
    y = labels.numpy()
    loss = float(log_loss(y, prob, labels=[0, 1])) if len(prob) else float("nan")
    score = tss(contingency(y, prob >= 0.5)) if len(prob) and labels.unique().numel() == 2 else float("nan")
    return loss, score


def predictions_table(ds, split: str, prob: np.ndarray) -> pd.DataFrame:
    """A split's forecasts: each window's region, end, label and probability, and what the region did in
    its observation period (QUIET, WEAK or STRONG) where the dataset file says."""
    rows = ds["split"].values == split
    table = pd.DataFrame({"split": split, "series": ds["series"].values[rows], "arpnum": ds["arpnum"].values[rows],
                          "t_end": ds["t_end"].values[rows], "label": ds["label"].values[rows], "prob": prob})
    if "observation" in ds:
        table["observation"] = ds["observation"].values[rows]
    return table


def train_and_predict(ds, model_name: str, settings: TrainSettings, folder: Path, image_size: int = 128,
                      progress: Callable[[str], None] | None = None) -> tuple[TrainResult, pd.DataFrame]:
    """Fit on a dataset file's training split, keep the best checkpoint, and write the training, validation and
    test probabilities (`predictions.csv`), the history and the checkpoint into `folder`.

    Parameters
    ----------
    ds : a dataset file's content (`flarelib.datasets.read_dataset`).
    model_name : "LSTM" or "CNN".
    settings : how to train.
    folder : where the cell's files go.
    image_size : the CNN's input size.
    progress : called with a line after every epoch.
    """
    result = fit(model_name, model_inputs(ds, model_name, "train"), model_inputs(ds, model_name, "val"), settings, image_size,
                 progress=progress)
    return result, write_outputs(ds, model_name, result, folder)


def write_outputs(ds, model_name: str, result: TrainResult, folder: Path) -> pd.DataFrame:
    """A trained model's training, validation and test probabilities (`predictions.csv`), its history
    and its checkpoint, in `folder`; returns the probabilities."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = [predictions_table(ds, split, predict(result.model, model_inputs(ds, model_name, split)[0])) for split in ("train", "val", "test")]
    predictions = pd.concat(tables, ignore_index=True)
    for name, table in (("predictions.csv", predictions), ("history.csv", result.history)):
        with atomic_path(folder / name) as path:
            table.to_csv(path, index=False)
    write_checkpoint(result.model.state_dict(), folder / "checkpoint.pt")
    return predictions


def write_checkpoint(state: dict, target: Path) -> Path:
    """Save a state dict whole or not at all, the same bytes for the same weights.

    `torch.save` to a file names the zip archive's folder after the file, and the atomic write's
    temporary name is random, so a re-run wrote other bytes; saved through memory, the archive is always
    named `archive`, and the run's hashes stay the same when the weights do."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(target) as path:
        path.write_bytes(buffer.getvalue())
    return Path(target)


# --- Region k-fold training (chapters 08 and 09): every region forecast by a model that never saw it -

def region_folds(arpnums: np.ndarray, k: int, seed: int) -> dict[int, int]:
    """Each region's fold (0 .. k-1), a function of the seed."""
    regions = rng_for(seed, "folds").permutation(np.unique(arpnums))
    return {int(r): i % k for i, r in enumerate(regions)}


@dataclass(frozen=True)
class FoldDraws:
    """The purposes of the three seeded draws of one fold's training, so that each caller keeps its
    own streams: which regions validate, and the undersampling of the training and validation sets."""

    val_regions: str
    train: str
    val: str


@dataclass
class FoldFit:
    """A model trained for one fold, with what it was trained and validated on."""

    model: nn.Module
    scaler: Any  # flarelib.datasets.Standardizer
    fold: int
    train: pd.DataFrame  # the balanced training windows
    val: pd.DataFrame  # every validation window of the fold (labelled or not)
    n_train: int
    train_rate: float  # event rate of the fold's own training windows before balancing (its climatology)


def train_held_out(model_name: str, windows: pd.DataFrame, folds: dict[int, int], fold: int, *,
                   settings: TrainSettings, draws: FoldDraws, scaler_for: Callable[[pd.DataFrame], Any],
                   inputs: Callable[[pd.DataFrame, Any], torch.Tensor], image_size: int,
                   extra_train: pd.DataFrame | None = None) -> FoldFit:
    """Train a model on every fold but `fold`: a fifth of those regions (at least one) validate, the
    rest train; both are balanced by the study's undersampling.

    Parameters
    ----------
    model_name : "LSTM" or "CNN".
    windows : the windows of the regions in `folds`, with `ARPNUM`, a boolean-able `label` and, when
        some have no label, a boolean `labelled` column (only labelled windows train or validate).
    folds, fold : each region's fold, and the fold held out.
    settings : how to train (its seed drives the draws).
    draws : the purposes of the seeded draws (each caller keeps its own).
    scaler_for : the standardization, fitted on the balanced training windows.
    inputs : the model's input tensor for some windows and the standardization.
    image_size : the CNN's input size.
    extra_train : windows that always train (the other instrument's, for a fused dataset).
    """
    from flarelib.datasets import undersample

    labelled = windows.labelled if "labelled" in windows else pd.Series(True, index=windows.index)
    rest = windows[windows.ARPNUM.map(folds) != fold]
    regions = rng_for(settings.seed, draws.val_regions, fold).permutation(np.unique(rest.ARPNUM))
    in_val = rest.ARPNUM.isin(set(regions[: max(1, len(regions) // 5)]))
    train = rest[~in_val & labelled[rest.index]]
    train_rate = float(train.label.astype(bool).mean())
    if extra_train is not None:
        train = pd.concat([train, extra_train])
    val = rest[in_val]
    train = undersample(train.assign(label=train.label.astype(bool)), rng_for(settings.seed, draws.train, fold))
    val_labelled = val[labelled[val.index]]
    val_balanced = undersample(val_labelled.assign(label=val_labelled.label.astype(bool)), rng_for(settings.seed, draws.val, fold))
    scaler = scaler_for(train)
    as_tensors = lambda rows: (inputs(rows, scaler), torch.as_tensor(rows.label.astype(bool).to_numpy().astype(int)))
    result = fit(model_name, as_tensors(train), as_tensors(val_balanced), settings, image_size)
    return FoldFit(result.model.eval(), scaler, fold, train, val, len(train), train_rate)
