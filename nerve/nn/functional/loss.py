"""Loss functions: how far a prediction is from its target, reduced to one number.

Each takes ``reduction``: 'none' (one loss per element/sample), 'mean' (default) or 'sum'.

    mse_loss             (x - y)^2
    l1_loss              |x - y|
    huber_loss           0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta),  d = x - y
    smooth_l1_loss       0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta
    binary_cross_entropy -(y log p + (1 - y) log(1 - p)),   log clamped at -100 (PyTorch)
    bce_with_logits      the same with p = sigmoid(x), computed stably from the logit x
    cross_entropy        -log softmax(x)_y   (class indices y) or -sum_c y_c log softmax(x)_c
    nll_loss             -x_y  (x are log-probabilities)
    kl_div               y (log y - x)  (x log-probabilities; y probabilities, or log ones)
    multi_margin_loss    sum_{j != y} max(0, margin - x_y + x_j)^p / C
    cosine_embedding     1 - cos(a, b) if y = 1, max(0, cos(a, b) - margin) if y = -1

``cross_entropy`` (class indices) and ``mse_loss`` are fused primitives (they sit in every training
step); the rest are composed from differentiable ops.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import grad_mode
from nerve.autograd.function import Function
from nerve.device import array_module
from nerve.nn.functional.activation import log_softmax
from nerve.ops import elementwise as E
from nerve.tensor import Tensor

_enabled = grad_mode._enabled
_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------- checks
def _check_reduction(reduction, op, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(
            f"{op}: reduction must be one of {', '.join(repr(r) for r in allowed)}, "
            f"got {reduction!r}"
        )


def _check_tensor(x, name, op, floating=True):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if floating and x._data.dtype.kind != "f":
        raise TypeError(
            f"{op}: {name} must be a floating point tensor, got {x.dtype}; convert with .float()"
        )


def _check_same_shape(x, y, op):
    if x._data.shape != y._data.shape:
        raise ValueError(
            f"{op}: input shape {tuple(x.shape)} and target shape {tuple(y.shape)} differ; "
            "they must be equal (NOTE: nerve does not broadcast them as PyTorch does with a "
            "warning: an (N, 1) prediction against an (N,) target is almost always a bug)"
        )


def _pair(x, y, op):
    _check_tensor(x, "input", op)
    _check_tensor(y, "target", op)
    _check_same_shape(x, y, op)
    if y._data.dtype != x._data.dtype:
        y = y.to(x.dtype)
    return x, y


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------------------- regression
class MSELoss(Function):
    """sum or mean of (x - y)^2 as one op: d/dx = 2 (x - y) / n, d/dy = -d/dx."""

    @staticmethod
    def forward(ctx, x, y, mean):
        diff = x._data - y._data
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, y)
            ctx.diff, ctx.mean = diff, mean
        flat = diff.reshape(-1)
        total = flat.dot(flat)  # NOTE: ndarray.dot skips the matmul ufunc's overhead
        return total / flat.size if mean else total

    @staticmethod
    def backward(ctx, grad):
        need_x, need_y = ctx.needs_input_grad[:2]
        scale = 2.0 / ctx.diff.size if ctx.mean else 2.0
        if not _enabled[0]:
            g = ctx.diff * (grad._data * scale)
            return (Tensor._wrap(g) if need_x else None, Tensor._wrap(-g) if need_y else None, None)
        x, y = ctx.saved_tensors
        g = (x - y) * (grad * scale)
        return (g if need_x else None), (-g if need_y else None), None


def mse_loss(input, target, reduction: str = "mean"):
    """(input - target)^2; input and target: the same shape."""
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    if reduction == "none" or input._data.size == 0:
        diff = input - target
        return _reduce(diff * diff, reduction)
    return MSELoss.apply(input, target, reduction == "mean")


def l1_loss(input, target, reduction: str = "mean"):
    """|input - target|; input and target: the same shape."""
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere; d = input - target."""
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss")
    diff = input - target
    absdiff = diff.abs()
    loss = E.where(absdiff < delta, 0.5 * diff * diff, delta * (absdiff - 0.5 * delta))
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta = 0: the L1 loss)."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _pair(input, target, "smooth_l1_loss")
    diff = input - target
    absdiff = diff.abs()
    if beta == 0:
        return _reduce(absdiff, reduction)
    loss = E.where(absdiff < beta, (0.5 / beta) * diff * diff, absdiff - 0.5 * beta)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- binary
