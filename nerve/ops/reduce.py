"""Reductions: sum, mean, var/std, max/min, prod, logsumexp, norm, cumsum.

A reduction's backward broadcasts the output gradient back over the reduced dims (``_unreduce``).
max/min over a dim return ``(values, indices)``; the values are a ``gather`` at the indices, so the
gradient goes to the chosen element. Full max/min (and amax/amin) share the gradient among ties.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from nerve import _dtype
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _enabled
from nerve.device import array_module
from nerve.tensor import Tensor

values_indices = namedtuple("values_indices", ["values", "indices"])


def _dims(dim, ndim, op):
    """Normalize ``dim`` (None, int, or a sequence) to a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) == 0:
        return tuple(range(ndim))
    out = []
    bound = builtins.max(ndim, 1)
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        if not -bound <= d < bound:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % bound)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim!r} names a dimension twice")
    return tuple(sorted(a for a in out if a < ndim)) if ndim else ()


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _unreduce(grad, in_shape, axes, keepdim):
    """Broadcast a reduction's gradient back to the input shape."""
    if not keepdim:
        grad = grad.reshape(_keep_shape(in_shape, axes))
    return grad.expand(*in_shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.meta = (x._data.shape, axes, keepdim)
        return x._data.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _unreduce(grad, *ctx.meta), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.meta = (x._data.shape, axes, keepdim)
        return x._data.mean(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, axes, _ = ctx.meta
        return _unreduce(grad / builtins.max(_count(shape, axes), 1), *ctx.meta), None, None


class Amax(Function):
    """max over ``axes``; ties share the gradient equally."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest):
        xp = array_module(x._data)
        out = (xp.max if largest else xp.min)(x._data, axis=axes, keepdims=True)
        ctx.save_for_backward(x)
        ctx.meta = (axes, keepdim)
        ctx.kept = out
        return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        mask = x._data == ctx.kept
        weight = mask / mask.sum(axis=axes, keepdims=True)
        grad = _unreduce(grad, x._data.shape, axes, keepdim)
        return grad * Tensor._wrap(weight.astype(x._data.dtype)), None, None, None


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.save_for_backward(x)
        ctx.meta = (axes, keepdim)
        out = x._data.prod(axis=axes, keepdims=True)
        ctx.kept = out
        return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        grad = _unreduce(grad, x._data.shape, axes, keepdim)
        xd = x._data
        if (xd != 0).all():
            # d/dx_i prod = prod / x_i
            return grad * x.prod(axes, keepdim=True) / x, None, None
        # NOTE: with zeros, prod / x_i is 0/0; use the product of the others instead.
        return grad * _product_of_others(x, axes), None, None


def _product_of_others(x, axes):
    """others[i] = prod_{j != i} x[j] over the reduced ``axes`` (no division, so zeros are fine).

    With no graph to record: exclusive products from both sides (cumprod). Otherwise, so that the
    result differentiates again, the product of an (n, n) matrix whose row i is x with x_i -> 1.
    """
    from nerve.ops.elementwise import where

    xd = x._data
    xp = array_module(xd)
    rest = [i for i in range(xd.ndim) if i not in axes]
    order = rest + list(axes)
    inverse = np.argsort(order).tolist()
    lead = [xd.shape[i] for i in rest]
    n = _count(xd.shape, axes)
    if not (_enabled[0] and x.requires_grad):
        flat = xp.transpose(xd, order).reshape(lead + [n])
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=xd.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], -1), -1), -1), -1)
        others = (left * right).reshape([xd.shape[i] for i in order])
        return Tensor._wrap(xp.transpose(others, inverse))
    flat = x.permute(*order).reshape(lead + [1, n])  # (..., 1, n)
    diagonal = Tensor._wrap(xp.eye(n, dtype=bool))  # (n, n)
    others = where(diagonal, 1.0, flat).prod(-1)  # (..., n)
    return others.reshape([xd.shape[i] for i in order]).permute(*inverse)


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return array_module(x._data).cumsum(x._data, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis), None


class Norm2(Function):
    """sqrt(sum x^2) over ``axes``; the gradient x / norm is taken as 0 where the norm is 0."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xd = x._data
        out = array_module(xd).sqrt((xd * xd).sum(axis=axes, keepdims=keepdim))
        ctx.save_for_backward(x)
        ctx.meta = (axes, keepdim)
        ctx.save_output()
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        norm = ctx.output
        safe = where_zero(norm)
        scale = _unreduce(grad / safe, x._data.shape, axes, keepdim)
        return x * scale, None, None


def where_zero(norm):
    from nerve.ops.elementwise import where

    return where(norm == 0, float("inf"), norm)


# ---------------------------------------------------------------------------- public functions
def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def sum(x, dim=None, keepdim=False, dtype=None):
    _check(x, "sum")
    axes = _dims(dim, x._data.ndim, "sum")
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "bui":
        x = x.to(_dtype.int64)
    return Sum.apply(x, axes, keepdim)


def mean(x, dim=None, keepdim=False, dtype=None):
    _check(x, "mean")
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"mean: expected a floating point tensor, got {x.dtype}; use .float() or dtype="
        )
    return Mean.apply(x, _dims(dim, x._data.ndim, "mean"), keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance: sum((x - mean)^2) / (N - correction); correction 1 (unbiased) by default."""
    _check(x, "var")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = _dims(dim, x._data.ndim, "var")
    n = _count(x._data.shape, axes)
    centered = x - x.mean(axes, keepdim=True)
    return (centered * centered).sum(axes, keepdim=keepdim) / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def amax(x, dim=None, keepdim=False):
    _check(x, "amax")
    return _extreme(x, dim, keepdim, True, "amax")


def amin(x, dim=None, keepdim=False):
    _check(x, "amin")
    return _extreme(x, dim, keepdim, False, "amin")


def _extreme(x, dim, keepdim, largest, op):
    axes = _dims(dim, x._data.ndim, op)
    if x._data.size == 0 and builtins.any(x._data.shape[a] == 0 for a in axes):
        raise RuntimeError(f"{op}: cannot reduce over a dimension of size 0")
    return Amax.apply(x, axes, keepdim, largest)


def max(x, dim=None, keepdim=False):
    """``max(x)``: the largest value. ``max(x, dim)``: ``(values, indices)`` along ``dim``.
    ``max(a, b)`` with a tensor ``b`` is the elementwise maximum."""
    if isinstance(dim, Tensor):
        from nerve.ops.elementwise import maximum

        return maximum(x, dim)
    return _max_min(x, dim, keepdim, True, "max")


def min(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        from nerve.ops.elementwise import minimum

        return minimum(x, dim)
    return _max_min(x, dim, keepdim, False, "min")


def _max_min(x, dim, keepdim, largest, op):
    _check(x, op)
    if dim is None:
        return _extreme(x, None, False, largest, op)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    (axis,) = _dims(dim, x._data.ndim, op) or (0,)
    indices = (argmax if largest else argmin)(x, axis, keepdim=True)
    values = x.gather(axis, indices) if x._data.ndim else x
    if not keepdim and x._data.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return values_indices(values, indices)


def argmax(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmin")


def _arg(x, dim, keepdim, op):
    _check(x, op)
    xp = array_module(x._data)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        out = fn(x._data.reshape(-1))
        return Tensor._wrap(xp.asarray(out, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    (axis,) = _dims(dim, x._data.ndim, op) or (0,)
    if x._data.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    return Tensor._wrap(fn(x._data, axis=axis, keepdims=keepdim).astype(np.int64))


def prod(x, dim=None, keepdim=False):
    _check(x, "prod")
    return Prod.apply(x, _dims(dim, x._data.ndim, "prod"), keepdim)


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, shifted by the max so it never overflows."""
    _check(x, "logsumexp")
    axes = _dims(dim, x._data.ndim, "logsumexp")
    xp = array_module(x._data)
    shift = x._data.max(axis=axes, keepdims=True) if x._data.size else xp.zeros(())
    shift = xp.where(xp.isfinite(shift), shift, 0)
    shift_t = Tensor._wrap(shift)
    out = (x - shift_t).exp().sum(axes, keepdim=True).log() + shift_t
    return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])


