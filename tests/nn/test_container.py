"""Sequential: a Linear followed by its activation runs as one fused op, with the numbers, the
gradients and the second derivatives of the two ops in turn, and of PyTorch's twin; a ReLU
followed by a MaxPool2d runs after the pooling, with the same numbers and gradients."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn
from nerve.ops.linalg import LinearActivation

ACTIVATIONS = [(nn.Tanh, torch.nn.Tanh), (nn.ReLU, torch.nn.ReLU), (nn.Sigmoid, torch.nn.Sigmoid)]


def _pair(act, tact, dtype, bias=True, shape=(6, 3)):
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 5, bias=bias), tact(), torch.nn.Linear(5, 2))
    twin = twin.to(getattr(torch, dtype))
    model = nn.Sequential(nn.Linear(3, 5, bias=bias), act(), nn.Linear(5, 2)).to(
        getattr(nerve, dtype)
    )
    model.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    return model, twin, x


def _by_hand(model, x):
    """The layers called one at a time: no fusion."""
    for layer in model:
        x = layer(x)
    return x


@pytest.mark.parametrize("act, tact", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (2, 4, 3), (3,), (0, 3)])
def test_fused_sequential_matches_torch_and_the_unfused_layers(act, tact, dtype, bias, shape):
    model, twin, x_np = _pair(act, tact, dtype, bias, shape)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = model(x), twin(tx)
    assert_close(y, ty)
    g = np.random.default_rng(1).standard_normal(ty.shape).astype(dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad)
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        assert_close(p.grad, tp.grad)

    # The fused op gives exactly the numbers of the two ops in turn.
    fused_grads = [p.grad.detach().numpy().copy() for p in model.parameters()]
    model.zero_grad()
    x2 = nerve.tensor(x_np, requires_grad=True)
    y2 = _by_hand(model, x2)
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())
    y2.backward(nerve.tensor(g))
    np.testing.assert_array_equal(x.grad.detach().numpy(), x2.grad.detach().numpy())
    for fused, p in zip(fused_grads, model.parameters(), strict=True):
        np.testing.assert_array_equal(fused, p.grad.detach().numpy())


def test_the_pair_is_one_graph_node():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    y = model(nerve.randn(4, 2))
    assert type(y.grad_fn) is LinearActivation
    assert y.grad_fn.name() == "LinearActivationBackward"
    assert type(_by_hand(model, nerve.randn(4, 2)).grad_fn).__name__ == "Tanh"


@pytest.mark.parametrize("act, tact", ACTIVATIONS)
def test_second_derivative_through_the_fused_op_matches_torch(act, tact):
    model, twin, x_np = _pair(act, tact, "float64")
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    (gx,) = nerve.autograd.grad((model(x) ** 2).sum(), [x], create_graph=True)
    (gx * gx).sum().backward()
    (tgx,) = torch.autograd.grad((twin(tx) ** 2).sum(), [tx], create_graph=True)
    (tgx * tgx).sum().backward()
    assert_close(x.grad, tx.grad)
    for p, tp in zip(model.parameters(), twin.parameters(), strict=True):
        assert_close(p.grad, tp.grad)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_gradcheck_linear_activation(activation):
    rng = np.random.default_rng(3)
    x, w, b = (nerve.tensor(rng.standard_normal(s), requires_grad=True) for s in [(4, 3), (2, 3), (2,)])
    assert nerve.autograd.gradcheck(lambda x, w, b: LinearActivation.apply(x, w, b, activation), (x, w, b))


def test_a_hook_or_a_subclass_keeps_the_layers_apart():
    seen = []
    act = nn.Tanh()
    act.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    model = nn.Sequential(nn.Linear(2, 3), act)
    y = model(nerve.randn(4, 2))
    assert seen == [nerve.Size([4, 3])] and type(y.grad_fn).__name__ == "Tanh"

    class Doubled(nn.Tanh):
        def forward(self, x):
            return 2 * super().forward(x)

    model = nn.Sequential(nn.Linear(2, 3), Doubled())
    x = nerve.randn(4, 2)
    np.testing.assert_allclose(model(x).detach().numpy(), 2 * np.tanh(model[0](x).detach().numpy()), rtol=1e-6)

    linear = nn.Linear(2, 3)
    calls = []
    linear.register_forward_pre_hook(lambda module, args: calls.append(1))
    nn.Sequential(linear, nn.ReLU())(x)
    assert calls == [1]


def test_sequences_that_do_not_pair_run_layer_by_layer():
    x = nerve.randn(4, 2)
    for layers in (
        [nn.Linear(2, 3)],
        [nn.Linear(2, 3), nn.Linear(3, 3), nn.ReLU()],
        [nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)],
        [nn.Tanh(), nn.Linear(2, 3)],
    ):
        model = nn.Sequential(*layers)
        np.testing.assert_array_equal(model(x).detach().numpy(), _by_hand(model, x).detach().numpy())


def test_a_wrong_input_is_reported_by_the_linear_layer():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"Linear\(in_features=2, .*expected input of shape \(\*, 2\), got \(4, 5\)"):
        model(nerve.randn(4, 5))
    with pytest.raises(TypeError, match="input dtype nerve.float64 does not match the weight dtype"):
        model(nerve.randn(4, 2, dtype=nerve.float64))


def test_in_place_change_of_the_fused_output_is_detected():
    y = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid())(nerve.randn(4, 2))
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


# ------------------------------------------------------------- ReLU then MaxPool2d: pool first
POOLS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=3, stride=2, ceil_mode=True),
]


def _relu_pool_input(dtype):
    """Windows of every kind: all negative, zeros, ties of positives, a NaN."""
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 9)).astype(dtype)
    x[0, 0, :4, :4] = -1.0  # negative windows: no gradient at all
    x[0, 1, :4, :4] = 0.0  # relu's slope at 0 is 0, as PyTorch
    x[1, 0, :4, :4] = 2.0  # ties: the first maximum takes the gradient
    x[1, 2, 5, 5] = np.nan
    return x


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_then_maxpool_pools_first_with_the_same_numbers_and_gradients(pool, dtype):
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool))
    x_np = _relu_pool_input(dtype)
    x, x2 = nerve.tensor(x_np, requires_grad=True), nerve.tensor(x_np, requires_grad=True)
    y, y2 = model(x), _by_hand(model, x2)
    assert type(y.grad_fn).__name__ == "Relu" and type(y2.grad_fn).__name__ != "Relu"
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())
    g = np.random.default_rng(3).standard_normal(y.shape).astype(dtype)
    y.backward(nerve.tensor(g))
    y2.backward(nerve.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())

    twin = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(**pool))
    tx = torch.tensor(x_np, requires_grad=True)
    ty = twin(tx)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    # overlapping windows sum two gradients, maybe in another order than PyTorch: 1 ulp
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_relu_and_maxpool_stay_in_order_when_hooked_or_returning_indices():
    x = nerve.tensor(_relu_pool_input("float32"))
    seen = []
    relu = nn.ReLU()
    relu.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    y = nn.Sequential(relu, nn.MaxPool2d(2))(x)
    assert seen == [x.shape] and type(y.grad_fn).__name__ != "Relu"
    pool = nn.MaxPool2d(2)
    pool.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    nn.Sequential(nn.ReLU(), pool)(x)
    assert seen[-1] == x.shape
    out, index = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))(x)
    expected, expected_index = nn.MaxPool2d(2, return_indices=True)(nn.ReLU()(x))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_array_equal(index.numpy(), expected_index.numpy())
    for layers in ([nn.ReLU()], [nn.ReLU(), nn.ReLU(), nn.MaxPool2d(2)], [nn.ReLU(), nn.AvgPool2d(2)]):
        model = nn.Sequential(*layers)
        np.testing.assert_array_equal(model(x).numpy(), _by_hand(model, x).numpy())
