"""MLP: the multilayer perceptron, layers of neurons y = f(Wx + b).

    x (N, *in_shape) -> flatten -> [Linear -> (norm) -> act -> (dropout)] x depth -> Linear -> (N, out)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nerve import nn
from nerve.models.registry import register

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "silu": nn.SiLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


@dataclass
class MLPConfig:
    in_features: int
    out_features: int
    hidden: list[int] = field(default_factory=lambda: [128, 64])
    activation: str = "relu"
    norm: str | None = None  # None, "batch" or "layer"
    dropout: float = 0.0


class MLP(nn.Module):
    def __init__(self, config: MLPConfig):
        super().__init__()
        if config.activation not in ACTIVATIONS:
            raise ValueError(
                f"MLP: activation must be one of {sorted(ACTIVATIONS)}, got {config.activation!r}"
            )
        if config.norm not in (None, "batch", "layer"):
            raise ValueError(f"MLP: norm must be None, 'batch' or 'layer', got {config.norm!r}")
        self.config = config
        layers = [nn.Flatten()]
        width = config.in_features
        for h in config.hidden:
            layers.append(nn.Linear(width, h))
            if config.norm == "batch":
                layers.append(nn.BatchNorm1d(h))
            elif config.norm == "layer":
                layers.append(nn.LayerNorm(h))
            layers.append(ACTIVATIONS[config.activation]())
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = h
        layers.append(nn.Linear(width, config.out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x):  # x: (N, *) -> (N, out_features)
        return self.net(x)


@register("mlp", "multilayer perceptron (flattens its input)", inputs="any")
def build_mlp(in_shape, num_classes, hidden=(128, 64), activation="relu", norm=None, dropout=0.0):
    n_in = 1
    for s in in_shape:
        n_in *= s
    return MLP(MLPConfig(n_in, num_classes, list(hidden), activation, norm, dropout))
