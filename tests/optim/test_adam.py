"""Adam's and AdamW's one-pass compiled update (float32) against their NumPy path: the same
bits, every variant that takes it; AMSGrad and views with gaps keep the NumPy passes.

(Adam and AdamW against PyTorch, in float64 and float32, are in test_optimizers.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from float32_twin import SHAPES, float32_params, step_beside_pytorch

import nerve
from nerve import _kernels, optim

VARIANTS = [
    (optim.Adam, dict(lr=1e-2)),
    (optim.Adam, dict(lr=1e-2, weight_decay=0.05)),
    (optim.Adam, dict(lr=1e-2, betas=(0.3, 0.99), eps=1e-3)),  # lerp weight 0.7: PyTorch's other form
    (optim.Adam, dict(lr=1e-2, weight_decay=0.01, maximize=True)),
    (optim.Adam, dict(lr=1e-2, amsgrad=True)),
    (optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    (optim.AdamW, dict(lr=1e-2, weight_decay=0.0)),
]


def _run(cls, kwargs, enabled, monkeypatch, steps=6, transposed=False):
    monkeypatch.setattr(_kernels, "enabled", enabled)
    params = float32_params(transposed)
    opt = cls(params, **kwargs)
    for step in range(steps):
        for p in params:
            g = np.random.default_rng(step).standard_normal(p.shape).astype(np.float32)
            g[..., :1] *= 1e-4  # tiny gradients: sqrt(v) near eps
            p.grad = nerve.tensor(g)
        opt.step()
    states = [opt.state[p] for p in params]
    return [p.detach().numpy().copy() for p in params] + [
        s[k].numpy().copy() for s in states for k in ("exp_avg", "exp_avg_sq")
    ]


def _ids(v):
    cls, kwargs = v
    return cls.__name__ + ":" + ",".join(f"{k}={x}" for k, x in kwargs.items())


@pytest.mark.parametrize("variant", VARIANTS, ids=_ids)
@pytest.mark.parametrize("transposed", [False, True], ids=["contiguous", "transposed"])
def test_compiled_update_gives_the_numpy_bits(variant, transposed, monkeypatch):
    cls, kwargs = variant
    calls = []
    kernel = _kernels.adam_step_
    monkeypatch.setattr(_kernels, "adam_step_", lambda *a: calls.append(1) or kernel(*a))
    compiled = _run(cls, kwargs, True, monkeypatch, transposed=transposed)
    if kwargs.get("amsgrad"):
        assert not calls
    else:
        contiguous = 3 if transposed else len(SHAPES)  # (3,) (1,) (0, 4) stay contiguous
        assert len(calls) == 6 * contiguous
    plain = _run(cls, kwargs, False, monkeypatch, transposed=transposed)
    for a, b in zip(compiled, plain, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls, torch_cls", [(optim.Adam, torch.optim.Adam),
                                            (optim.AdamW, torch.optim.AdamW)])
def test_compiled_update_tracks_pytorch(cls, torch_cls):
    p, q, opt, topt = step_beside_pytorch(
        lambda ps: cls(ps, lr=1e-2, weight_decay=0.1),
        lambda qs: torch_cls(qs, lr=1e-2, weight_decay=0.1, foreach=False),
    )
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-6)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(opt.state[p][key].numpy(), topt.state[q][key].numpy(),
                                   rtol=1e-6, atol=1e-7)


def test_a_gradient_sharing_the_parameters_memory_takes_the_numpy_path(monkeypatch):
    calls = []
    kernel = _kernels.adam_step_
    monkeypatch.setattr(_kernels, "adam_step_", lambda *a: calls.append(1) or kernel(*a))
    w = np.linspace(-1, 1, 6, dtype=np.float32)
    p = nerve.nn.Parameter(nerve.tensor(w))
    p.grad = p.detach()  # the parameter's own array
    optim.Adam([p], lr=0.1).step()
    assert not calls
    np.testing.assert_allclose(p.detach().numpy(), w - np.float32(0.1) * np.sign(w), atol=1e-6)
