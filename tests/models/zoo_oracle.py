"""Helpers for the model-zoo tests: the same network in torch.nn as an oracle for nerve's.

torchvision is not installable here, so each test file writes torchvision's layout in plain
torch.nn; these helpers compare the two networks' parameters, per-layer output shapes and logits.
"""

import numpy as np
import torch

import nerve


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_shapes(model) -> list[tuple]:
    return [tuple(p.shape) for p in model.parameters()]


def _leaves(model):
    return [m for m in model.modules() if not list(m.children())]


def nerve_layer_shapes(model, x) -> list[tuple]:
    """Output shape of every leaf layer, in call order, for a forward pass of ``x``."""
    shapes = []
    handles = [m.register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape)))
               for m in _leaves(model)]
    with nerve.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def torch_layer_shapes(model, x) -> list[tuple]:
    shapes = []
    handles = [m.register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape)))
               for m in _leaves(model)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def copy_into_torch(nerve_model, torch_model) -> None:
    """Copy nerve's state (parameters and buffers, in order) into the torch twin."""
    ours = list(nerve_model.state_dict().values())
    theirs = torch_model.state_dict()
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    with torch.no_grad():
        for value, (name, target) in zip(ours, theirs.items()):
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
            assert tuple(array.shape) == tuple(target.shape), name
            target.copy_(torch.from_numpy(array.copy()).to(target.dtype))


def assert_same_logits(nerve_model, torch_model, x: np.ndarray, atol=1e-4) -> None:
    nerve_model.eval()
    torch_model.eval()
    copy_into_torch(nerve_model, torch_model)
    with nerve.no_grad():
        ours = nerve_model(nerve.tensor(x)).numpy()
    with torch.no_grad():
        theirs = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=atol)