def norm(x, p="fro", dim=None, keepdim=False):
    """Vector p-norm over ``dim`` (all elements by default): p = 2/'fro', 1, inf, -inf or any
    positive number."""
    _check(x, "norm")
    axes = _dims(dim, x._data.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, axes, keepdim)
    if p == 1:
        return x.abs().sum(axes, keepdim=keepdim)
    if p == float("inf"):
        return x.abs().amax(axes, keepdim=keepdim)
    if p == float("-inf"):
        return x.abs().amin(axes, keepdim=keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return (x.abs() ** p).sum(axes, keepdim=keepdim) ** (1.0 / p)
    raise ValueError(f"norm: p must be 'fro', inf, -inf or a positive number, got {p!r}")


def cumsum(x, dim):
    _check(x, "cumsum")
    (axis,) = _dims(dim, x._data.ndim, "cumsum") or (0,)
    if x._data.dtype.kind in "bui":
        x = x.to(_dtype.int64)
    if x._data.ndim == 0:
        return x.clone()
    return Cumsum.apply(x, axis)


def all(x, dim=None, keepdim=False):
    axes = _dims(dim, x._data.ndim, "all")
    return Tensor._wrap(array_module(x._data).all(x._data, axis=axes, keepdims=keepdim))


def any(x, dim=None, keepdim=False):
    axes = _dims(dim, x._data.ndim, "any")
    return Tensor._wrap(array_module(x._data).any(x._data, axis=axes, keepdims=keepdim))