def _check_weight(weight, x, name, op):
    if weight is None:
        return None
    _check_tensor(weight, name, op)
    try:
        np.broadcast_shapes(weight._data.shape, x._data.shape)
    except ValueError:
        raise ValueError(
            f"{op}: {name} of shape {tuple(weight.shape)} cannot be broadcast to the input "
            f"shape {tuple(x.shape)}"
        ) from None
    return weight.to(x.dtype) if weight._data.dtype != x._data.dtype else weight


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(y log p + (1 - y) log(1 - p)) with p = input in [0, 1]; each log is clamped at -100
    as PyTorch does, so p = 0 or 1 gives a finite loss."""
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    data = input._data
    if data.size and (float(data.min()) < 0 or float(data.max()) > 1):
        raise ValueError(
            "binary_cross_entropy: input must be probabilities in [0, 1], got values from "
            f"{float(data.min()):.4g} to {float(data.max()):.4g}; for logits use "
            "binary_cross_entropy_with_logits (BCEWithLogitsLoss)"
        )
    weight = _check_weight(weight, input, "weight", "binary_cross_entropy")
    log_p = input.log().clamp(min=-100.0)
    log_q = (1 - input).log().clamp(min=-100.0)
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
):
    """BCE on logits x, stable for any x:

        loss = (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)

    (softplus(-x) = -log sigmoid(x)). ``pos_weight`` (broadcast along the last dim, one per
    class) weighs the positive term; ``weight`` rescales each element's loss."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    weight = _check_weight(weight, input, "weight", "binary_cross_entropy_with_logits")
    pos_weight = _check_weight(pos_weight, input, "pos_weight", "binary_cross_entropy_with_logits")
    neg_log_sigmoid = E.softplus(-input)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * neg_log_sigmoid
    else:
        loss = (1 - target) * input + neg_log_sigmoid
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- cross-entropy
class CrossEntropy(Function):
    """Cross-entropy of logits x: (N, C) against class indices t: (N,), fused with log-softmax.

    With a_ic = (1 - ls) w_{t_i} [c = t_i] + (ls / C) w_c (ls: label smoothing, w: class weights,
    a_i = 0 for ignored samples), the loss of sample i is -sum_c a_ic log p_ic, and

        d loss_i / d x_i = p_i * sum_c a_ic - a_i        (p = softmax(x))

    'mean' divides by the summed weight sum_i w_{t_i} of the samples not ignored.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        xd = x._data
        xp = array_module(xd)
        n, c = xd.shape
        shifted = xd - xd.max(axis=1, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
        rows = xp.arange(n)
        ignored = target == ignore_index
        any_ignored = bool(ignored.any())
        safe = xp.where(ignored, 0, target) if any_ignored else target
        if weight is None:
            coef_t = xp.ones(n, dtype=xd.dtype)
        else:
            coef_t = weight[safe].astype(xd.dtype, copy=False)
        if any_ignored:
            coef_t = coef_t * ~ignored
        denom = coef_t.sum() if reduction == "mean" else 1.0
        loss = -coef_t * logp[rows, safe]  # (N,)
        coef_s = None
        if label_smoothing > 0:
            loss *= 1.0 - label_smoothing
            coef_s = xp.full(n, label_smoothing / c, dtype=xd.dtype)
            if any_ignored:
                coef_s = coef_s * ~ignored
            row_sum = logp.sum(axis=1) if weight is None else logp @ weight.astype(xd.dtype)
            loss -= coef_s * row_sum
            coef_t = coef_t * (1.0 - label_smoothing)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x)
            ctx.saved = (logp, rows, safe, coef_t, coef_s, weight, denom, reduction)
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            return total
        return total / denom if denom else total * float("nan")  # all ignored: nan, as PyTorch

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        logp, rows, safe, coef_t, coef_s, weight, denom, reduction = ctx.saved
        xp = array_module(logp)
        # a: (N, C) per-class coefficients; sum_a: (N, 1)
        a = xp.zeros_like(logp)
        a[rows, safe] = coef_t
        if coef_s is not None:
            a += coef_s[:, None] * (
                weight[None, :].astype(logp.dtype) if weight is not None else 1.0
            )
        sum_a = a.sum(axis=1, keepdims=True)
        if not _enabled[0]:
            g = grad._data
            # NOTE: every sample ignored: the loss is nan (0/0), the gradient zero (as PyTorch).
            scale = g[:, None] if reduction == "none" else (g / denom if denom else g * 0)
            dx = xp.exp(logp)
            dx *= sum_a
            dx -= a
            dx *= scale
            return Tensor._wrap(dx), None, None, None, None, None
        p = log_softmax(x, 1).exp()
        scale = grad.reshape(-1, 1) if reduction == "none" else grad * (1 / denom if denom else 0.0)
        return (p * Tensor._wrap(sum_a) - Tensor._wrap(a)) * scale, None, None, None, None, None


def _class_dim_last(input, target, op):
    """(N, C, d1, ...) logits and (N, d1, ...) targets -> (M, C) and (M,); also (C,) and ()."""
    if input.ndim == 1:
        return input.reshape(1, -1), target.reshape(1)
    if input.ndim == 2:
        return input, target
    perm = (0,) + tuple(range(2, input.ndim)) + (1,)
    return input.permute(*perm).reshape(-1, input.shape[1]), target.reshape(-1)


def _check_class_target(input, target, op):
    """Validate (input, class-index target) shapes, dtype and range; return C."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, got a 0-dim tensor")
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    expected = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim > 1 else ()
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{op}: for input of shape {tuple(input.shape)} (N, C, ...), class-index target must "
            f"have shape {expected}, got {tuple(target.shape)}"
        )
    return c


