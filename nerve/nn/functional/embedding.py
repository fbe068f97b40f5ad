"""``embedding``: a lookup table, y[...] = weight[index[...]].

It equals multiplying a one-hot row by the weight matrix, so the gradient of weight row k is the
sum of the output gradients at the positions whose index is k (none for ``padding_idx``).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import grad_mode
from nerve.autograd.function import Function
from nerve.device import array_module
from nerve.ops.index import IndexBackward
from nerve.tensor import Tensor

_enabled = grad_mode._enabled


def _add_at(xp, out, index, values):
    if xp is np:
        np.add.at(out, index, values)
    else:  # pragma: no cover - CuPy
        import cupyx  # type: ignore[import-not-found]

        cupyx.scatter_add(out, index, values)


ONE_HOT_LIMIT = 1 << 22  # the largest one-hot matrix (rows x lookups) the gradient builds


def _rows_sum(xp, shape, index, g):
    """out[k] = sum of g[m] over the m with index[m] = k, for out of ``shape`` (V, D).

    NOTE: for a small table this is a one-hot matrix (V, M) times g (M, D): one GEMM, about 5x
    faster than NumPy's ``add.at`` scatter on W3's (65 x 2048) lookups; a large table scatters.
    """
    rows, lookups = shape[0], index.shape[0]
    if rows * lookups <= ONE_HOT_LIMIT:
        one_hot = xp.zeros((rows, lookups), dtype=g.dtype)
        one_hot[index, xp.arange(lookups)] = 1
        return one_hot.dot(g)
    out = xp.zeros(shape, dtype=g.dtype)
    _add_at(xp, out, index, g)
    return out


class Embedding(Function):
    """y = weight[index]; the backward scatters the gradient into the rows that were used."""

    @staticmethod
    def forward(ctx, weight, index, padding_idx):
        ctx.meta = (weight._data.shape, index, padding_idx)
        return weight._data[index]

    @staticmethod
    def backward(ctx, grad):
        shape, index, padding_idx = ctx.meta
        xp = array_module(grad._data)
        if not _enabled[0]:
            g = grad._data.reshape(-1, shape[1])
            flat = index.reshape(-1)
            if padding_idx is not None:
                keep = flat != padding_idx
                g, flat = g[keep], flat[keep]
            return Tensor._wrap(_rows_sum(xp, shape, flat, g)), None, None
        if padding_idx is not None:
            keep = (index != padding_idx).astype(grad._data.dtype)[..., None]
            grad = grad * Tensor._wrap(keep)
        return IndexBackward.apply(grad, shape, index, False), None, None


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
):
    """input: (*) integer indices in [0, num_embeddings); weight: (num_embeddings, dim)
    -> (*, dim). Rows at ``padding_idx`` get no gradient. With ``max_norm``, the rows used are
    first rescaled in place to norm at most ``max_norm`` (as PyTorch does)."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
            f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}"
        )
    index = input._data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: indices must be an integer tensor (int64 or int32), got "
            f"{input.dtype if isinstance(input, Tensor) else index.dtype}; convert with .long()"
        )
    n = weight.shape[0]
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise IndexError(
                f"embedding: index out of range: indices must be in [0, {n - 1}] for "
                f"num_embeddings={n}, got values from {lo} to {hi}"
            )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(
                f"embedding: padding_idx must be within [-{n}, {n}), got {padding_idx}"
            )
        padding_idx = padding_idx % n
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if max_norm is not None:
        _renorm_rows(weight, index, max_norm, norm_type)
    return Embedding.apply(weight, index, padding_idx)


def _renorm_rows(weight, index, max_norm, norm_type):
    xp = array_module(weight._data)
    rows = xp.unique(index.reshape(-1))
    selected = weight._data[rows]
    norms = (xp.abs(selected) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight._data[rows] = selected * scale[:, None].astype(weight._data.dtype)
    weight._version += 1


__all__ = ["embedding"]
