"""Helpers of the float32 optimizer tests: parameters of several shapes, and one parameter
stepped by a nerve optimizer beside its PyTorch twin on the same gradients."""

from __future__ import annotations

import numpy as np
import torch

import nerve

SHAPES = [(7, 5), (3,), (1,), (0, 4), (2, 3, 4)]


def float32_params(transposed=False):
    """One float32 Parameter per shape in SHAPES (seeded); ``transposed``: F-order views."""
    rng = np.random.default_rng(0)
    params = []
    for shape in SHAPES:
        w = rng.standard_normal(shape).astype(np.float32)
        t = nerve.tensor(w.T.copy()).T if transposed else nerve.tensor(w)
        params.append(nerve.nn.Parameter(t))
    return params


def step_beside_pytorch(make_opt, make_torch_opt, steps=20):
    """A (16, 8) float32 parameter and its torch copy, each stepped ``steps`` times by
    ``make_opt([p])`` and ``make_torch_opt([q])`` on the same gradients: (p, q, opt, topt)."""
    w = np.random.default_rng(1).standard_normal((16, 8)).astype(np.float32)
    p = nerve.nn.Parameter(nerve.tensor(w))
    q = torch.tensor(w, requires_grad=True)
    opt, topt = make_opt([p]), make_torch_opt([q])
    for step in range(steps):
        g = np.random.default_rng(step).standard_normal(w.shape).astype(np.float32)
        p.grad, q.grad = nerve.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    return p, q, opt, topt
