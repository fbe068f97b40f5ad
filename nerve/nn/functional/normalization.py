"""Normalization: batch_norm, layer_norm, group_norm (and instance_norm, rms_norm).

Each normalizes x over some axes and applies a per-feature affine map:

    x_hat = (x - mean) / sqrt(var + eps),    y = weight * x_hat + bias

with the biased variance var = mean((x - mean)^2). They differ only in the axes:
batch_norm (Ioffe & Szegedy, 2015) over (N, *spatial) per channel, layer_norm (Ba et al., 2016)
over the trailing ``normalized_shape`` per sample, group_norm (Wu & He, 2018) over channel
groups per sample.

All three run on one fused primitive, ``Normalize``: the forward is one pass over arrays and
the backward, when no second derivative is being recorded, is the closed form

    dx = rstd * (dxh - mean(dxh) - x_hat * mean(dxh * x_hat)),   dxh = dy * weight

(means over the normalized axes); when one is (``create_graph=True``), the same formula runs as
Tensor ops, so it differentiates again.
"""

from __future__ import annotations

import math

import numpy as np

from nerve import _kernels
from nerve.autograd import grad_mode
from nerve.autograd.function import Function
from nerve.device import array_module
from nerve.ops.shape import sum_to
from nerve.tensor import Tensor

_enabled = grad_mode._enabled


def _sum_to_array(arr, shape):
    """NumPy twin of ``sum_to``: sum a broadcast array down to ``shape``."""
    lead = arr.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and arr.shape[i + lead] != 1
    )
    out = arr.sum(axis=axes, keepdims=True) if axes else arr
    return out.reshape(shape)


def _sum_product(a, b, shape):
    """sum(a * b) reduced to ``shape`` (size-1 or missing leading dims are summed), as one einsum
    that makes no temporary a * b."""
    nd = a.ndim
    full = (1,) * (nd - len(shape)) + tuple(shape)
    letters = "abcdefghijklmnopqrstuvwxyz"[:nd]
    kept = "".join(c for c, s in zip(letters, full, strict=True) if s != 1)
    out = array_module(a).einsum(f"{letters},{letters}->{kept}", a, b)
    return out.reshape(shape)


