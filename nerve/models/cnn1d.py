"""A 1-D CNN for signals: the convolutional baseline of the MNIST-1D paper (Greydanus, 2020).

A 1-D convolution slides each filter along the signal,

    out[n, o, t] = b[o] + sum_{c, k} w[o, c, k] x[n, c, s t + k - p]      (stride s, padding p),

so a stroke of the digit is found wherever it sits, with the same few weights. Three strided
convolutions with ReLU, then a linear classifier on the flattened features; an output has
L_out = (L + 2p - k) // s + 1 samples. For MNIST-1D's 40-sample signals, 25 channels:

    x (N, 1, 40)
    -> conv k5/2 pad 1 -> ReLU    # (N, 25, 19)
    -> conv k3/2 pad 1 -> ReLU    # (N, 25, 10)
    -> conv k3/2 pad 1 -> ReLU    # (N, 25, 5)
    -> flatten -> linear          # (N, 125) -> (N, num_classes)    5,210 parameters

The paper reports ~94% test accuracy for it (MLP 68%, GRU 91%): a convolution's translation
equivariance suits digits that are shifted and scaled along the signal. ``dropout`` (before the
classifier) is an addition; with it and label smoothing this network reaches 95.5% here
(tests/models/test_cnn1d.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from nerve import nn
from nerve.models.registry import register


@dataclass
class CNN1dConfig:
    in_channels: int = 1
    length: int = 40  # samples per signal
    num_classes: int = 10
    channels: int = 25
    dropout: float = 0.0  # before the classifier


def _out_length(length, kernel, stride, padding):
    return (length + 2 * padding - kernel) // stride + 1


class CNN1d(nn.Module):
    def __init__(self, config: CNN1dConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.conv1 = nn.Conv1d(config.in_channels, c, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(c, c, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(c, c, 3, stride=2, padding=1)
        length = _out_length(config.length, 5, 2, 1)
        length = _out_length(_out_length(length, 3, 2, 1), 3, 2, 1)
        if length < 1:
            raise ValueError(f"CNN1d: length must be at least 4 samples, got {config.length}")
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(config.dropout)
        self.linear = nn.Linear(c * length, config.num_classes)

    def forward(self, x):  # x: (N, C, L), or (N, L) for one channel
        if x.ndim == 2:
            x = x.unsqueeze(1)  # (N, 1, L)
        x = self.relu(self.conv1(x))  # (N, c, L1)   L1 = (L - 3) // 2 + 1
        x = self.relu(self.conv2(x))  # (N, c, L2)   L2 = (L1 - 1) // 2 + 1
        x = self.relu(self.conv3(x))  # (N, c, L3)
        x = self.flatten(x)  # (N, c * L3)
        return self.linear(self.dropout(x))  # (N, num_classes) logits


@register("cnn1d", "1-D CNN for signals (the MNIST-1D paper's CNN)", inputs="sequence")
def build_cnn1d(in_shape, num_classes, channels=25, dropout=0.0):
    if len(in_shape) == 1:  # plain vectors (L,) are read as one-channel signals
        in_shape = (1, in_shape[0])
    if len(in_shape) != 2:
        raise ValueError(f"cnn1d expects signals (C, L) or (L,), got shape {tuple(in_shape)}")
    return CNN1d(CNN1dConfig(in_shape[0], in_shape[1], num_classes, channels, dropout))
