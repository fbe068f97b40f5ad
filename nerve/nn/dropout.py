"""Dropout layers: active in ``train()`` mode, the identity in ``eval()`` mode."""

from __future__ import annotations

from nerve.nn.functional.dropout import dropout, dropout1d, dropout2d, dropout3d
from nerve.nn.module import Module


class _DropoutNd(Module):
    _fn = staticmethod(dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.inplace = inplace
        self.generator = generator

    def forward(self, x):
        try:
            return self._fn(x, self.p, self.training, self.inplace, self.generator)
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: {err}") from None

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element, in training; y = x in eval.

    x: any shape. ``generator`` (optional) overrides the default generator.

        >>> drop = nn.Dropout(0.1)
    """

    _fn = staticmethod(dropout)


class Dropout1d(_DropoutNd):
    """Zeroes whole channels: x: (N, C, L) or (C, L), one Bernoulli draw per channel."""

    _fn = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Zeroes whole feature maps: x: (N, C, H, W) or (C, H, W), one draw per channel."""

    _fn = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Zeroes whole volumes: x: (N, C, D, H, W) or (C, D, H, W), one draw per channel."""

    _fn = staticmethod(dropout3d)
