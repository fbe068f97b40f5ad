"""Linear algebra: matmul (PyTorch's 1-D / 2-D / batched / broadcast rules), linear, einsum.

For C = A @ B, dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC; batch dims that were broadcast are
summed back by ``sum_to``. 1-D operands are lifted to matrices first and the gradient is reshaped back.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _enabled
from nerve.device import array_module
from nerve.tensor import Tensor


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
        return a._data @ b._data

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_nd, b_nd = a._data.ndim, b._data.ndim
        if a_nd == 2 and b_nd == 2:
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


class Linear(Function):
    """y = x W^T + b with x: (*, in), W: (out, in), b: (out,); one fused op for the hot path."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        xd = x._data
        if xd.ndim > 2:  # NOTE: one 2-D GEMM; NumPy would run one GEMM per leading index
            out = xd.reshape(-1, xd.shape[-1]) @ weight._data.T
            out = out.reshape(*xd.shape[:-1], weight._data.shape[0])
        else:
            out = xd @ weight._data.T
        if bias is not None:
            out += bias._data
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        if not _enabled[0]:
            # No graph is being recorded (create_graph=False): three BLAS calls on plain arrays.
            g = grad._data
            g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
            x2 = x._data.reshape(-1, x._data.shape[-1]) if x._data.ndim != 2 else x._data
            grad_x = None
            if need_x:
                grad_x = (g2 @ weight._data).reshape(*g.shape[:-1], weight._data.shape[1])
            return (Tensor._wrap(grad_x) if need_x else None,
                    Tensor._wrap(g2.T @ x2) if need_w else None,
                    Tensor._wrap(g2.sum(axis=0)) if need_b else None)
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
        for i, (sub, t) in enumerate(zip(subs, operands)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            if len(set(sub)) != len(sub):
                raise RuntimeError(f"einsum: gradient of a repeated index ('{sub}') is not supported")
            others = [(s, o) for j, (s, o) in enumerate(zip(subs, operands)) if j != i]
            available = set(output).union(*(set(s) for s, _ in others))
            kept = "".join(c for c in sub if c in available)
            eq = ",".join([output] + [s for s, _ in others]) + "->" + kept
            g = einsum(eq, grad, *(o for _, o in others))
            if kept != sub:  # an index only this operand had: broadcast along it
                shape = [t.shape[k] if c in kept else 1 for k, c in enumerate(sub)]
                g = g.reshape([t.shape[k] for k, c in enumerate(sub) if c in kept])
                order = [kept.index(c) for c in sub if c in kept]
                g = g.permute(*order) if order != sorted(order) else g
                g = g.reshape(shape).expand(*t.shape)
            grads.append(g)
        return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; an explicit ``->`` output is
    added when missing, as NumPy infers it."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    if "..." in equation:
        raise ValueError("einsum: '...' is not supported; name every dimension")
    if "->" not in equation:
        letters = equation.replace(",", "")
        equation += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    subs = equation.split("->")[0].split(",")
    if len(subs) != len(operands):
        raise ValueError(f"einsum: the equation names {len(subs)} operands, got {len(operands)}")
    for sub, t in zip(subs, operands):
        if len(sub) != t.ndim:
            raise ValueError(
                f"einsum: subscript '{sub}' has {len(sub)} dims but its operand has shape {tuple(t.shape)}"
            )
    sizes: dict[str, int] = {}
    for sub, t in zip(subs, operands):
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise ValueError(f"einsum: index '{c}' has sizes {sizes[c]} and {n}")
    return Einsum.apply(equation, *operands)


__all__ = ["matmul", "mm", "bmm", "dot", "outer", "linear", "einsum", "np"]
