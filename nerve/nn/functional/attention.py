"""Scaled dot-product attention (Vaswani et al., 2017) as one fused op.

    S = Q K^T * scale + B          Q: (..., L, E), K: (..., S, E), B: additive mask (..., L, S)
    P = softmax(S) (rows)          a row with no allowed key gives P = 0 (PyTorch's safe softmax)
    O = dropout(P) V               V: (..., S, Ev) -> O: (..., L, Ev)

Backward, in closed form on arrays (D = dropout's keep mask / (1 - p)):

    dV = (P D)^T dO,   dP = (dO V^T) D,   dS = P (dP - rowsum(dP P)),
    dQ = dS K scale,   dK = dS^T Q scale,   dB = dS (summed to B's shape)

A bool ``attn_mask`` is True where a query may attend (PyTorch's convention for this function);
a float mask is added to the scores. ``is_causal`` lets position i attend to keys j <= i.
"""

from __future__ import annotations

import math

import numpy as np

from nerve import _kernels
from nerve.autograd.function import Function, once_differentiable
from nerve.device import array_module
from nerve.random import _generator
from nerve.tensor import Tensor

CAUSAL_BLOCKS = 4  # query-row blocks of a causal attention (1: one masked score matrix)


def _sum_to(arr, shape):
    """Sum a broadcast array back to ``shape`` (the array-level twin of ops.shape.sum_to)."""
    if arr.shape == tuple(shape):
        return arr
    lead = arr.ndim - len(shape)
    arr = arr.sum(axis=tuple(range(lead))) if lead else arr
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and arr.shape[i] != 1)
    return arr.sum(axis=axes, keepdims=True) if axes else arr


def _causal_blocks(length, source, blocks):
    """Row blocks (r0, r1, c1) of a causal attention: rows r0..r1 need keys 0..c1 only."""
    if blocks <= 1 or length < 2 * blocks:
        return [(0, length, source)]
    edges = [round(i * length / blocks) for i in range(blocks + 1)]
    return [(r0, r1, min(r1, source)) for r0, r1 in zip(edges[:-1], edges[1:], strict=True)]


class Attention(Function):
    """(q, k, v, bias) -> O, or (O, dropout(P)) with ``need_weights``. ``bias``: a Tensor
    (differentiable float mask), or None; ``mask_array``: a constant additive array, or None.

    NOTE: with ``causal``, query rows are processed in blocks that skip the keys they may not
    see (as flash attention does): about 40% less work than masking the full score matrix.
    """

    @staticmethod
    def forward(ctx, q, k, v, bias, mask_array, scale, dropout_p, generator, need_weights, causal):
        qd, kd, vd = q._data, k._data, v._data
        xp = array_module(qd)
        length, source = qd.shape[-2], kd.shape[-2]
        blocks = [(0, length, source)]
        if causal:
            mask_array = _causal_bias(xp, length, source, qd.dtype)
            if not need_weights:
                blocks = _causal_blocks(length, source, CAUSAL_BLOCKS)
        batch = np.broadcast_shapes(qd.shape[:-2], kd.shape[:-2], vd.shape[:-2])
        out = xp.empty(batch + (length, vd.shape[-1]), dtype=qd.dtype)
        q_scaled = qd * scale  # scaling Q is cheaper than scaling the scores
        saved = []
        for r0, r1, c1 in blocks:
            scores = q_scaled[..., r0:r1, :] @ kd[..., :c1, :].swapaxes(-1, -2)  # (..., l, s)
            if bias is not None:  # (one block only)
                scores = scores + bias._data
            if mask_array is not None:
                scores += mask_array if len(blocks) == 1 else mask_array[r0:r1, :c1]
            probs = _softmax_(scores, xp, bias is not None or mask_array is not None)
            keep = None
            if dropout_p > 0:
                rng = _generator(generator).np_rng
                keep = xp.asarray(rng.random(probs.shape) >= dropout_p).astype(qd.dtype)
                keep *= 1.0 / (1.0 - dropout_p)
            dropped = probs if keep is None else probs * keep
            xp.matmul(dropped, vd[..., :c1, :], out=out[..., r0:r1, :])
            saved.append((probs, keep))
        ctx.save_for_backward(q, k, v, bias)
        ctx.blocks, ctx.saved_blocks, ctx.scale, ctx.out = blocks, saved, scale, out
        return (out, dropped) if need_weights else out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_weights=None):
        q, k, v, bias = ctx.saved_tensors
        qd, kd, vd, g = q._data, k._data, v._data, grad_out._data
        xp = array_module(g)
        need_q, need_k, need_v, need_b = ctx.needs_input_grad[:4]
        out = ctx.out
        grad_q = xp.empty(out.shape[:-1] + (qd.shape[-1],), dtype=g.dtype)
        grad_k = xp.zeros(out.shape[:-2] + kd.shape[-2:], dtype=g.dtype)
        grad_v = xp.zeros(out.shape[:-2] + vd.shape[-2:], dtype=g.dtype)
        grad_b = None
        for (r0, r1, c1), (probs, keep) in zip(ctx.blocks, ctx.saved_blocks, strict=True):
            g_rows = g[..., r0:r1, :]
            dropped = probs if keep is None else probs * keep
            grad_v[..., :c1, :] += dropped.swapaxes(-1, -2) @ g_rows
            d_probs = g_rows @ vd[..., :c1, :].swapaxes(-1, -2)  # gradient of dropout(P)
            if grad_weights is not None:
                d_probs += grad_weights._data
            if keep is not None:
                d_probs *= keep
            # dS = P (dP - rowsum(dP P)), in place. NOTE: without a weights gradient,
            # rowsum(dP P) = rowsum(dO O) (FlashAttention, Dao et al., 2022): (l, Ev) work.
            if grad_weights is None:
                row = (g_rows * out[..., r0:r1, :]).sum(axis=-1, keepdims=True)
            else:
                row = (d_probs * probs).sum(axis=-1, keepdims=True)
            d_probs -= row
            d_probs *= probs
            if need_b:
                grad_b = _sum_to(d_probs, bias._data.shape)
            xp.matmul(d_probs, kd[..., :c1, :], out=grad_q[..., r0:r1, :])
            grad_k[..., :c1, :] += d_probs.swapaxes(-1, -2) @ qd[..., r0:r1, :]
        grad_q *= ctx.scale
        grad_k *= ctx.scale
        grads = (
            _sum_to(grad_q, qd.shape) if need_q else None,
            _sum_to(grad_k, kd.shape) if need_k else None,
            _sum_to(grad_v, vd.shape) if need_v else None,
            grad_b,
        )
        return tuple(None if a is None else Tensor._wrap(a) for a in grads) + (None,) * 6


