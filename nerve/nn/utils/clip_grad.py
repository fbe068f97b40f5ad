"""Gradient clipping: rescale all gradients together (by norm) or clamp each entry (by value).

Clipping by norm (Pascanu et al., 2013) keeps exploding gradients in RNNs from throwing the
weights far away: with g the gradients of all parameters seen as one vector,

    total = ||g||_p = (sum_i ||g_i||_p ^ p) ^ (1/p)       (max_i ||g_i||_inf for p = inf)
    g    <- g * min(1, max_norm / (total + 1e-6))
"""

from __future__ import annotations

import math

from nerve.device import array_module
from nerve.tensor import Tensor


def _grads(parameters, op: str) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors (parameters), got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _vector_norm(xp, arr, norm_type: float):
    """The p-norm of an array seen as one vector, as a 0-dim array of its dtype."""
    flat = arr.reshape(-1)
    if norm_type == math.inf:
        return xp.abs(flat).max() if flat.size else xp.zeros((), flat.dtype)
    if norm_type == -math.inf:
        return xp.abs(flat).min() if flat.size else xp.full((), math.inf, flat.dtype)
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(flat), dtype=flat.dtype)
    if norm_type == 2:
        return xp.sqrt(xp.dot(flat, flat))  # one BLAS call, no temporary
    if norm_type == 1:
        return xp.abs(flat).sum()
    return (xp.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale the gradients in place so that their joint ``norm_type``-norm is at most max_norm.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm; ``float("inf")`` for the largest absolute entry.
        error_if_nonfinite: raise if the total norm is nan or inf (else the gradients are
            scaled by it anyway, as PyTorch does).

    Returns:
        The total norm of the gradients before clipping, a 0-dim tensor.

    Example::

        >>> loss.backward()
        >>> nerve.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    grads = _grads(parameters, "clip_grad_norm_")
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        import numpy as np

        return Tensor._wrap(np.zeros((), dtype=np.float32))
    xp = array_module(grads[0]._data)
    norms = xp.stack([_vector_norm(xp, g._data, norm_type) for g in grads])
    total = _vector_norm(xp, norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable this error and "
            "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g._data *= coef
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place.

    Example::

        >>> nerve.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    """
    grads = _grads(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    for g in grads:
        array_module(g._data).clip(g._data, -clip_value, clip_value, out=g._data)
