"""Repeated experiments trained together: the LSTMs of one (dataset, model) sweep, one per seed, as
one stacked network on batched matrix products.

Each member keeps everything it has when trained alone (`flarelib.training.fit`): its seed's initial
weights, its own training and validation data, its own shuffling (the same index batches a seeded
`DataLoader` gives), its own Adam state, early stopping and best checkpoint. Only the arithmetic is
shared: a step multiplies every member's batch by its own weights in one `torch.bmm`, so the cost of
ten small LSTMs approaches that of one. torch.func's `vmap` cannot do this: `nn.LSTM` has no batching
rule. Members whose epoch has ended, or who stopped early, sit out the step (their weights and Adam
moments are left untouched), so a member's trajectory is the one it has alone, up to the order of
floating-point sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from flarelib.models import LSTMClassifier
from flarelib.training import EarlyStopping, TrainResult, TrainSettings, index_loader, seed_everything, validation_scores

GATES = 4  # nn.LSTM's gate order: input, forget, cell, output


class StackedLSTM(nn.Module):
    """K copies of `LSTMClassifier` with stacked weights: input (K, batch, steps, features), output
    logits (K, batch, 2). Parameter k of every tensor is member k's."""

    def __init__(self, members: list[LSTMClassifier]):
        super().__init__()
        first = members[0].lstm
        self.layers, self.hidden = first.num_layers, first.hidden_size
        stack = lambda get: nn.Parameter(torch.stack([get(m).detach().clone() for m in members]))
        for layer in range(self.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(self, f"{name}_l{layer}", stack(lambda m, n=f"{name}_l{layer}": getattr(m.lstm, n)))
        self.head_weight = stack(lambda m: m.head.weight)
        self.head_bias = stack(lambda m: m.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members, batch, steps, _ = x.shape
        out = x
        for layer in range(self.layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}")
            bias = (getattr(self, f"bias_ih_l{layer}") + getattr(self, f"bias_hh_l{layer}")).unsqueeze(1)
            projected = torch.bmm(out.reshape(members, batch * steps, -1), w_ih.transpose(1, 2)).view(members, batch, steps, -1)
            h = x.new_zeros(members, batch, self.hidden)
            c = x.new_zeros(members, batch, self.hidden)
            outputs = []
            for step in range(steps):
                gates = projected[:, :, step] + torch.baddbmm(bias, h, w_hh.transpose(1, 2))
                i, f, g, o = gates.chunk(GATES, dim=2)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            out = torch.stack(outputs, dim=2)
        return torch.baddbmm(self.head_bias.unsqueeze(1), out[:, :, -1], self.head_weight.transpose(1, 2))

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights as an `LSTMClassifier` state dict."""
        state = {f"lstm.{name}_l{layer}": getattr(self, f"{name}_l{layer}")[k].detach().clone()
                 for layer in range(self.layers) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        state.update({"head.weight": self.head_weight[k].detach().clone(), "head.bias": self.head_bias[k].detach().clone()})
        return state


class MaskedAdam:
    """Adam (torch.optim.Adam's defaults and arithmetic) on stacked parameters whose first axis is
    the member, stepping only the members marked active: each keeps its own step count."""

    def __init__(self, params: list[nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.steps = torch.zeros(params[0].shape[0], dtype=torch.float64)

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        self.steps += active.double()
        b1, b2 = self.betas
        correction1 = (1 - b1 ** self.steps).clamp(min=1e-300)
        correction2 = (1 - b2 ** self.steps).clamp(min=1e-300)
        step_size = (self.lr / correction1).float()
        root2 = correction2.sqrt().float()
        for p, m, v in zip(self.params, self.m, self.v):
            shape = (-1,) + (1,) * (p.dim() - 1)
            on = active.view(shape)
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m.copy_(torch.where(on, m * b1 + g * (1 - b1), m))
            v.copy_(torch.where(on, v * b2 + g * g * (1 - b2), v))
            update = m / (v.sqrt() / root2.view(shape) + self.eps) * step_size.view(shape)
            p.copy_(torch.where(on, p - update, p))

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


@dataclass
class Member:
    """One member's data: (inputs, labels) for training and validation, and its settings."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    settings: TrainSettings


def _padded(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack tensors of different lengths along a new first axis, zero-padded to the longest."""
    longest = max(len(t) for t in tensors)
    out = tensors[0].new_zeros((len(tensors), longest) + tuple(tensors[0].shape[1:]))
    for k, t in enumerate(tensors):
        out[k, : len(t)] = t
    return out


@torch.no_grad()
def predict_members(model: StackedLSTM, inputs: list[torch.Tensor], batch_size: int = 256) -> list[np.ndarray]:
    """Each member's probability of the positive class on its own inputs."""
    x = _padded(inputs)
    chunks = [torch.softmax(model(x[:, i:i + batch_size]), dim=2)[:, :, 1] for i in range(0, x.shape[1], batch_size)]
    prob = torch.cat(chunks, dim=1) if chunks else x.new_zeros(len(inputs), 0)
    return [prob[k, : len(t)].numpy() for k, t in enumerate(inputs)]


def fit_members(members: list[Member], progress=None) -> list[TrainResult]:
    """Train every member's LSTM together; each result is what `training.fit("LSTM", ...)` returns
    for that member alone (best-epoch model, history, best epoch).

    `progress(epoch, active)` is called after every epoch with the number of members still training.
    Members share the epochs, batch size and learning rate (a sweep's cells do); seeds and patience are their own."""
    shared = {(m.settings.max_epochs, m.settings.batch_size, m.settings.learning_rate) for m in members}
    if len(shared) > 1:
        raise ValueError(f"members trained together need the same epochs, batch size and learning rate; got {sorted(shared)}")
    nets, generators = [], []
    for member in members:  # as fit: seed, then the model's initial weights, then the loader's generator
        generators.append(seed_everything(member.settings.seed))
        nets.append(LSTMClassifier())
    model = StackedLSTM(nets)
    settings = members[0].settings
    optimiser = MaskedAdam(list(model.parameters()), lr=settings.learning_rate)
    train_x = _padded([m.train[0] for m in members])
    train_y = _padded([m.train[1] for m in members])
    loaders = [index_loader(len(m.train[1]), m.settings, g) for m, g in zip(members, generators)]
    stoppers = [EarlyStopping(m.settings.patience) for m in members]
    histories: list[list[dict]] = [[] for _ in members]
    training = np.ones(len(members), dtype=bool)
    for epoch in range(1, settings.max_epochs + 1):
        losses = _train_epoch(model, optimiser, train_x, train_y, loaders, training)
        probs = predict_members(model, [m.val[0] for m in members])
        for k in np.flatnonzero(training):
            val_loss, val_tss = validation_scores(members[k].val[1], probs[k])
            histories[k].append({"epoch": epoch, "train_loss": losses[k], "val_loss": val_loss, "val_tss": val_tss})
            if stoppers[k].update(epoch, val_tss, val_loss, model.member_state(k)) or epoch >= members[k].settings.max_epochs:
                training[k] = False
        if progress is not None:
            progress(epoch, int(training.sum()))
        if not training.any():
            break
    results = []
    for k, member in enumerate(members):
        net = LSTMClassifier()
        net.load_state_dict(stoppers[k].best_state)
        history = pd.DataFrame(histories[k])
        results.append(TrainResult(net.eval(), history, stoppers[k].best_epoch,
                                   stopped_early=len(history) < member.settings.max_epochs))
    return results


def _train_epoch(model: StackedLSTM, optimiser: MaskedAdam, x: torch.Tensor, y: torch.Tensor,
                 loaders: list[DataLoader], training: np.ndarray) -> list[float]:
    """One epoch of every training member, in lockstep: step s takes batch s of each member whose
    epoch still has one, padded to the batch size; a member without a batch sits the step out."""
    iterators = {k: iter(loaders[k]) for k in np.flatnonzero(training)}
    batch_size = max(loader.batch_size for loader in loaders)
    totals, counts = np.zeros(len(loaders)), np.zeros(len(loaders))
    loss_fn = nn.CrossEntropyLoss(reduction="none")
    rows = torch.arange(len(loaders)).unsqueeze(1)
    model.train()
    while iterators:
        index = torch.zeros(len(loaders), batch_size, dtype=torch.long)
        weight = torch.zeros(len(loaders), batch_size)
        for k in list(iterators):
            batch = next(iterators[k], None)
            if batch is None:
                del iterators[k]
                continue
            index[k, : len(batch[0])] = batch[0]
            weight[k, : len(batch[0])] = 1.0 / len(batch[0])
        if not iterators:
            break
        active = weight.sum(dim=1) > 0
        optimiser.zero_grad()
        logits = model(x[rows, index])
        per_member = (loss_fn(logits.reshape(-1, 2), y[rows, index].reshape(-1)).view(len(loaders), -1) * weight).sum(dim=1)
        per_member.sum().backward()  # members share no weights: each gets its own loss's gradient
        optimiser.step(active)
        sizes = (weight > 0).sum(dim=1).numpy()
        totals += per_member.detach().numpy() * sizes
        counts += sizes
    return list(totals / np.maximum(counts, 1))