def _softmax_(scores, xp, masked):
    """Softmax over the last axis, in place. A row with every key masked (max = -inf) is shifted
    by 0 instead, so it becomes exp(-inf) = 0 everywhere, row sum 0 -> P = 0 (safe softmax)."""
    if _kernels.usable(scores) and scores.flags.c_contiguous and scores.size:
        _kernels.softmax_rows_(scores)  # the same in one compiled pass per row
        return scores
    row_max = scores.max(axis=-1, keepdims=True)
    if masked:
        row_max[~xp.isfinite(row_max)] = 0
    scores -= row_max
    xp.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if masked:
        total[total == 0] = 1
    scores /= total
    return scores


def _causal_bias(xp, length, source, dtype):
    """(L, S) additive mask: 0 where key j <= query i, -inf above the diagonal."""
    bias = xp.zeros((length, source), dtype=dtype)
    bias[~xp.tri(length, source, dtype=bool)] = -math.inf
    return bias


def attention(
    q,
    k,
    v,
    bias=None,
    mask_array=None,
    scale=None,
    dropout_p=0.0,
    generator=None,
    need_weights=False,
    causal=False,
):
    """The fused op behind ``scaled_dot_product_attention`` and ``MultiheadAttention`` (no
    argument checks). Returns O, or (O, weights) with ``need_weights``."""
    if scale is None:
        scale = 1.0 / math.sqrt(q._data.shape[-1])
    return Attention.apply(
        q, k, v, bias, mask_array, float(scale), float(dropout_p), generator, need_weights, causal
    )


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,
    scale=None,
    enable_gqa=False,
    generator=None,
):
    """softmax(Q K^T * scale + mask) V, with scale = 1/sqrt(E) by default.

    query: (..., L, E), key: (..., S, E), value: (..., S, Ev) -> (..., L, Ev). ``attn_mask``
    broadcasts to (..., L, S): bool (True = may attend) or float (added to the scores).
    ``dropout_p`` drops attention weights (apply it only in training, as PyTorch leaves that to
    the caller).

        >>> q = nerve.randn(2, 4, 8, 16)        # (N, heads, L, E)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        nerve.Size([2, 4, 8, 16])
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2 or t._data.dtype.kind != "f":
            raise ValueError(
                f"{op}: {name} must be a floating tensor of shape (..., seq, dim), "
                f"got {tuple(t.shape)} {t.dtype}"
            )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{op}: expected query (..., L, E), key (..., S, E), value (..., S, Ev), got "
            f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
        )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa:
        raise ValueError(f"{op}: enable_gqa=True is not supported")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
    if scale is not None and scale <= 0:
        raise ValueError(f"{op}: scale must be positive, got {scale}")
    xp = array_module(query._data)
    length, source = query.shape[-2], key.shape[-2]
    bias = mask_array = None
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        shape = tuple(attn_mask.shape)
        if len(shape) < 2 or shape[-2] not in (1, length) or shape[-1] not in (1, source):
            raise ValueError(
                f"{op}: attn_mask must broadcast to (..., {length}, {source}), got {shape}"
            )
        if attn_mask._data.dtype == bool:
            mask_array = xp.where(attn_mask._data, 0.0, -math.inf).astype(query._data.dtype)
        elif attn_mask.requires_grad:
            bias = attn_mask
        else:
            mask_array = attn_mask._data.astype(query._data.dtype, copy=False)
    return attention(
        query, key, value, bias, mask_array, scale, dropout_p, generator, causal=is_causal
    )


__all__ = ["scaled_dot_product_attention"]
