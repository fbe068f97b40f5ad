"""SGD's one-pass compiled update (float32) against its NumPy path: the same bits, every variant.

(SGD against PyTorch, in float64 and float32, is in test_optimizers.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from float32_twin import SHAPES, float32_params, step_beside_pytorch

import nerve
from nerve import _kernels, optim

VARIANTS = [
    dict(lr=0.1),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
]


def _run(kwargs, enabled, monkeypatch, steps=5, transposed=False):
    monkeypatch.setattr(_kernels, "enabled", enabled)
    params = float32_params(transposed)
    opt = optim.SGD(params, **kwargs)
    for step in range(steps):
        for p in params:
            g = np.random.default_rng(step).standard_normal(p.shape).astype(np.float32)
            p.grad = nerve.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in params]


@pytest.mark.parametrize("kwargs", VARIANTS, ids=lambda k: ",".join(k))
@pytest.mark.parametrize("transposed", [False, True], ids=["contiguous", "transposed"])
def test_compiled_update_gives_the_numpy_bits(kwargs, transposed, monkeypatch):
    calls = []
    for name in ("sgd_step_", "sgd_momentum_step_"):
        kernel = getattr(_kernels, name)
        monkeypatch.setattr(_kernels, name,
                            lambda *a, _k=kernel, _n=name: calls.append(_n) or _k(*a))
    compiled = _run(kwargs, True, monkeypatch, transposed=transposed)
    momentum = kwargs.get("momentum", 0)
    fused = "sgd_momentum_step_" if momentum and not kwargs.get("nesterov") and not kwargs.get(
        "dampening") else "sgd_step_"
    contiguous = 3 if transposed else len(SHAPES)  # transposed, (3,) (1,) (0, 4) stay contiguous
    assert calls.count(fused) >= 4 * contiguous  # every step after the first, at least
    plain = _run(kwargs, False, monkeypatch, transposed=transposed)
    for a, b in zip(compiled, plain, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_compiled_momentum_update_tracks_pytorch():
    p, q, opt, topt = step_beside_pytorch(lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
                                          lambda qs: torch.optim.SGD(qs, lr=0.05, momentum=0.9))
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(),
                               topt.state[q]["momentum_buffer"].numpy(), rtol=1e-6, atol=1e-6)


def test_a_gradient_sharing_the_parameters_memory_takes_the_numpy_path(monkeypatch):
    # p.grad is the parameter's own array: theta <- theta - lr theta, as NumPy computes it
    w = np.arange(6, dtype=np.float32)
    p = nerve.nn.Parameter(nerve.tensor(w))
    p.grad = p.detach()
    optim.SGD([p], lr=0.5).step()
    np.testing.assert_array_equal(p.detach().numpy(), w * np.float32(0.5))
