"""Vanishing and exploding gradients, and the three fixes that made deep networks trainable.

Backprop multiplies one Jacobian per layer: dL/dh_(l-1) = W_l^T (act'(z_l) * dL/dh_l). With
sigmoid units act' <= 1/4, so with small weights the signal shrinks by a roughly constant factor
per layer and the first layers of a deep network get gradients many orders of magnitude smaller
than the last (Hochreiter, 1991; Bengio, Simard and Frasconi, 1994; Glorot and Bengio, 2010).
With weights too large for ReLU units it grows instead, by about sqrt(width * var(W) / 2) per
layer. The fixes measured here:

- He initialization (He et al., 2015): ReLU with var(W) = 2 / fan_in keeps that factor near 1;
- residual connections (He et al., 2016): h_l = h_(l-1) + f(h_(l-1)), so dL/dh_(l-1) contains
  dL/dh_l unchanged (an identity path through every block);
- batch normalization (Ioffe and Szegedy, 2015): standardizing each unit's input keeps the
  sigmoid out of saturation and undoes the weight scale.

``gradient_norms(kind)`` builds a deep network of one kind in ``nerve.nn`` (float64), runs one
batch of random data through it with a mean-squared-error loss, and returns |dL/dW_l| for every
hidden layer l. The "naive" initialization is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the classic
heuristic (and the default of torch.nn.Linear).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import nerve
from nerve import nn

KINDS: dict[str, str] = {
    "sigmoid": "sigmoid, naive init",
    "relu-large": "ReLU, N(0, 1) init",
    "relu-he": "ReLU, He init",
    "residual": "sigmoid, naive init, residual blocks",
    "batchnorm": "sigmoid, naive init, batch norm",
}


class ResidualBlock(nn.Module):
    """h + linear2(act(linear1(h))): the identity path carries the gradient through unchanged."""

    def __init__(self, linear1: nn.Linear, activation: nn.Module, linear2: nn.Linear):
        super().__init__()
        self.linear1, self.act, self.linear2 = linear1, activation, linear2

    def forward(self, h):
        return h + self.linear2(self.act(self.linear1(h)))


class DeepNetwork(nn.Module):
    """input Linear -> ``depth`` hidden blocks -> output Linear. x: (N, in_features) -> (N, 1)."""

    def __init__(self, input_layer: nn.Linear, blocks: list, output_layer: nn.Linear):
        super().__init__()
        self.input = input_layer
        self.blocks = nn.ModuleList(blocks)
        self.output = output_layer

    def forward(self, x):
        h = self.input(x)
        for block in self.blocks:
            h = block(h)
        return self.output(h)

    def hidden_weights(self) -> list:
        """The first weight matrix of each hidden block, input side first."""
        return [
            b.linear1.weight if isinstance(b, ResidualBlock) else b[0].weight for b in self.blocks
        ]


def build_network(kind: str, depth: int, width: int, in_features: int, generator) -> DeepNetwork:
    """A float64 DeepNetwork of the given kind (see KINDS), initialized from generator."""

    def linear(fan_in: int, fan_out: int) -> nn.Linear:
        layer = nn.Linear(fan_in, fan_out).double()
        if kind == "relu-large":
            nn.init.normal_(layer.weight, 0.0, 1.0, generator=generator)
        elif kind == "relu-he":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
        else:
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
        nn.init.zeros_(layer.bias)
        return layer

    activation = nn.ReLU if kind.startswith("relu") else nn.Sigmoid
    blocks = []
    for _ in range(depth):
        if kind == "residual":
            blocks.append(ResidualBlock(linear(width, width), activation(), linear(width, width)))
        elif kind == "batchnorm":
            norm = nn.BatchNorm1d(width).double()
            blocks.append(nn.Sequential(linear(width, width), norm, activation()))
        else:
            blocks.append(nn.Sequential(linear(width, width), activation()))
    return DeepNetwork(linear(in_features, width), blocks, linear(width, 1))


@dataclass
class GradientReport:
    """norms: (depth,) |dL/dW_l| of each hidden layer, l = 1 first. loss: the loss value."""

    kind: str
    norms: np.ndarray
    loss: float

    @property
    def ratio(self) -> float:
        """|dL/dW_1| / |dL/dW_depth|: how much weaker the first layer's gradient is."""
        return float(self.norms[0] / self.norms[-1])


def gradient_norms(
    kind: str,
    depth: int = 20,
    width: int = 64,
    batch_size: int = 128,
    in_features: int = 16,
    seed: int = 0,
) -> GradientReport:
    """Per-layer gradient norms of one deep network of the given kind on one random batch.

    kind: one of KINDS. x: (batch_size, in_features) and targets (batch_size, 1) are standard
    normal draws; loss = mean squared error. Everything is float64 so that the exploding case
    stays finite.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if not isinstance(depth, int) or depth < 2:
        raise ValueError(f"depth must be an int >= 2, got {depth!r}")
    generator = nerve.Generator().manual_seed(seed)
    model = build_network(kind, depth, width, in_features, generator)
    data = np.random.default_rng(seed)
    x = nerve.tensor(data.standard_normal((batch_size, in_features)))
    y = nerve.tensor(data.standard_normal((batch_size, 1)))
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    norms = np.array([float(nerve.norm(w.grad)) for w in model.hidden_weights()])
    return GradientReport(kind=kind, norms=norms, loss=float(loss))
