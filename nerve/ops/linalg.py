"""Linear algebra: matmul (PyTorch's 1-D / 2-D / batched / broadcast rules), linear, einsum.

For C = A @ B, dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC; batch dims that were broadcast are
summed back by ``sum_to``. 1-D operands are lifted to matrices first and the gradient is reshaped back.
"""

from __future__ import annotations

import string

import numpy as np

from nerve import _dtype
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _enabled
from nerve.device import array_module
from nerve.ops.elementwise import _constant, relu_array, relu_slope, sigmoid_array
from nerve.tensor import Tensor
from nerve.threads import gemm


def _check_matmul(a, b, op):
    for name, t in (("first", a), ("second", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, the {name} operand is {type(t).__name__}")
        if t._data.ndim == 0:
            raise ValueError(f"{op}: both operands need at least 1 dim, got a 0-dim tensor")
        if t._data.dtype.kind == "b":
            raise TypeError(f"{op}: bool tensors cannot be multiplied; convert with .float()")
    k_a = a._data.shape[-1]
    k_b = b._data.shape[-2] if b._data.ndim > 1 else b._data.shape[0]
    if k_a != k_b:
        raise ValueError(
            f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({k_a} != {k_b})"
        )
    if type(a._data) is not type(b._data):
        raise RuntimeError(f"{op}: expected both tensors on the same device, got {a.device} and {b.device}")


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ad, bd = a._data, b._data
        if ad.ndim == 2 and bd.ndim == 2:
            return gemm(ad, bd)  # NOTE: same GEMM as @, with less dispatch cost on small matrices
        return ad @ bd

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_nd, b_nd = a._data.ndim, b._data.ndim
        if a_nd == 2 and b_nd == 2:
            if not _enabled[0]:  # no graph recorded (create_graph=False): plain GEMMs
                g = grad._data
                return (Tensor._wrap(gemm(g, b._data.T)) if need_a else None,
                        Tensor._wrap(gemm(a._data.T, g)) if need_b else None)
            return (grad @ b.mT if need_a else None), (a.mT @ grad if need_b else None)
        a2 = a.unsqueeze(0) if a_nd == 1 else a
        b2 = b.unsqueeze(-1) if b_nd == 1 else b
        if a_nd == 1 and b_nd == 1:
            g = grad.reshape(1, 1)  # a dot product's 0-dim gradient, as (1, k) @ (k, 1)
        elif a_nd == 1:
            g = grad.unsqueeze(-2)
        elif b_nd == 1:
            g = grad.unsqueeze(-1)
        else:
            g = grad
        grad_a = grad_b = None
        if need_a:
            grad_a = (g @ b2.mT).sum_to_size(a2.shape).reshape(a.shape)
        if need_b:
            grad_b = (a2.mT @ g).sum_to_size(b2.shape).reshape(b.shape)
        return grad_a, grad_b


_ONES: dict = {}  # (array module, dtype) -> a ones vector as long as the longest seen


def sum_rows(g):
    """``g.sum(axis=-2)`` as the product ones(N) @ g, for g: (..., N, F) -> (..., F).

    NOTE: one BLAS call; NumPy's reduction machinery costs several times as much on the small
    batches of a training step, and no less on large ones (a bias gradient is this sum).
    """
    xp = array_module(g)
    key = (xp, g.dtype)
    ones = _ONES.get(key)
    n = g.shape[-2]
    if ones is None or ones.shape[0] < n:
        ones = _ONES[key] = xp.ones(max(n, 256), g.dtype)
    return ones[:n].dot(g)


class Linear(Function):
    """y = x W^T + b with x: (*, in), W: (out, in), b: (out,); one fused op for the hot path."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return _affine(x._data, weight._data, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return _affine_grads(ctx.needs_input_grad, x, weight, grad)


class LinearActivation(Function):
    """y = f(x W^T + b) for f in tanh, relu, sigmoid: a Linear layer and its activation as one
    node (``nn.Sequential`` fuses the pair; the numbers are those of the two ops in turn).

    Backward: dL/dz = dL/dy * f'(z), written with y (tanh: 1 - y^2, sigmoid: y (1 - y),
    relu: [not y <= 0]), then the gradients of the affine map as in ``Linear``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, activation):
        ctx.save_for_backward(x, weight)
        ctx.save_output()
        ctx.activation = activation
        z = _affine(x._data, weight._data, bias)
        xp = array_module(z)
        if activation == "tanh":
            return xp.tanh(z, out=z)
        if activation == "relu":
            return relu_array(z, out=z)
        return sigmoid_array(z, out=z)  # the Sigmoid op's own arithmetic

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        activation = ctx.activation
        if not _enabled[0]:
            y = ctx._output_array()
            g = grad._data
            if activation == "tanh":
                g = g * (_constant(array_module(y), y.dtype, 1) - y * y)
            elif activation == "relu":
                g = g * relu_slope(y)
            else:
                g = g * y * (_constant(array_module(y), y.dtype, 1) - y)
            grad = Tensor._wrap(g)
        else:
            y = ctx.output
            if activation == "tanh":
                grad = grad * (1 - y * y)
            elif activation == "relu":
                grad = grad * Tensor._wrap(relu_slope(y._data).astype(y._data.dtype))
            else:
                grad = grad * y * (1 - y)
        return (*_affine_grads(ctx.needs_input_grad, x, weight, grad), None)


