"""optim.Optimizer: parameter groups, zero_grad, step(closure), argument checks, state_dict."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve import optim


def _params(n=2, dtype=np.float64):
    rng = np.random.default_rng(0)
    return [
        nerve.nn.Parameter(nerve.tensor(rng.standard_normal((3, 2)).astype(dtype)))
        for _ in range(n)
    ]


def _backward(params):
    sum(((p * p).sum() for p in params), nerve.tensor(0.0)).backward()


def test_param_groups_take_defaults_and_overrides():
    a, b = _params()
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    assert opt.param_groups[1]["params"] == [b]


def test_add_param_group_and_its_checks():
    a, b = _params()
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([b])


def test_constructor_checks():
    (a,) = _params(1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({a}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is int"):
        optim.SGD([a, 3], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2], lr=0.1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-1), "SGD: Invalid learning rate: -1"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: Invalid momentum value: -0.5"),
        (lambda p: optim.SGD(p, weight_decay=-1), "SGD: Invalid weight_decay value: -1"),
        (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum"),
        (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: Invalid lr_decay value: -1"),
        (lambda p: optim.Adagrad(p, eps=-1), "Adagrad: Invalid epsilon value: -1"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "RMSprop: Invalid alpha value: -0.1"),
        (lambda p: optim.RMSprop(p, momentum=-1), "RMSprop: Invalid momentum value: -1"),
        (lambda p: optim.Adam(p, lr=-0.1), "Adam: Invalid learning rate: -0.1"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: optim.AdamW(p, weight_decay=-1), "AdamW: Invalid weight_decay value: -1"),
        (lambda p: optim.AdamW(p, eps=-1e-8), "AdamW: Invalid epsilon value"),
    ],
)
def test_invalid_hyperparameters_raise_like_pytorch(make, message):
    with pytest.raises(ValueError, match=message):
        make(_params(1))


def test_zero_grad_sets_to_none_or_zero():
    params = _params()
    opt = optim.SGD(params, lr=0.1)
    _backward(params)
    grad_array = params[0].grad._data
    opt.zero_grad(set_to_none=False)
    assert params[0].grad._data is grad_array and not grad_array.any()
    _backward(params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_skips_parameters_without_grad_and_leaves_grad_unchanged():
    a, b = _params()
    before_b = b.detach().numpy().copy()
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    (a * a).sum().backward()
    grad_before = a.grad.numpy().copy()
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), before_b)
    np.testing.assert_array_equal(a.grad.numpy(), grad_before)
    assert b not in opt.state


def test_step_runs_the_closure_with_grad_enabled_and_returns_its_loss():
    (a,) = _params(1)
    opt = optim.SGD([a], lr=0.25)
    start = a.detach().numpy().copy()

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with nerve.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(float((start * start).sum()))
    np.testing.assert_allclose(a.detach().numpy(), start - 0.25 * 2 * start)  # d(a^2)/da = 2a


def test_step_bumps_the_version_so_stale_saved_tensors_are_caught():
    (a,) = _params(1)
    opt = optim.SGD([a], lr=0.1)
    y = (a * a).sum()
    (a * 3).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_state_dict_indices_and_load_errors():
    a, b, c = _params(3)
    opt = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.2}], lr=0.1, momentum=0.9)
    _backward([a, b, c])
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2]]
    assert sorted(state["state"]) == [0, 1, 2]
    assert state["param_groups"][1]["lr"] == 0.2
    other = optim.SGD([a, b, c], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        other.load_state_dict(state)
    other = optim.SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="doesn't match the size"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        other.load_state_dict({"state": {}})


def test_load_state_dict_copies_and_casts_to_the_parameters_dtype():
    (a,) = _params(1, np.float64)
    opt = optim.Adam([a], lr=0.1)
    _backward([a])
    opt.step()
    state = opt.state_dict()
    (b,) = _params(1, np.float32)
    new = optim.Adam([b], lr=0.5)
    new.load_state_dict(state)
    loaded = new.state[b]
    assert loaded["exp_avg"].dtype == nerve.float32
    assert loaded["step"] == 1.0
    assert new.param_groups[0]["lr"] == 0.1 and new.param_groups[0]["params"] == [b]
    loaded["exp_avg"]._data[...] = 0  # a copy: the saved dict is not changed
    assert state["state"][0]["exp_avg"].numpy().any()


def test_repr_lists_the_groups():
    opt = optim.SGD(_params(), lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "lr: 0.1" in text and "momentum: 0.9" in text


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_state_reads_as_empty_before_the_first_step(name):
    (a,) = _params(1)
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    opt = getattr(optim, name)([a], lr=0.1, **kwargs)
    if name != "Adagrad":  # Adagrad, as PyTorch's, fills its state at construction
        assert opt.state[a] == {}
    _backward([a])
    opt.step()
    assert opt.state[a]  # filled by the step, even though it was read before


def test_named_parameters_keep_their_names_in_the_state_dict():
    model = nerve.nn.Sequential(nerve.nn.Linear(3, 2), nerve.nn.Tanh(), nerve.nn.Linear(2, 1))
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"][0] == "0.weight"
    assert all(isinstance(p, nerve.nn.Parameter) for p in opt.param_groups[0]["params"])


def test_a_pytorch_style_subclass_that_overrides_step():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            with nerve.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            p.sub_(p.grad.sign() * group["lr"])

    (a,) = _params(1)
    start = a.detach().numpy().copy()
    opt = SignSGD([a], lr=0.5)
    _backward([a])
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), start - 0.5 * np.sign(2 * start))
    with pytest.raises(NotImplementedError, match="Optimizer must define _update_group"):
        optim.Optimizer([a], {"lr": 0.1}).step()