class Normalize(Function):
    """y = (x - mean) * rstd * weight + bias, one primitive.

    ``mean`` and ``rstd`` are arrays shaped like x with the ``axes`` kept as size 1. With
    ``from_x`` they are x's own statistics over ``axes`` (training batch norm, layer norm, group
    norm) and the gradient flows through them; otherwise they are constants (batch norm in eval
    mode). ``weight``/``bias`` (or None) are viewed as ``param_shape``, which broadcasts against x.
    With ``mean`` None (layer norm on float32 rows, see ``layer_norm``) a compiled kernel computes
    the statistics and the output in one pass per row, and another the gradients.
    """

    _row_size = None  # D, when forward ran the row kernel on x viewed as (R, D)

    @staticmethod
    def forward(ctx, x, weight, bias, mean, rstd, axes, param_shape, from_x, eps, centered=None):
        if mean is None:
            return _layer_norm_rows(ctx, x, weight, bias, axes, param_shape, eps)
        # centered: x - mean when the caller already has it (an array this op may overwrite)
        xhat = x._data - mean if centered is None else centered
        xhat *= rstd
        if ctx.needs_input_grad:  # a graph is being recorded
            _save(ctx, x, weight, bias, xhat, rstd, mean, (axes, param_shape, from_x, eps))
        if weight is None:
            return xhat if bias is None else xhat + bias._data.reshape(param_shape)
        out = xhat * weight._data.reshape(param_shape)
        if bias is not None:
            out += bias._data.reshape(param_shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        axes, param_shape, from_x, eps = ctx.meta
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if not _enabled[0]:
            return _backward_arrays(ctx, grad._data, x, weight, need_x, need_w, need_b)
        return _backward_tensors(ctx, grad, x, weight, need_x, need_w, need_b)


def _layer_norm_rows(ctx, x, weight, bias, axes, param_shape, eps):
    """Normalize's forward for layer norm with the row kernel: x viewed as (R, D)."""
    data = x._data
    d = math.prod(param_shape)
    rows = data.size // d
    flat = data.reshape(rows, d)
    y, xhat = np.empty_like(flat), np.empty_like(flat)
    mean, rstd = np.empty(rows, data.dtype), np.empty(rows, data.dtype)
    _kernels.layer_norm_rows_forward(flat, _row_weight(weight, d), _row_bias(bias, d), eps, y,
                                     xhat, mean, rstd)
    if ctx.needs_input_grad:
        kept = data.shape[: data.ndim - len(param_shape)] + (1,) * len(param_shape)
        _save(ctx, x, weight, bias, xhat.reshape(data.shape), rstd.reshape(kept),
              mean.reshape(kept), (axes, param_shape, True, eps))
        ctx._row_size = d
    return y.reshape(data.shape)


def _save(ctx, x, weight, bias, xhat, rstd, mean, meta):
    """What Normalize's backward reads: x and weight (version-checked), x_hat, the statistics
    (shaped like x with the normalized axes kept as 1) and (axes, param_shape, from_x, eps)."""
    ctx.save_for_backward(x, weight)
    ctx.xhat, ctx.rstd, ctx.mean = xhat, rstd, mean
    ctx.meta = meta
    ctx.bias_shape = bias._data.shape if bias is not None else None


def _row_weight(weight, d):
    return weight._data.reshape(d) if weight is not None else np.ones(d, np.float32)


def _row_bias(bias, d):
    return bias._data.reshape(d) if bias is not None else np.zeros(d, np.float32)


def _backward_rows(ctx, g, weight, need_x, need_w, need_b):
    """The gradients of ``_layer_norm_rows`` with the row kernel."""
    d = ctx._row_size
    xhat = ctx.xhat
    rows = xhat.size // d
    dx = np.empty((rows, d), xhat.dtype)
    dw, db = np.zeros(d), np.zeros(d)  # float64 sums over the rows
    _kernels.layer_norm_rows_backward(
        np.ascontiguousarray(g).reshape(rows, d), xhat.reshape(rows, d), ctx.rstd.reshape(rows),
        _row_weight(weight, d), dx, dw, db,
    )
    dtype = xhat.dtype
    grad_x = Tensor._wrap(dx.reshape(xhat.shape)) if need_x else None
    grad_w = Tensor._wrap(dw.astype(dtype).reshape(weight._data.shape)) if need_w else None
    grad_b = Tensor._wrap(db.astype(dtype).reshape(ctx.bias_shape)) if need_b else None
    return grad_x, grad_w, grad_b, None, None, None, None, None, None, None


def _backward_arrays(ctx, g, x, weight, need_x, need_w, need_b):
    if ctx._row_size is not None and _kernels.usable(g):
        return _backward_rows(ctx, g, weight, need_x, need_w, need_b)
    axes, param_shape, from_x, _ = ctx.meta
    xhat, rstd = ctx.xhat, ctx.rstd
    grad_x = grad_w = grad_b = None
    if need_w:
        grad_w = Tensor._wrap(_sum_product(g, xhat, param_shape).reshape(weight._data.shape))
    if need_b:
        grad_b = Tensor._wrap(_sum_to_array(g, param_shape).reshape(ctx.bias_shape))
    if need_x:
        dxhat = g * weight._data.reshape(param_shape) if weight is not None else g
        if from_x:
            m1 = dxhat.mean(axis=axes, keepdims=True)
            m2 = _sum_product(dxhat, xhat, rstd.shape) / _count(xhat, axes)
            dx = xhat * m2
            dx += m1
            dx -= dxhat
            dx *= -rstd  # rstd * (dxhat - m1 - xhat * m2)
        else:
            dx = dxhat * rstd
        grad_x = Tensor._wrap(dx)
    return grad_x, grad_w, grad_b, None, None, None, None, None, None, None


def _backward_tensors(ctx, grad, x, weight, need_x, need_w, need_b):
    """The same formulas in Tensor ops, recomputing x_hat from x so that they differentiate."""
    axes, param_shape, from_x, eps = ctx.meta
    if from_x:
        centered = x - x.mean(axes, keepdim=True)
        rstd = ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
    else:
        centered = x - Tensor._wrap(ctx.mean)
        rstd = Tensor._wrap(ctx.rstd)
    xhat = centered * rstd
    grad_x = grad_w = grad_b = None
    if need_w:
        grad_w = sum_to(grad * xhat, param_shape).reshape(weight.shape)
    if need_b:
        grad_b = sum_to(grad, param_shape).reshape(ctx.bias_shape)
    if need_x:
        dxhat = grad * weight.reshape(param_shape) if weight is not None else grad
        if from_x:
            m1 = dxhat.mean(axes, keepdim=True)
            m2 = (dxhat * xhat).mean(axes, keepdim=True)
            dxhat = dxhat - m1 - xhat * m2
        grad_x = dxhat * rstd
    return grad_x, grad_w, grad_b, None, None, None, None, None, None, None


def _count(arr, axes):
    """How many entries each statistic is taken over (the product of the ``axes`` sizes)."""
    return math.prod(arr.shape[a] for a in axes)


def _stats(data, axes, eps):
    """mean, biased var and 1/sqrt(var + eps) over ``axes`` (kept as size 1), and x - mean."""
    xp = array_module(data)
    mean = data.mean(axis=axes, keepdims=True)
    centered = data - mean
    var = _sum_product(centered, centered, mean.shape) / _count(data, axes)
    rstd = 1.0 / xp.sqrt(var + eps)
    return mean, var, rstd.astype(data.dtype, copy=False), centered


def _check_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")


def _check_param(p, name, shape, op):
    if p is not None and tuple(p.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(p.shape)}")


# ---------------------------------------------------------------------------- layer norm
def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the trailing dims ``normalized_shape`` of each sample.

    x: (*, *normalized_shape); weight, bias: normalized_shape (or None).
    """
    _check_input(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x._data.shape[x._data.ndim - k :]) != shape or x._data.ndim < k:
        raise ValueError(
            f"layer_norm: expected input with trailing shape {shape}, got {tuple(x.shape)}"
        )
    _check_param(weight, "weight", shape, "layer_norm")
    _check_param(bias, "bias", shape, "layer_norm")
    axes = tuple(range(x._data.ndim - k, x._data.ndim))
    data = x._data
    params = [p._data for p in (weight, bias) if p is not None]
    if _kernels.usable(data, *params) and data.flags.c_contiguous and data.size:
        # mean None: Normalize computes the statistics in its row kernel
        return Normalize.apply(x, weight, bias, None, None, axes, shape, True, eps)
    mean, _, rstd, centered = _stats(data, axes, eps)
    return Normalize.apply(x, weight, bias, mean, rstd, axes, shape, True, eps, centered)


# ---------------------------------------------------------------------------- batch norm
def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked=None,
):
    """Normalize each channel over the batch (and spatial) dims.

    x: (N, C) or (N, C, *spatial); running_mean, running_var, weight, bias: (C,) or None.

    In training (or without running statistics) the batch's own statistics are used, and the
    running ones (when given) are updated in place, as PyTorch does (unbiased variance):

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

    with M = N * prod(spatial). ``momentum=None`` gives the cumulative average (factor
    1 / num_batches_tracked). In eval mode the running statistics normalize.
    """
    _check_input(x, "batch_norm")
    if x._data.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    c = x._data.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_param(t, name, (c,), "batch_norm")
    shape = x._data.shape
    # NOTE: (N, C, H, W) is viewed as (N, C, H*W): one spatial dim makes the reductions faster.
    flat = x.reshape(shape[0], c, math.prod(shape[2:])) if x._data.ndim > 3 else x
    axes = (0,) + tuple(range(2, flat._data.ndim))
    param_shape = (c,) + (1,) * (flat._data.ndim - 2)
    if x._data.size == 0:  # nothing to normalize or learn from: an empty output, as PyTorch's
        xp = array_module(x._data)
        mean = xp.zeros((1,) + param_shape, dtype=x._data.dtype)
        out = Normalize.apply(flat, weight, bias, mean, mean + 1, axes, param_shape, False, eps)
        return out.reshape(shape) if flat is not x else out
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        m = x._data.size // max(c, 1)
        if m <= 1:
            raise ValueError(
                "batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {tuple(x.shape)}"
            )
        mean, var, rstd, centered = _stats(flat._data, axes, eps)
        if training and running_mean is not None and running_var is not None:
            if momentum is None:
                n = int(num_batches_tracked.item()) if num_batches_tracked is not None else 1
                factor = 1.0 / max(n, 1)
            else:
                factor = momentum
            _update_running(running_mean, mean.reshape(c), factor)
            _update_running(running_var, var.reshape(c) * (m / (m - 1)), factor)
        out = Normalize.apply(
            flat, weight, bias, mean, rstd, axes, param_shape, True, eps, centered
        )
        return out.reshape(shape) if flat is not x else out
    dtype = x._data.dtype
    mean = running_mean._data.astype(dtype, copy=False).reshape((1,) + param_shape)
    rstd = (1.0 / (running_var._data.astype(dtype, copy=False) + eps) ** 0.5).reshape(
        (1,) + param_shape
    )
    out = Normalize.apply(flat, weight, bias, mean, rstd, axes, param_shape, False, eps)
    return out.reshape(shape) if flat is not x else out


def _update_running(stat, batch_value, factor):
    data = stat._data
    data *= 1.0 - factor
    data += (factor * batch_value).astype(data.dtype, copy=False)
    stat._version += 1


# ---------------------------------------------------------------------------- group norm
def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each sample over groups of channels.

    x: (N, C, *spatial), C divisible by ``num_groups``; weight, bias: (C,) or None.
    """
    _check_input(x, "group_norm")
    if x._data.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    n, c = x._data.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(
            f"group_norm: num_groups ({num_groups}) must divide the number of channels ({c})"
        )
    _check_param(weight, "weight", (c,), "group_norm")
    _check_param(bias, "bias", (c,), "group_norm")
    spatial = math.prod(x._data.shape[2:])
    grouped = x.reshape(n, num_groups, c // num_groups, spatial)  # (N, G, C/G, S)
    axes = (2, 3)
    mean, _, rstd, centered = _stats(grouped._data, axes, eps)
    param_shape = (num_groups, c // num_groups, 1)
    out = Normalize.apply(grouped, weight, bias, mean, rstd, axes, param_shape, True, eps, centered)
    return out.reshape(x.shape)


def instance_norm(
    x,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalize each (sample, channel) over its spatial dims: group_norm with C groups.
    x: (N, C, *spatial). (Running statistics are not supported.)"""
    if running_mean is not None or running_var is not None or not use_input_stats:
        raise NotImplementedError("instance_norm: running statistics are not supported")
    return group_norm(x, x.shape[1], weight, bias, eps)


def rms_norm(x, normalized_shape, weight=None, eps: float | None = None):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing ``normalized_shape`` (Zhang &
    Sennrich, 2019). Composed from primitives."""
    _check_input(x, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"rms_norm: expected input with trailing shape {shape}, got {tuple(x.shape)}"
        )
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"]
