"""Linear, Bilinear, Flatten, Unflatten against PyTorch; default initialization; errors."""

import math

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn


def _copy(module, twin):
    for (name, p), (tname, tp) in zip(
        module.named_parameters(), twin.named_parameters(), strict=True
    ):
        assert name == tname
        p._data[...] = tp.detach().numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_matches_torch(dtype, bias, shape):
    torch.manual_seed(0)
    twin = torch.nn.Linear(3, 4, bias=bias).to(getattr(torch, dtype))
    layer = nn.Linear(3, 4, bias=bias, dtype=getattr(nerve, dtype))
    _copy(layer, twin)
    x_np = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = layer(x), twin(tx)
    assert_close(y, ty)
    g = np.random.default_rng(1).standard_normal(ty.shape).astype(dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad)
    assert_close(layer.weight.grad, twin.weight.grad)
    if bias:
        assert_close(layer.bias.grad, twin.bias.grad)
    assert repr(layer) == repr(twin)
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in twin.named_parameters()]


def test_linear_second_derivative_matches_torch():
    rng = np.random.default_rng(2)
    w, x_np = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    layer = nn.Linear(3, 4, dtype=nerve.float64)
    layer.weight._data[...] = w
    twin = torch.nn.Linear(3, 4).double()
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(w))
        twin.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    (gx,) = nerve.autograd.grad((layer(x).tanh() ** 2).sum(), [x], create_graph=True)
    (gx * gx).sum().backward()
    (tgx,) = torch.autograd.grad((twin(tx).tanh() ** 2).sum(), [tx], create_graph=True)
    (tgx * tgx).sum().backward()
    assert_close(x.grad, tx.grad)
    assert_close(layer.weight.grad, twin.weight.grad)


def test_linear_default_init_is_pytorchs_distribution():
    nerve.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # U(-a, a) has std a/sqrt 3
    assert abs(w.mean()) < 0.01 * bound
    assert layer.weight.dtype == nerve.float32 and layer.weight.requires_grad
    nerve.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.detach().numpy(), w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bilinear_matches_torch(dtype):
    torch.manual_seed(0)
    twin = torch.nn.Bilinear(3, 2, 4).to(getattr(torch, dtype))
    layer = nn.Bilinear(3, 2, 4, dtype=getattr(nerve, dtype))
    _copy(layer, twin)
    rng = np.random.default_rng(3)
    a_np, b_np = (
        rng.standard_normal((2, 5, 3)).astype(dtype),
        rng.standard_normal((2, 5, 2)).astype(dtype),
    )
    a, b = nerve.tensor(a_np, requires_grad=True), nerve.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    y, ty = layer(a, b), twin(ta, tb)
    assert_close(y, ty, scale=10)
    y.sum().backward()
    ty.sum().backward()
    for ours, theirs in ((a, ta), (b, tb), (layer.weight, twin.weight), (layer.bias, twin.bias)):
        assert_close(ours.grad, theirs.grad, scale=10)
    assert repr(layer) == repr(twin)


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (1, 2), (-2, -1)])
def test_flatten_matches_torch(start, end):
    x_np = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    x = nerve.tensor(x_np, requires_grad=True)
    y = nn.Flatten(start, end)(x)
    ty = torch.nn.Flatten(start, end)(torch.tensor(x_np))
    assert_close(y, ty)
    y.sum().backward()
    assert_close(x.grad, np.ones_like(x_np))
    assert repr(nn.Flatten(start, end)) == repr(torch.nn.Flatten(start, end))


def test_unflatten_matches_torch():
    x_np = np.arange(24, dtype=np.float64).reshape(2, 12)
    for sizes in [(3, 4), (2, -1), (12,)]:
        y = nn.Unflatten(1, sizes)(nerve.tensor(x_np))
        assert_close(y, torch.nn.Unflatten(1, sizes)(torch.tensor(x_np)))
    assert repr(nn.Unflatten(1, (3, 4))) == repr(torch.nn.Unflatten(1, (3, 4)))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"Linear: in_features must be a positive integer, got -1"):
        nn.Linear(-1, 3)
    with pytest.raises(
        ValueError,
        match=r"Linear: out_features must be a positive integer, "
        r"got 2.5",
    ):
        nn.Linear(3, 2.5)
    with pytest.raises(ValueError, match=r"Bilinear: in2_features must be a positive integer"):
        nn.Bilinear(3, 0, 2)
    with pytest.raises(
        ValueError,
        match=r"Unflatten: unflattened_size must be a tuple of "
        r"positive ints",
    ):
        nn.Unflatten(1, (-1, -1))


def test_forward_errors_name_layer_expected_and_received():
    with pytest.raises(
        ValueError,
        match=r"Linear\(in_features=3, out_features=2, bias=True\): "
        r"expected input of shape \(\*, 3\), got \(4, 5\)",
    ):
        nn.Linear(3, 2)(nerve.randn(4, 5))
    with pytest.raises(
        TypeError,
        match=r"input dtype nerve.float64 does not match the weight dtype "
        r"nerve.float32",
    ):
        nn.Linear(3, 2)(nerve.randn(4, 3, dtype=nerve.float64))
    with pytest.raises(TypeError, match=r"expected a Tensor input, got list"):
        nn.Linear(3, 2)([1.0, 2.0, 3.0])
    with pytest.raises(
        ValueError,
        match=r"Bilinear\(.*\): expected x2 of shape \(\*, 2\), "
        r"got \(4, 3\)",
    ):
        nn.Bilinear(3, 2, 1)(nerve.randn(4, 3), nerve.randn(4, 3))
    with pytest.raises(
        ValueError,
        match=r"Unflatten\(dim=1, unflattened_size=\(3, 4\)\): dim 1 of "
        r"the input has size 10",
    ):
        nn.Unflatten(1, (3, 4))(nerve.randn(2, 10))
    with pytest.raises(
        ValueError,
        match=r"Flatten\(start_dim=1, end_dim=-1\): dim 1 is out of "
        r"range for an input of shape \(3,\)",
    ):
        nn.Flatten()(nerve.randn(3))


def test_gradcheck_linear_and_bilinear():
    rng = np.random.default_rng(4)
    a, b, w, bias = (
        nerve.tensor(rng.standard_normal(s), requires_grad=True)
        for s in [(3, 2), (3, 4), (5, 2, 4), (5,)]
    )
    assert nerve.autograd.gradcheck(nn.functional.bilinear, (a, b, w, bias))
    assert nerve.autograd.gradcheck(nn.functional.linear, (b, w[:, 0], bias))
