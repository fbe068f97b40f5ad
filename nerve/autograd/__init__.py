"""Reverse-mode automatic differentiation.

- ``backward(tensors, grad_tensors)``: accumulate gradients into the leaves' ``.grad``.
- ``grad(outputs, inputs)``: return d(outputs)/d(inputs) without touching any ``.grad``.
- ``Function``: define an op with ``forward(ctx, ...)`` / ``backward(ctx, grad_output)``.
- ``no_grad`` / ``enable_grad`` / ``set_grad_enabled``; ``detect_anomaly``; ``gradcheck``.
"""

from __future__ import annotations

from nerve.autograd.anomaly import detect_anomaly, is_anomaly_enabled
from nerve.autograd.engine import run_backward
from nerve.autograd.function import Function, once_differentiable
from nerve.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from nerve.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck


def _as_tuple(x):
    if x is None:
        return None
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _make_grads(outputs, grad_outputs, where):
    from nerve.tensor import Tensor

    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if not isinstance(out, Tensor):
            raise TypeError(f"{where}: expected Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(
                f"{where}: element {i} of the outputs does not require grad and has no grad_fn; "
                "did you forget requires_grad=True on an input, or compute it under no_grad?"
            )
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"{where}: grad can be implicitly created only for scalar outputs; the output "
                    f"has shape {tuple(out.shape)}. Pass gradient= (the same shape) or reduce it "
                    "first (e.g. .sum())"
                )
            from nerve.device import array_module

            g = Tensor._wrap(array_module(out._data).ones_like(out._data))
        else:
            if not isinstance(g, Tensor):
                from nerve.ops.creation import as_tensor

                g = as_tensor(g, dtype=out.dtype)
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(
                    f"{where}: gradient has shape {tuple(g.shape)} but the output has shape "
                    f"{tuple(out.shape)}"
                )
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into every leaf that requires grad."""
    outputs = _as_tuple(tensors)
    grads = _make_grads(outputs, _as_tuple(grad_tensors), "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        results = run_backward(outputs, grads, retain, create_graph, inputs=_as_tuple(inputs),
                               allow_unused=True)
        for t, g in zip(_as_tuple(inputs), results):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(outputs, grads, retain, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return ``d(outputs)/d(inputs)`` as a tuple, one per input (None if unused and allowed)."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    grads = _make_grads(outputs, _as_tuple(grad_outputs), "grad")
    retain = create_graph if retain_graph is None else retain_graph
    return run_backward(outputs, grads, retain, create_graph, inputs=inputs,
                        allow_unused=allow_unused)


__all__ = [
    "Function", "once_differentiable", "backward", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "detect_anomaly",
    "is_anomaly_enabled", "gradcheck", "gradgradcheck", "GradcheckError",
]
