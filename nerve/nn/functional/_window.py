"""Sliding windows over the spatial dims of (N, C, H, W) arrays: the shared machinery of
convolution and pooling.

A window op reads its input through a strided view (no copy) with one axis per output pixel and
one per kernel offset. Arrays here are *logically* (N, C, H, W) but may be *physically* stored in
another order (channels-last after a convolution, say): every helper works on any strides and
allocates new arrays in the same physical order as its model, so a chain conv -> relu -> pool
never pays for a transpose it does not need.

Sizes follow PyTorch: with padding p (before) + q (after), dilation d, kernel k, stride s,

    out = floor((in + p + q - d (k - 1) - 1) / s) + 1
"""

from __future__ import annotations

import numpy as np

from nerve.device import array_module


def physical_order(a) -> list[int]:
    """The axes of ``a`` from the slowest-varying in memory to the fastest."""
    return sorted(range(a.ndim), key=lambda i: (-abs(a.strides[i]), i))


def same_layout(x, order) -> bool:
    """Whether ``x`` is stored in axis ``order`` (axes of size 1 do not count)."""
    mine = [a for a in physical_order(x) if x.shape[a] > 1]
    return mine == [a for a in order if x.shape[a] > 1]


def alloc(shape, dtype, xp, order, fill=None):
    """A new array of logical ``shape`` stored physically in axis ``order`` (as from
    :func:`physical_order`), filled with ``fill`` (uninitialized when None)."""
    phys = [shape[i] for i in order]
    data = xp.empty(phys, dtype) if fill is None else xp.full(phys, fill, dtype)
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return data.transpose(inverse)


def pad2d(x, pads, fill, order=None):
    """``x`` (N, C, H, W) padded by ``pads`` = (top, bottom, left, right) with ``fill``, stored
    in physical ``order`` (default: that of ``x``). Returns ``x`` when there is nothing to do."""
    top, bottom, left, right = pads
    if order is None:
        order = physical_order(x)
    if not (top or bottom or left or right) and same_layout(x, order):
        return x
    n, c, h, w = x.shape
    out = alloc((n, c, h + top + bottom, w + left + right), x.dtype, array_module(x), order)
    if top or bottom or left or right:
        out[...] = fill
    out[:, :, top : top + h, left : left + w] = x
    return out


def out_size(size, pad_total, kernel, stride, dilation) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def offset_view(x, i, j, out_hw, stride, dilation):
    """The (..., OH, OW) view of padded ``x`` (..., H, W) that kernel offset (i, j) reads:
    x[..., d i + s y, d j + s x] for output pixel (y, x)."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    h0, w0 = i * dh, j * dw
    return x[..., h0 : h0 + sh * (oh - 1) + 1 : sh, w0 : w0 + sw * (ow - 1) + 1 : sw]


def windows(x, kernel, out_hw, stride, dilation):
    """A strided view (N, C, KH, KW, OH, OW) of padded ``x`` (N, C, H, W): no copy."""
    xp = array_module(x)
    sn, sc, sh, sw = x.strides
    shape = (x.shape[0], x.shape[1], kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)  # CuPy has no ``writeable``
