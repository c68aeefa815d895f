"""Benchmark: seconds per training epoch of flarelib.training.fit against a bare torch loop.

Same model, data, batch size and optimiser; ours adds the validation forecast and early-stopping
bookkeeping each epoch. Goal: within 1.2x of the bare loop. Prints one line per model, then one
for the batches: `training.index_loader` (index a batch from the tensors) against a `DataLoader`
over the tensors (collating 64 single windows per step), the same batches in the same order.

    .venv/bin/python benchmarks/train_epoch.py [image_size]
"""

from __future__ import annotations

import sys
import time

import torch
from torch import nn

from flarelib.models import build_model
from flarelib.training import TrainSettings, fit, predict

EPOCHS, N_TRAIN, N_VAL = 3, 512, 128


def bare_loop(name: str, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, image_size: int) -> float:
    torch.manual_seed(0)
    model = build_model(name, image_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    began = time.perf_counter()
    for _ in range(EPOCHS):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), 64):
            batch = order[i:i + 64]
            optimiser.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimiser.step()
        predict(model, xv)  # a forecast of the validation set, as any loop with early stopping makes
    return (time.perf_counter() - began) / EPOCHS


def batches_seconds(kind: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """One LSTM epoch with the batches drawn either way (same seed, same batches)."""
    from torch.utils.data import DataLoader, TensorDataset

    from flarelib.training import index_loader

    torch.manual_seed(0)
    model, loss_fn = build_model("LSTM"), nn.CrossEntropyLoss()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    if kind == "collate":
        steps = iter(DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=generator))
    else:
        steps = ((x[i], y[i]) for (i,) in index_loader(len(y), TrainSettings(), generator))
    began = time.perf_counter()
    for xb, yb in steps:
        optimiser.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimiser.step()
    return time.perf_counter() - began


def main() -> None:
    torch.set_num_threads(1)  # as a sweep worker trains; several threads on a busy machine only add noise
    image_size = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    for name, shape in (("LSTM", (16, 4)), ("CNN", (image_size, image_size))):
        x, y = torch.randn(N_TRAIN, *shape), torch.randint(0, 2, (N_TRAIN,))
        xv, yv = torch.randn(N_VAL, *shape), torch.randint(0, 2, (N_VAL,))
        bare = bare_loop(name, x, y, xv, image_size)
        began = time.perf_counter()
        fit(name, (x, y), (xv, yv), TrainSettings(max_epochs=EPOCHS, patience=EPOCHS + 1), image_size)
        ours = (time.perf_counter() - began) / EPOCHS
        print(f"{name:4s} ({N_TRAIN} samples{'' if name == 'LSTM' else f', {image_size}px'}): flarelib {ours:.3f} s/epoch, "
              f"bare torch {bare:.3f} s/epoch, ratio {ours / bare:.2f}")
    x, y = torch.randn(6000, 16, 4), torch.randint(0, 2, (6000,))
    best = {kind: min(batches_seconds(kind, x, y) for _ in range(3)) for kind in ("index", "collate")}
    print(f"LSTM epoch of 6000 windows: index batches {best['index']:.3f} s, collated DataLoader {best['collate']:.3f} s, "
          f"ratio {best['index'] / best['collate']:.2f}")


if __name__ == "__main__":
    main()