def _affine(xd, w, bias):
    """x W^T + b on arrays, as one 2-D GEMM whatever the leading dims of x."""
    if xd.ndim == 2:
        out = gemm(xd, w.T)
    elif xd.ndim > 2:  # NOTE: one 2-D GEMM; NumPy would run one GEMM per leading index
        out = gemm(xd.reshape(-1, xd.shape[-1]), w.T).reshape(*xd.shape[:-1], w.shape[0])
    else:
        out = xd @ w.T
    if bias is not None:
        out += bias._data
    return out


def _affine_grads(needs, x, weight, grad):
    """(dL/dx, dL/dW, dL/db) of y = x W^T + b from dL/dy."""
    need_x, need_w, need_b = needs[:3]
    if not _enabled[0]:
        # No graph is being recorded (create_graph=False): three BLAS calls on plain arrays.
        g = grad._data
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        x2 = x._data.reshape(-1, x._data.shape[-1]) if x._data.ndim != 2 else x._data
        grad_x = None
        if need_x:
            grad_x = gemm(g2, weight._data).reshape(*g.shape[:-1], weight._data.shape[1])
        return (Tensor._wrap(grad_x) if need_x else None,
                Tensor._wrap(gemm(g2.T, x2)) if need_w else None,
                Tensor._wrap(sum_rows(g2)) if need_b else None)
    g2 = grad.reshape(-1, grad.shape[-1])
    x2 = x.reshape(-1, x.shape[-1])
    return (grad @ weight if need_x else None,
            g2.mT @ x2 if need_w else None,
            g2.sum(0) if need_b else None)


def matmul(a, b):
    """Matrix product with PyTorch's rules: 1-D x 1-D is a dot product, 1-D operands are lifted
    to matrices, leading (batch) dims broadcast."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        from nerve.ops.creation import as_tensor

        a, b = as_tensor(a), as_tensor(b)
    _check_matmul(a, b, "matmul")
    if a._data.dtype != b._data.dtype:
        from nerve.ops.elementwise import _operands

        a, b = _operands(a, b, "matmul")
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ValueError(
            f"matmul: batch dims of shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast"
        ) from None


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(
            f"bmm: expected 3-D tensors with the same batch size, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expected 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def linear(x, weight, bias=None):
    """y = x W^T + b.  x: (*, in_features), weight: (out_features, in_features), bias: (out_features,)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linear: input must be a Tensor, got {type(x).__name__}")
    if x._data.ndim == 0 or x._data.shape[-1] != weight._data.shape[-1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(weight.shape)}: expected input (*, {weight.shape[-1]})"
        )
    if x._data.dtype != weight._data.dtype:
        raise TypeError(
            f"linear: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
            "convert the input with .to(weight.dtype)"
        )
    return Linear.apply(x, weight, bias)