def _check_target_values(t, c, ignore_index, op):
    if t.size:
        valid = t[t != ignore_index]
        if valid.size and (int(valid.min()) < 0 or int(valid.max()) >= c):
            raise IndexError(
                f"{op}: target class indices must be in [0, {c - 1}] for {c} classes "
                f"(or ignore_index={ignore_index}), got values from {int(valid.min())} to "
                f"{int(valid.max())}"
            )


def _check_class_weight(weight, c, op):
    if weight is None:
        return None
    _check_tensor(weight, "weight", op)
    if tuple(weight.shape) != (c,):
        raise ValueError(
            f"{op}: weight must have shape ({c},), one per class, got {tuple(weight.shape)}"
        )
    return weight


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross-entropy between logits and a target, with log-softmax fused in (finite for any
    logits).

    input: (N, C), (N, C, d1, ...) or (C,) unnormalized logits.
    target: class indices (N,) / (N, d1, ...) / () of an integer dtype, or class probabilities
    with the input's shape (floating point).
    weight: (C,) per-class weights. ignore_index: class index whose samples are skipped
    (indices only). label_smoothing in [0, 1]: the target becomes (1 - ls) onehot + ls / C.

        >>> F.cross_entropy(nerve.tensor([[2.0, 0.5]]), nerve.tensor([0]))
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op, floating=False)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target._data.dtype.kind == "f":
        if target._data.shape != input._data.shape:
            raise ValueError(
                f"{op}: a floating point target holds class probabilities and must have the "
                f"input's shape {tuple(input.shape)}, got {tuple(target.shape)}; class indices "
                "must be an integer tensor (use .long())"
            )
        c = input.shape[1] if input.ndim > 1 else input.shape[0]
        weight = _check_class_weight(weight, c, op)
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    if target._data.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be class indices (an integer tensor) or class probabilities "
            f"(a floating point tensor), got {target.dtype}"
        )
    c = _check_class_target(input, target, op)
    weight = _check_class_weight(weight, c, op)
    _check_target_values(target._data, c, ignore_index, op)
    logits, flat_target = _class_dim_last(input, target, op)
    w = weight._data if weight is not None else None
    loss = CrossEntropy.apply(
        logits, flat_target._data, w, ignore_index, float(label_smoothing), reduction
    )
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    dim = 1 if input.ndim > 1 else 0
    c = input.shape[dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = log_softmax(input, dim)
    if weight is not None:
        shape = [1] * input.ndim
        shape[dim] = c
        logp = logp * weight.to(input.dtype).reshape(shape)
    loss = -(logp * target.to(input.dtype)).sum(dim)
    if reduction == "mean":
        # NOTE: PyTorch divides by the number of samples N * d1 * ..., not by summed weights.
        return loss.sum() / max(loss.numel(), 1) if loss.ndim else loss
    return _reduce(loss, reduction)


def nll_loss(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
):
    """-w_t x_t for log-probabilities x: (N, C) / (N, C, d1, ...) / (C,) and class indices t.
    'mean' divides by the summed weights of the samples not ignored."""
    op = "nll_loss"
    _check_reduction(reduction, op)
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op, floating=False)
    if target._data.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be an integer tensor of class indices, got {target.dtype}"
        )
    c = _check_class_target(input, target, op)
    weight = _check_class_weight(weight, c, op)
    _check_target_values(target._data, c, ignore_index, op)
    logp, t = _class_dim_last(input, target, op)
    td = t._data
    xp = array_module(td)
    ignored = td == ignore_index
    safe = xp.where(ignored, 0, td)
    coef = (
        weight._data[safe].astype(logp._data.dtype)
        if weight is not None
        else xp.ones(td.shape, dtype=logp._data.dtype)
    )
    coef = coef * ~ignored
    picked = logp[xp.arange(td.shape[0]), safe]  # (M,)
    loss = -picked * Tensor._wrap(coef)
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / float(coef.sum())


