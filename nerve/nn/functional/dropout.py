"""Dropout (Srivastava et al., 2014): during training, zero each element with probability p and
scale the survivors by 1 / (1 - p), so the expected value is unchanged and evaluation needs no
rescaling.

    y = x * m / (1 - p),   m ~ Bernoulli(1 - p)

``dropout2d`` draws one m per channel (the whole feature map is kept or dropped), for
convolutional features whose neighbours are correlated (Tompson et al., 2015).
Masks come from ``nerve.random``'s default generator (or ``generator=``), so runs are
reproducible under ``nerve.manual_seed``.
"""

from __future__ import annotations

import numpy as np

from nerve.device import move
from nerve.random import _generator
from nerve.tensor import Tensor


def _check_p(p, op):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")


def _mask(x, shape, p, generator):
    """Bernoulli(1 - p) / (1 - p) of ``shape`` in x's dtype, on x's device."""
    dtype = x._data.dtype
    draw_dtype = np.float32 if dtype == np.float32 else np.float64
    keep = _generator(generator).np_rng.random(shape, dtype=draw_dtype) >= p
    mask = keep.astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return Tensor._wrap(move(mask, x.device))


def _apply(x, mask, inplace):
    if inplace:
        return x.mul_(mask)
    return x * mask


def dropout(x, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """x: any shape. Zero elements with probability ``p`` when ``training``; identity otherwise."""
    _check_p(p, "dropout")
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout: expected a Tensor, got {type(x).__name__}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _apply(x, Tensor._wrap(x._data * 0), inplace)
    return _apply(x, _mask(x, x._data.shape, p, generator), inplace)


def _channel_dropout(x, p, training, inplace, generator, spatial, op):
    _check_p(p, op)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{op}: expected a {spatial + 1}-D (C, *) or {spatial + 2}-D (N, C, *) input, "
            f"got shape {tuple(x.shape)}"
        )
    if not training or p == 0.0:
        return x
    # one draw per (n, c): shape (N, C, 1, 1) or (C, 1, 1)
    shape = x._data.shape[: x.ndim - spatial] + (1,) * spatial
    if p == 1.0:
        return _apply(x, Tensor._wrap(x._data * 0), inplace)
    return _apply(x, _mask(x, shape, p, generator), inplace)


def dropout1d(x, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """x: (N, C, L) or (C, L); whole channels are zeroed."""
    return _channel_dropout(x, p, training, inplace, generator, 1, "dropout1d")


def dropout2d(x, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """x: (N, C, H, W) or (C, H, W); whole feature maps are zeroed."""
    return _channel_dropout(x, p, training, inplace, generator, 2, "dropout2d")


def dropout3d(x, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """x: (N, C, D, H, W) or (C, D, H, W); whole volumes are zeroed."""
    return _channel_dropout(x, p, training, inplace, generator, 3, "dropout3d")


__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]
