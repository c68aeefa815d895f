"""The two base learners of the study (Section 3.1).

LSTM: two stacked layers of 64 hidden units read the keyword sequence; the last output goes to a
linear layer with two outputs. CNN after Li et al. (2020) as the study's authors implemented it:
five convolutions of 64 channels (11x11, 11x11, 3x3, 3x3, 3x3, 'same' padding), each followed by
batch normalisation, ReLU and 2x2 max-pooling; then linear layers of 128 and 64 units, each
followed by batch normalisation and dropout 0.5 (no ReLU on linear layers), and a linear layer with
two outputs. Both return logits; softmax gives the probabilities.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMClassifier(nn.Module):
    def __init__(self, n_features: int = 4, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, steps, features)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class CNNLi2020(nn.Module):
    def __init__(self, image_size: int = 128, channels: int = 64, kernels: tuple[int, ...] = (11, 11, 3, 3, 3),
                 hidden: tuple[int, ...] = (128, 64), dropout: float = 0.5, channels_last: bool = True):
        super().__init__()
        self.channels_last = channels_last  # a fifth faster on a CPU (benchmarks/teaching_world.py); vmap needs False
        layers: list[nn.Module] = []
        previous = 1
        for kernel in kernels:
            layers += [nn.Conv2d(previous, channels, kernel, padding=kernel // 2), nn.BatchNorm2d(channels),
                       nn.ReLU(), nn.MaxPool2d(2)]
            previous = channels
        self.features = nn.Sequential(*layers)
        side = image_size // 2 ** len(kernels)
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for {len(kernels)} poolings (at least {2 ** len(kernels)})")
        previous = channels * side * side
        linear: list[nn.Module] = []
        for width in hidden:
            linear += [nn.Linear(previous, width), nn.BatchNorm1d(width), nn.Dropout(dropout)]
            previous = width
        linear.append(nn.Linear(previous, 2))
        self.classifier = nn.Sequential(*linear)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, 1, size, size) or (batch, size, size)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        features = self.features(x.contiguous(memory_format=torch.channels_last) if self.channels_last else x)
        return self.classifier(torch.flatten(features.contiguous(), 1))


LSTM_VARIANTS = {  # the hole audit (chapter 07): what the LSTM makes of the filled steps
    "LSTM_MASK": "the LSTM told which steps were filled (a fifth input: 1 on a filled step)",
    "LSTM_COMPLETE": "the LSTM trained, validated and tested on windows with no filled step only",
}


def build_model(name: str, image_size: int = 128, cnn_channels: int = 64) -> nn.Module:
    """The study's LSTM (or one of its `LSTM_VARIANTS`), or the CNN of Li et al. (2020) for
    `image_size` inputs with `cnn_channels` filters per convolution (64 as published; fewer make a
    cheaper CNN of the same shape)."""
    if name in ("LSTM", "LSTM_COMPLETE"):
        return LSTMClassifier()
    if name == "LSTM_MASK":
        return LSTMClassifier(n_features=5)
    if name == "CNN":
        return CNNLi2020(image_size, channels=cnn_channels)
    raise ValueError(f"unknown model {name!r}; expected LSTM, CNN or one of {sorted(LSTM_VARIANTS)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def size_sentence(image_size: int, cnn_channels: int) -> str:
    """The CNN's trainable parameters beside the LSTM's, in words computed from the two networks."""
    cnn, lstm = (count_parameters(build_model(name, image_size, cnn_channels)) for name in ("CNN", "LSTM"))
    ratio = cnn / lstm
    size = ("about the same size" if 0.8 <= ratio <= 1.25 else f"{ratio:.1f} times the LSTM's" if ratio > 1
            else f"{1 / ratio:.1f} times fewer than the LSTM's")
    return (f"The CNN ({image_size} px, {cnn_channels} filters a convolution) has {cnn:,} trainable parameters and the "
            f"LSTM {lstm:,}: {size}.")