# ---------------------------------------------------------------------------- divergence, margins
def kl_div(
    input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
):
    """KL(target || model) pointwise: target (log target - input), with input log-probabilities
    (0 where target = 0). With ``log_target`` the target is given as log-probabilities too:
    exp(target) (target - input). reduction 'batchmean' (sum / N) is the true KL divergence;
    'mean' averages over all elements, as PyTorch does."""
    op = "kl_div"
    _check_reduction(reduction, op, _REDUCTIONS + ("batchmean",))
    input, target = _pair(input, target, op)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t) - t x, with 0 log 0 = 0
        positive = target > 0
        xlogy = E.where(positive, target * E.where(positive, target, 1.0).log(), 0.0)
        loss = xlogy - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def multi_margin_loss(
    input,
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
):
    """Multi-class hinge loss of scores x: (N, C) (or (C,)) and class indices y: (N,) (or ()):

    loss_i = sum_{j != y_i} w_{y_i} max(0, margin - x_{i, y_i} + x_{i, j})^p / C
    """
    op = "multi_margin_loss"
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op, floating=False)
    if target._data.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be an integer tensor of class indices, got {target.dtype}"
        )
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected input of shape (N, C) or (C,), got {tuple(input.shape)}")
    c = _check_class_target(input, target, op)
    weight = _check_class_weight(weight, c, op)
    _check_target_values(target._data, c, None, op)
    x, t = _class_dim_last(input, target, op)
    td = t._data
    xp = array_module(td)
    correct = x.gather(1, Tensor._wrap(td.reshape(-1, 1)))  # (N, 1)
    hinge = (margin - correct + x).clamp(min=0.0)
    if p == 2:
        hinge = hinge * hinge
    others = (xp.arange(c)[None, :] != td[:, None]).astype(x._data.dtype)  # (N, C), 0 at y
    if weight is not None:
        others = others * weight._data[td][:, None].astype(x._data.dtype)
    loss = (hinge * Tensor._wrap(others)).sum(1) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1,
    input2,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
):
    """input1, input2: (N, D) or (D,); target: (N,) or () of 1 (similar) or -1 (dissimilar).
    loss = 1 - cos if target = 1, max(0, cos - margin) if target = -1, with
    cos = a.b / sqrt((|a|^2 + 1e-12) (|b|^2 + 1e-12)) as in PyTorch."""
    op = "cosine_embedding_loss"
    _check_reduction(reduction, op)
    _check_tensor(input1, "input1", op)
    _check_tensor(input2, "input2", op)
    _check_tensor(target, "target", op, floating=False)
    if input1._data.shape != input2._data.shape or input1.ndim not in (1, 2):
        raise ValueError(
            f"{op}: input1 and input2 must both have shape (N, D) or (D,), got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    if tuple(target.shape) != tuple(input1.shape[:-1]):
        raise ValueError(
            f"{op}: target must have shape {tuple(input1.shape[:-1])}, got {tuple(target.shape)}"
        )
    td = target._data
    if td.size and not array_module(td).isin(td, (-1, 1)).all():
        raise ValueError(f"{op}: target values must be 1 or -1")
    dot = (input1 * input2).sum(-1)
    mag1 = (input1 * input1).sum(-1) + 1e-12
    mag2 = (input2 * input2).sum(-1) + 1e-12
    cos = dot / (mag1 * mag2).sqrt()
    positive = Tensor._wrap(td == 1)
    loss = E.where(positive, 1 - cos, (cos - margin).clamp(min=0.0))
    return _reduce(loss, reduction)


__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "multi_margin_loss",
    "cosine_embedding_loss",
]
