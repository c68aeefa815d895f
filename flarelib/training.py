"""Training as in the study (Section 3.1): Adam, learning rate 1e-3, batch 64, cross-entropy; the
validation TSS after every epoch drives early stopping (patience 5 for the LSTM, 10 for the CNN,
at most 20 epochs) and the best epoch's weights are kept. Seeded and deterministic on a CPU; a GPU
is used when there is one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from sklearn.metrics import log_loss

from flarelib.metrics import contingency, tss
from flarelib.models import build_model


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Same seed, same numbers: seeds torch and asks for deterministic kernels."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class TrainSettings:
    max_epochs: int = 20
    patience: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0


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
    x = ds["sequence"].values[rows] if model_name == "LSTM" else ds["image"].values[rows]
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(ds["label"].values[rows], dtype=torch.long)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Probability of the positive class."""
    model.eval()
    where = next(model.parameters()).device
    out = [torch.softmax(model(x[i:i + batch_size].to(where)), dim=1)[:, 1].cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.empty(0, dtype=np.float32)


def _epoch(model, loader, optimiser, loss_fn, where, bar) -> float:
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(where), y.to(where)
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(y)
        count += len(y)
        bar.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


def fit(model_name: str, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
        settings: TrainSettings, image_size: int = 128, init_state: dict | None = None) -> TrainResult:
    """Train with early stopping on validation TSS; return the best epoch's model and the history.
    `init_state` starts from trained weights instead of random ones (fine-tuning)."""
    generator = seed_everything(settings.seed)
    where = device()
    model = build_model(model_name, image_size)
    if init_state is not None:
        model.load_state_dict(init_state)
    model = model.to(where)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    drop_last = len(train[1]) % settings.batch_size == 1  # batch norm cannot train on a batch of one
    loader = DataLoader(TensorDataset(*train), batch_size=settings.batch_size, shuffle=True, generator=generator,
                        drop_last=drop_last)
    rows, stopper = [], EarlyStopping(settings.patience)
    for epoch in range(1, settings.max_epochs + 1):
        with tqdm(total=0, desc=f"{model_name} epoch {epoch}", disable=None, leave=False) as bar:
            train_loss = _epoch(model, loader, optimiser, loss_fn, where, bar)
            prob = predict(model, val[0])
            val_loss = float(log_loss(val[1].numpy(), prob, labels=[0, 1])) if len(prob) else float("nan")
            val_tss = tss(contingency(val[1].numpy(), prob >= 0.5)) if len(prob) and val[1].unique().numel() == 2 else float("nan")
            bar.set_postfix(loss=f"{train_loss:.4f}", val_tss=f"{val_tss:.3f}")
        rows.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_tss": val_tss})
        if stopper.update(epoch, val_tss, val_loss, model.state_dict()):
            break
    model.load_state_dict(stopper.best_state)
    history = pd.DataFrame(rows)
    best_epoch = stopper.best_epoch
    return TrainResult(model, history, best_epoch, stopped_early=len(history) < settings.max_epochs)


def predictions_table(ds, split: str, prob: np.ndarray) -> pd.DataFrame:
    rows = ds["split"].values == split
    return pd.DataFrame({"split": split, "series": ds["series"].values[rows], "arpnum": ds["arpnum"].values[rows],
                         "t_end": ds["t_end"].values[rows], "label": ds["label"].values[rows], "prob": prob})


def train_and_predict(ds, model_name: str, settings: TrainSettings, folder: Path, image_size: int = 128) -> tuple[TrainResult, pd.DataFrame]:
    """Fit on a dataset file's training split, keep the best checkpoint, and write the training, validation and
    test probabilities (`predictions.csv`), the history and the checkpoint into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result = fit(model_name, model_inputs(ds, model_name, "train"), model_inputs(ds, model_name, "val"), settings, image_size)
    tables = [predictions_table(ds, split, predict(result.model, model_inputs(ds, model_name, split)[0])) for split in ("train", "val", "test")]
    predictions = pd.concat(tables, ignore_index=True)
    predictions.to_csv(folder / "predictions.csv", index=False)
    result.history.to_csv(folder / "history.csv", index=False)
    torch.save(result.model.state_dict(), folder / "checkpoint.pt")
    return result, predictions
