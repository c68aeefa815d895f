"""Benchmark: the seeds of one (dataset, model) trained together against one at a time, in one run.

LSTM: K members, each with its own data, trained for a fixed number of epochs by
`flarelib.ensemble.fit_members` and by `flarelib.training.fit` one after another (the sweep's way
today); prints both times, their ratio and the largest difference of a member's validation
probabilities between the two (the equivalence the tests assert).
CNN: the arithmetic of one training step of K members, a loop of K models against torch.func's
`vmap` over their stacked weights (batch statistics only), at two image sizes.
Single-threaded, as each sweep worker is.

    .venv/bin/python benchmarks/ensemble.py [members] [windows_per_member]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_, stack_module_state, vmap

from flarelib.compendium.cost import mean_seconds
from flarelib.ensemble import Member, fit_members
from flarelib.models import build_model
from flarelib.training import TrainSettings, device, fit, predict

EPOCHS = 3


def lstm_data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, 4, generator=g)
    return x, (x[:, -1, 0] + 0.5 * torch.randn(n, generator=g) > 0).long()


def lstm(members: int, n: int) -> None:
    group = [Member(lstm_data(100 + k, n), lstm_data(200 + k, n // 4),
                    TrainSettings(max_epochs=EPOCHS, patience=EPOCHS + 1, seed=k)) for k in range(members)]
    began = time.perf_counter()
    together = fit_members(group)
    t_together = time.perf_counter() - began
    began = time.perf_counter()
    alone = [fit("LSTM", m.train, m.val, m.settings) for m in group]
    t_alone = time.perf_counter() - began
    gap = max(float(np.abs(predict(a.model, m.val[0]) - predict(b.model, m.val[0])).max())
              for a, b, m in zip(together, alone, group))
    print(f"LSTM, {members} members x {n} windows x {EPOCHS} epochs on {device()}: together {t_together:.1f} s, "
          f"one at a time {t_alone:.1f} s, ratio {t_together / t_alone:.2f}; largest probability difference {gap:.1e}")


def cnn_step_seconds(members: int, size: int, repeats: int = 3) -> tuple[float, float]:
    models = [build_model("CNN", size) for _ in range(members)]
    x, y = torch.randn(members, 64, size, size), torch.randint(0, 2, (members, 64))
    loss_fn = nn.CrossEntropyLoss()

    def loop() -> None:
        for k, model in enumerate(models):
            loss_fn(model(x[k]), y[k]).backward()

    base = build_model("CNN", size)
    base.channels_last = False  # vmap cannot query a channels-last layout; the parameters are the stacked ones
    replace_all_batch_norm_modules_(base)
    params, buffers = stack_module_state(models)
    call = lambda p, b, xs: functional_call(base, (p, b), (xs,))

    def batched() -> None:
        logits = vmap(call, randomness="different")(params, buffers, x)
        loss_fn(logits.reshape(-1, 2), y.reshape(-1)).backward()

    return mean_seconds(loop, repeats), mean_seconds(batched, repeats)


def main() -> None:
    torch.set_num_threads(1)
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    lstm(members, n)
    for size in (32, 128):
        loop, batched = cnn_step_seconds(3, size)
        print(f"CNN, 3 members, one step of 64 images of {size}px: loop {loop * 1000:.0f} ms, vmap {batched * 1000:.0f} ms, "
              f"ratio {batched / loop:.2f}")


if __name__ == "__main__":
    main()
