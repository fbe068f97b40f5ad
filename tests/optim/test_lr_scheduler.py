"""Learning-rate schedulers against PyTorch's: the same lr sequence over 30 steps (get_last_lr,
the groups' lr, and momentum for OneCycleLR), and state_dict round trips that resume it."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import nerve
from nerve import optim

STEPS = 30


def _lambda_095(epoch):
    return 0.95**epoch


def _lambda_warmup(epoch):
    return min(1.0, (epoch + 1) / 5)


# id -> (optimizer name, optimizer kwargs, factory(lr_scheduler module, optimizer))
CASES = {
    "StepLR": ("SGD", {}, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda m, o: m.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3)),
    "ExponentialLR": ("SGD", {}, lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": ("SGD", {}, lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3)),
    "LinearLR": ("SGD", {}, lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=8)),
    "LinearLR-down": (
        "SGD",
        {},
        lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12),
    ),
    "ConstantLR": ("SGD", {}, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4)),
    "PolynomialLR": ("SGD", {}, lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0)),
    "LambdaLR": ("SGD", {}, lambda m, o: m.LambdaLR(o, _lambda_095)),
    "LambdaLR-per-group": ("SGD", {}, lambda m, o: m.LambdaLR(o, [_lambda_095, _lambda_warmup])),
    "MultiplicativeLR": ("SGD", {}, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9)),
    "CosineAnnealingWarmRestarts": (
        "SGD",
        {},
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
    ),
    "OneCycleLR-sgd": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=STEPS),
    ),
    "OneCycleLR-adam-linear-3phase": (
        "Adam",
        {},
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.01, epochs=3, steps_per_epoch=10, anneal_strategy="linear", three_phase=True
        ),
    ),
    "OneCycleLR-no-momentum": (
        "SGD",
        {},
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 5, cycle_momentum=False),
    ),
    "SequentialLR-warmup-cosine": (
        "SGD",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)],
            milestones=[5],
        ),
    ),
    "SequentialLR-three": (
        "SGD",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [
                m.ConstantLR(o, factor=0.2, total_iters=4),
                m.ExponentialLR(o, gamma=0.8),
                m.StepLR(o, step_size=3, gamma=0.5),
            ],
            milestones=[4, 10],
        ),
    ),
    "ChainedScheduler": (
        "SGD",
        {},
        lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.9), m.StepLR(o, 3, 0.5)]),
    ),
}


def _make(lib, case):
    name, kwargs, factory = CASES[case]
    if lib is torch:
        params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
        opt_module, sched_module = torch.optim, torch.optim.lr_scheduler
    else:
        params = [nerve.nn.Parameter(nerve.zeros(2)), nerve.nn.Parameter(nerve.zeros(3))]
        opt_module, sched_module = optim, optim.lr_scheduler
    groups = [{"params": params[:1], "lr": 0.1}, {"params": params[1:], "lr": 0.2}]
    opt = getattr(opt_module, name)(groups, **kwargs)
    return opt, factory(sched_module, opt)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _record(opt, sched, steps):
    """[(get_last_lr, the groups' lr, their momentum)] after construction and each step."""
    seen = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], _momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seen.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], _momenta(opt)))
    return seen


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (mine, ref) in enumerate(zip(ours, theirs, strict=True)):
        for a, b in zip(mine, ref, strict=True):
            if b[0] is None:
                assert a == b, step
            else:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=f"step {step}")


@pytest.mark.parametrize("case", list(CASES))
def test_lr_sequence_matches_pytorch(case):
    ours = _record(*_make(nerve, case), STEPS)
    theirs = _record(*_make(torch, case), STEPS)
    _assert_same(ours, theirs)
    assert len({tuple(lrs) for lrs, _, _ in ours}) > 1  # the schedule moved


@pytest.mark.parametrize("case", list(CASES))
def test_state_dict_round_trip_resumes_the_sequence(case):
    opt, sched = _make(nerve, case)
    first = _record(opt, sched, 12)
    opt_state = copy.deepcopy(opt.state_dict())
    sched_state = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in sched_state and sched_state.get("last_epoch", 12) is not None
    new_opt, new_sched = _make(nerve, case)
    new_opt.load_state_dict(opt_state)
    new_sched.load_state_dict(sched_state)
    assert new_sched.get_last_lr() == sched.get_last_lr()
    rest = _record(new_opt, new_sched, STEPS - 12)[1:]
    _assert_same(first + rest, _record(*_make(torch, case), STEPS))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 2},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "cooldown": 2},
        {"mode": "max", "threshold_mode": "abs", "patience": 0, "min_lr": [0.05, 0.01]},
        {"patience": 1, "factor": 0.5, "min_lr": 0.03, "eps": 1e-3},
    ],
)
def test_reduce_lr_on_plateau_matches_pytorch(kwargs):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + 0.02 * rng.standard_normal(24)])
    seen = []
    for lib, module in ((nerve, optim), (torch, torch.optim)):
        params = [nerve.nn.Parameter(nerve.zeros(2))] if lib is nerve else [torch.zeros(2)]
        params2 = [nerve.nn.Parameter(nerve.zeros(2))] if lib is nerve else [torch.zeros(2)]
        opt = module.SGD([{"params": params}, {"params": params2, "lr": 0.3}], lr=0.1)
        sched = module.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for i, metric in enumerate(metrics):
            if i == 15 and lib is nerve:  # a round trip half-way changes nothing
                state = copy.deepcopy(sched.state_dict())
                sched = module.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
                sched.load_state_dict(state)
            sched.step(float(metric))
            lrs.append(list(sched.get_last_lr()))
        seen.append(lrs)
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-12)
    assert seen[0][-1] != seen[0][0]  # it did reduce


def test_step_with_an_epoch_uses_the_closed_form_like_pytorch():
    seen = []
    for lib in (nerve, torch):
        opt, sched = _make(lib, "StepLR")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step(15)
        seen.append(sched.get_last_lr())
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-12)
    np.testing.assert_allclose(seen[0], [0.1 * 0.25, 0.2 * 0.25])


def test_argument_checks():
    opt = optim.SGD([nerve.nn.Parameter(nerve.zeros(2))], lr=0.1)
    sched = optim.lr_scheduler
    with pytest.raises(TypeError, match="expected an Optimizer, got list"):
        sched.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="OneCycleLR: you must define either total_steps"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 3 times"):
        one = sched.OneCycleLR(opt, max_lr=0.1, total_steps=2)
        for _ in range(3):
            one.step()
    with pytest.raises(ValueError, match="LinearLR: start_factor must be in"):
        sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="one milestone fewer than schedulers"):
        sched.SequentialLR(opt, [sched.ExponentialLR(opt, 0.9)], milestones=[3])
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        sched.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(optim.SGD([nerve.nn.Parameter(nerve.zeros(1))], lr=0.1), 2, last_epoch=3)
