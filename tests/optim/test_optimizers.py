"""Each optimizer against its PyTorch twin: same net, same initial weights and data, 20 steps,
same weights (float64, 1e-6 relative); and state_dict round trips in PyTorch's format."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
import torch

import nerve
from nerve import optim

STEPS = 20

# (name, kwargs): every variant named in the issue, with and without weight decay/momentum.
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.02, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.8, weight_decay=0.02, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, eps=1e-6)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.0, betas=(0.5, 0.9))),
]


def _case_id(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def _problem(seed=0):
    """Weights of a 6-10-3 tanh network and a batch of data, as float64 arrays."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal((10, 6)) * 0.5,
        rng.standard_normal(10) * 0.1,
        rng.standard_normal((3, 10)) * 0.5,
        rng.standard_normal(3) * 0.1,
    ]
    x = rng.standard_normal((16, 6))
    y = rng.standard_normal((16, 3))
    return weights, x, y


def _loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    h = lib.tanh(x @ w1.T + b1)
    out = h @ w2.T + b2
    return ((out - y) ** 2).mean()


def _run_nerve(name, kwargs, steps=STEPS, weights=None, groups=None):
    weights_init, x, y = _problem()
    params = [nerve.nn.Parameter(nerve.tensor(w)) for w in (weights or weights_init)]
    opt = getattr(optim, name)(groups(params) if groups else params, **kwargs)
    x, y = nerve.tensor(x), nerve.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        _loss(nerve, params, x, y).backward()
        opt.step()
    return params, opt


def _run_torch(name, kwargs, steps=STEPS, groups=None):
    weights, x, y = _problem()
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    opt = getattr(torch.optim, name)(groups(params) if groups else params, **kwargs)
    x, y = torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        _loss(torch, params, x, y).backward()
        opt.step()
    return params, opt


@functools.cache
def _torch_weights(name, kwargs_items):
    """PyTorch's weights after STEPS steps (cached: several tests compare against them)."""
    params, _ = _run_torch(name, dict(kwargs_items))
    return tuple(p.detach().numpy().copy() for p in params)


def _assert_same_weights(ours, theirs):
    for p, q in zip(ours, theirs, strict=True):
        assert p.dtype == nerve.float64
        q = q.detach().numpy() if isinstance(q, torch.Tensor) else q
        np.testing.assert_allclose(p.detach().numpy(), q, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_pytorch_after_20_steps(case):
    name, kwargs = case
    ours, _ = _run_nerve(name, kwargs)
    _assert_same_weights(ours, _torch_weights(name, tuple(kwargs.items())))
    # the weights moved: a no-op optimizer would not pass
    start = _problem()[0][0]
    assert np.abs(ours[0].detach().numpy() - start).max() > 1e-3


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_per_group_hyperparameters_match_pytorch(name):
    def groups(params):
        return [
            {"params": params[:2]},
            {"params": params[2:], "lr": 0.003, "weight_decay": 0.1},
        ]

    kwargs = dict(lr=0.02)
    if name != "Adam":
        kwargs["momentum"] = 0.9
    ours, _ = _run_nerve(name, kwargs, groups=groups)
    theirs, _ = _run_torch(name, kwargs, groups=groups)
    _assert_same_weights(ours, theirs)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_state_dict_has_pytorchs_layout(case):
    name, kwargs = case
    _, ours = _run_nerve(name, kwargs, steps=3)
    _, theirs = _run_torch(name, kwargs, steps=3)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert sorted(mine["state"]) == sorted(ref["state"])
    for index, state in ref["state"].items():
        assert set(mine["state"][index]) == set(state)
        for key, value in state.items():
            if key == "step":
                assert float(mine["state"][index][key]) == float(value)
            else:
                np.testing.assert_allclose(
                    mine["state"][index][key].numpy(), value.numpy(), rtol=1e-6, atol=1e-12
                )
    assert [g["params"] for g in mine["param_groups"]] == [g["params"] for g in ref["param_groups"]]
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"], strict=True):
        for key, value in group.items():
            assert ref_group[key] == value, key


@pytest.mark.parametrize("case", CASES[::2], ids=_case_id)
def test_resume_from_state_dict_continues_the_same_run(case):
    name, kwargs = case
    params, opt = _run_nerve(name, kwargs, steps=8)
    state = copy.deepcopy(opt.state_dict())
    weights = [p.detach().numpy().copy() for p in params]
    resumed_params = [nerve.nn.Parameter(nerve.tensor(w)) for w in weights]
    resumed = getattr(optim, name)(resumed_params, **kwargs)
    resumed.load_state_dict(state)
    _, x, y = _problem()
    x, y = nerve.tensor(x), nerve.tensor(y)
    for _ in range(STEPS - 8):
        for ps, o in ((params, opt), (resumed_params, resumed)):
            o.zero_grad()
            _loss(nerve, ps, x, y).backward()
            o.step()
    for p, q in zip(params, resumed_params, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    _assert_same_weights(resumed_params, _torch_weights(name, tuple(kwargs.items())))


@pytest.mark.parametrize("case", CASES[::3], ids=_case_id)
def test_loads_a_state_dict_from_pytorch(case):
    """PyTorch's own state_dict (tensors converted) resumes in nerve: the format is the same."""
    name, kwargs = case
    torch_params, torch_opt = _run_torch(name, kwargs, steps=8)
    torch_state = torch_opt.state_dict()
    converted = {
        "state": {
            i: {k: nerve.tensor(v.numpy()) for k, v in s.items()}
            for i, s in torch_state["state"].items()
        },
        "param_groups": torch_state["param_groups"],
    }
    params = [nerve.nn.Parameter(nerve.tensor(p.detach().numpy())) for p in torch_params]
    opt = getattr(optim, name)(params, **kwargs)
    opt.load_state_dict(converted)
    _, x, y = _problem()
    x, y = nerve.tensor(x), nerve.tensor(y)
    for _ in range(STEPS - 8):
        opt.zero_grad()
        _loss(nerve, params, x, y).backward()
        opt.step()
    _assert_same_weights(params, _torch_weights(name, tuple(kwargs.items())))


def test_float32_parameters_stay_float32_and_track_pytorch():
    weights, x, y = _problem()
    params = [nerve.nn.Parameter(nerve.tensor(w.astype(np.float32))) for w in weights]
    tparams = [torch.tensor(w.astype(np.float32), requires_grad=True) for w in weights]
    opt = optim.Adam(params, lr=0.01, weight_decay=0.01)
    topt = torch.optim.Adam(tparams, lr=0.01, weight_decay=0.01)
    nx, ny = nerve.tensor(x.astype(np.float32)), nerve.tensor(y.astype(np.float32))
    tx, ty = torch.tensor(x.astype(np.float32)), torch.tensor(y.astype(np.float32))
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(nerve, params, nx, ny).backward()
        opt.step()
        topt.zero_grad()
        _loss(torch, tparams, tx, ty).backward()
        topt.step()
    for p, q in zip(params, tparams, strict=True):
        assert p.dtype == nerve.float32
        assert opt.state[p]["exp_avg"].dtype == nerve.float32
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)