class Einsum(Function):
    """Einstein summation. The gradient of operand i is itself an einsum: the output gradient
    contracted with the other operands onto operand i's (distinct) indices; an index that only
    operand i had is broadcast back, a repeated index (a diagonal, ``ii``) is put back on the
    diagonal with identity matrices, and a size-1 dim that broadcast is summed back."""

    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.save_for_backward(*operands)
        ctx.equation = equation
        return array_module(operands[0]._data).einsum(equation, *(o._data for o in operands))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        subs = inputs.split(",")
        grads = [None]
        for i in range(len(operands)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            grads.append(_einsum_operand_grad(grad, ctx.equation, subs, operands, i))
        return tuple(grads)


def _einsum_operand_grad(grad, equation, subs, operands, i):
    from nerve.ops.creation import eye

    sub, t = subs[i], operands[i]
    output = equation.split("->")[1]
    unique = "".join(dict.fromkeys(sub))  # distinct indices, in order
    size = {c: n for c, n in zip(sub, t.shape)}
    others = [(s, o) for j, (s, o) in enumerate(zip(subs, operands)) if j != i]
    available = set(output).union(*(set(s) for s, _ in others))
    kept = "".join(c for c in unique if c in available)
    g = einsum(",".join([output] + [s for s, _ in others]) + "->" + kept,
               grad, *(o for _, o in others))
    if kept != unique:  # an index only this operand had was summed: broadcast along it
        g = g.reshape([g.shape[kept.index(c)] if c in kept else 1 for c in unique])
        g = g.expand(*[g.shape[k] if c in kept else size[c] for k, c in enumerate(unique)])
    if unique != sub:  # a repeated index: the gradient lives on the diagonal
        fresh = iter(c for c in string.ascii_letters if c not in equation)
        target, eyes, seen = "", [], set()
        for c in sub:
            if c in seen:
                new = next(fresh)
                eyes.append((c + new, eye(size[c], dtype=t.dtype, device=t.device)))
                c = new
            seen.add(c)
            target += c
        g = einsum(",".join([unique] + [s for s, _ in eyes]) + "->" + target,
                   g, *(e for _, e in eyes))
    for k, n in enumerate(t.shape):
        if n == 1 and g.shape[k] != 1:  # a size-1 dim of t that broadcast in the product
            g = g.sum(k, keepdim=True)
    if tuple(g.shape) != tuple(t.shape):  # a dim that another operand had as size 1
        g = g.expand(*t.shape)
    return g


def _expand_ellipsis(equation, operands):
    """Name the dims that ``...`` stands for with unused letters (broadcast from the right)."""
    lhs, arrow, rhs = equation.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum: the equation names {len(subs)} operands, got {len(operands)}")
    fresh = iter(c for c in string.ascii_letters if c not in equation)
    extra = [t.ndim - (len(s) - 3) if "..." in s else 0 for s, t in zip(subs, operands)]
    if min(extra) < 0:
        raise ValueError(f"einsum: an operand has fewer dims than its subscript in {equation!r}")
    batch = "".join(next(fresh) for _ in range(max(extra)))
    subs = [s.replace("...", batch[len(batch) - e:]) for s, e in zip(subs, extra)]
    if arrow:
        rhs = rhs.replace("...", batch)
    else:
        letters = "".join(subs)
        rhs = batch + "".join(sorted(c for c in set(letters)
                                     if letters.count(c) == 1 and c not in batch))
    return ",".join(subs) + "->" + rhs


def einsum(equation, *operands):
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; ``...`` stands for leading
    (broadcast) dims, and without ``->`` the output is NumPy's implicit one."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operands must be Tensors, got {type(t).__name__}")
    equation = equation.replace(" ", "")
    if "..." in equation:
        equation = _expand_ellipsis(equation, operands)
    if "->" not in equation:
        letters = equation.replace(",", "")
        equation += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    subs = equation.split("->")[0].split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum: the equation names {len(subs)} operands, got {len(operands)}")
    for sub, t in zip(subs, operands):
        if len(sub) != t.ndim:
            raise ValueError(
                f"einsum: subscript '{sub}' has {len(sub)} dims but its operand has shape "
                f"{tuple(t.shape)}"
            )
    sizes: dict[str, int] = {}
    for sub, t in zip(subs, operands):
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise ValueError(f"einsum: index '{c}' has sizes {sizes[c]} and {n}")
            if sizes[c] == 1:
                sizes[c] = n
    if len({t._data.dtype for t in operands}) > 1:
        from nerve.ops.elementwise import cast

        dt = operands[0]._data.dtype
        for t in operands[1:]:
            dt = _dtype.promote(dt, 1, t._data.dtype, 1)
        operands = tuple(t if t._data.dtype == dt else cast(t, dt) for t in operands)
    return Einsum.apply(equation, *operands)


__all__ = ["matmul", "mm", "bmm", "dot", "outer", "linear", "einsum", "np"]
