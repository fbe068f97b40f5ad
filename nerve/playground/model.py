"""The playground's networks: fully connected stacks built from ``nerve.nn``, and their insides.

``build_mlp([2, 8, 8, 1], "tanh", dropout=0.0, seed=1)`` gives

    Sequential(Linear(2, 8), Tanh(), Dropout(0.0), Linear(8, 8), Tanh(), Dropout(0.0), Linear(8, 1))

Every hidden layer has a Dropout (p may be 0), so the ``state_dict`` keys (``0.weight``,
``3.weight``, ...) do not change when the dropout rate does. ``layer_outputs`` runs the stack one
module at a time and keeps what each layer computed, for heatmaps, hover values and pulses.
"""

from __future__ import annotations

import numpy as np

import nerve
from nerve import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


def build_mlp(sizes: list[int], activation: str, dropout: float, seed: int) -> nn.Sequential:
    """A Linear-activation-Dropout stack with ``sizes = [in, hidden..., out]``, seeded init."""
    nerve.manual_seed(seed)
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def linears(model: nn.Sequential) -> list[nn.Linear]:
    """The Linear layers of ``model``, input side first."""
    return [m for m in model if isinstance(m, nn.Linear)]


def weights(model: nn.Sequential) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each Linear's weight ``(out, in)`` and bias ``(out,)`` as NumPy copies."""
    layers = linears(model)
    return [m.weight.detach().numpy().copy() for m in layers], [
        m.bias.detach().numpy().copy() for m in layers
    ]


def layer_outputs(model: nn.Sequential, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(z, a)`` per Linear layer for inputs ``x: (n, in)``: pre-activation and activation.

    For the last layer ``a`` is ``z`` (the logits); the caller applies softmax or sigmoid.
    Runs in eval mode (dropout off) without recording a graph.
    """
    was_training = model.training
    model.eval()
    outputs = []
    with nerve.no_grad():
        h = nerve.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        modules = list(model)
        activations = tuple(ACTIVATIONS.values())
        for index, module in enumerate(modules):
            h = module(h)
            if isinstance(module, nn.Linear):
                z = h
                if index == len(modules) - 1:
                    outputs.append((z.numpy().copy(), z.numpy().copy()))
            elif isinstance(module, activations):
                outputs.append((z.numpy().copy(), h.numpy().copy()))
    model.train(was_training)
    return outputs


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / T)`` along the last axis, computed by nerve."""
    with nerve.no_grad():
        z = nerve.from_numpy(np.ascontiguousarray(logits, dtype=np.float32)) / temperature
        return nn.functional.softmax(z, dim=-1).numpy().copy()
