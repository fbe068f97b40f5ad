"""Resizing: ``interpolate`` with modes 'nearest' (1-D and 2-D), 'linear' (1-D), 'bilinear' (2-D).

Each output index d along a dim of input size n and output size m reads a source position src:

    nearest:                    src = min(floor(d * scale), n - 1)
    linear, align_corners=True: src = d (n - 1) / (m - 1)
    linear, align_corners=False: src = max((d + 0.5) * scale - 0.5, 0)

with scale = 1 / scale_factor when a scale factor is given, else n / m (PyTorch's rules, computed
in the input's precision as PyTorch does). Linear modes blend the two neighbours floor(src) and
floor(src) + 1 with weights 1 - frac and frac. Both modes are separable, so a resize is a gather
(nearest) or a product with a small (m, n) interpolation matrix (linear) per dim; the gradients
come from those ops.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.device import array_module
from nerve.tensor import Tensor

_MODES = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}


def _source_scale(n, m, scale_factor, align_corners, dtype):
    if align_corners:
        return dtype.type((n - 1) / (m - 1)) if m > 1 else dtype.type(0)
    if scale_factor is not None:
        return dtype.type(1.0 / scale_factor)
    return dtype.type(n) / dtype.type(m)


def _nearest_index(n, m, scale_factor):
    scale = _source_scale(n, m, scale_factor, False, np.dtype(np.float32))
    src = np.floor(np.arange(m, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(src, n - 1)


def _linear_matrix(n, m, scale_factor, align_corners, dtype):
    """(m, n) matrix A with y = A x along one dim."""
    scale = _source_scale(n, m, scale_factor, align_corners, dtype)
    d = np.arange(m, dtype=dtype)
    if align_corners:
        src = d * scale
    else:
        src = np.maximum(scale * (d + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    low = src.astype(np.int64)
    high = low + (low < n - 1)
    frac = src - low.astype(dtype)
    a = np.zeros((m, n), dtype)
    rows = np.arange(m)
    np.add.at(a, (rows, low), 1 - frac)
    np.add.at(a, (rows, high), frac)
    return a


def _output_sizes(x, nd, size, scale_factor):
    sizes = tuple(x.shape[-nd:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = (size,) * nd if isinstance(size, int) else tuple(size)
        if len(out) != nd or any(not isinstance(s, int) or s <= 0 for s in out):
            raise ValueError(f"interpolate: size must be {nd} positive ints, got {size!r}")
        return sizes, out, (None,) * nd
    factors = (
        (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    )
    if len(factors) != nd or any(not isinstance(f, (int, float)) or f <= 0 for f in factors):
        raise ValueError(
            f"interpolate: scale_factor must be {nd} positive numbers, got {scale_factor!r}"
        )
    out = tuple(int(math.floor(n * f)) for n, f in zip(sizes, factors, strict=False))
    if any(o <= 0 for o in out):
        raise ValueError(f"interpolate: output size {out} is empty for input {sizes}")
    return sizes, out, tuple(float(f) for f in factors)


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize the last 1 or 2 dims of input (N, C, L) or (N, C, H, W) to ``size`` or by
    ``scale_factor``. Modes: 'nearest', 'linear' (3-D input), 'bilinear' (4-D input).

        >>> F.interpolate(nerve.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        nerve.Size([1, 3, 8, 8])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {tuple(_MODES)}, got {mode!r}")
    nd = input.ndim - 2
    if nd not in _MODES[mode]:
        want = " or ".join(f"{d + 2}-D" for d in _MODES[mode])
        raise ValueError(
            f"interpolate: mode {mode!r} expects a {want} input (N, C, ...), got shape "
            f"{tuple(input.shape)}"
        )
    if mode == "nearest" and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners can only be set with the linear modes (linear, bilinear)"
        )
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if input._data.dtype.kind != "f":
        raise TypeError(f"interpolate: expected a floating point input, got {input.dtype}")
    sizes, out, factors = _output_sizes(input, nd, size, scale_factor)
    if recompute_scale_factor:
        factors = (None,) * nd
    xp = array_module(input._data)
    y = input
    for k, (n, m, f) in enumerate(zip(sizes, out, factors, strict=False)):
        dim = input.ndim - nd + k
        if mode == "nearest":
            index = Tensor._wrap(xp.asarray(_nearest_index(n, m, f)))
            y = y.index_select(dim, index)
            continue
        a = _linear_matrix(n, m, f, bool(align_corners), input._data.dtype)
        if dim == input.ndim - 1:
            y = y @ Tensor._wrap(xp.asarray(a.T))  # (..., n) @ (n, m)
        else:
            y = Tensor._wrap(xp.asarray(a)) @ y  # (m, n) @ (..., n, W)
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]
