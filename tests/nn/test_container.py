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


# ------------------------------------------------- Conv2d then MaxPool2d(2): one op, same numbers
CONV_POOL_CASES = [
    # (N, C, H, W), out channels, kernel, padding, dilation, groups, bias, relu between
    ((3, 1, 12, 12), 6, 5, 2, 1, 1, True, True),  # LeNet's first block
    ((2, 6, 9, 11), 16, 3, 0, 1, 1, True, False),  # odd output 7x9: the last row and column drop
    ((2, 4, 10, 10), 6, 3, "same", 2, 2, False, True),  # groups, dilation, no bias
    ((1, 3, 6, 6), 3, 3, 1, 1, 3, True, True),  # depthwise, batch 1
]


def _conv_pool_model(out_ch, c, kernel, padding, dilation, groups, bias, relu, dtype="float32"):
    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(c, out_ch, kernel, 1, padding, dilation, groups, bias)]
    layers += [torch.nn.ReLU()] if relu else []
    twin = torch.nn.Sequential(*layers, torch.nn.MaxPool2d(2)).to(getattr(torch, dtype))
    ours = [nn.Conv2d(c, out_ch, kernel, 1, padding, dilation, groups, bias)]
    ours += [nn.ReLU()] if relu else []
    model = nn.Sequential(*ours, nn.MaxPool2d(2)).to(getattr(nerve, dtype))
    model.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in twin.state_dict().items()})
    return model, twin


def _run_both(model, x_np, g_np, fused):
    x = nerve.tensor(x_np, requires_grad=True)
    y = model(x) if fused else _by_hand(model, x)
    model.zero_grad()
    y.backward(nerve.tensor(g_np))
    return y, [y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]


@pytest.mark.parametrize("case", CONV_POOL_CASES)
def test_conv_then_maxpool_is_one_op_with_the_numbers_of_the_layers_in_turn(case):
    shape, out_ch, kernel, padding, dilation, groups, bias, relu = case
    model, twin = _conv_pool_model(out_ch, shape[1], kernel, padding, dilation, groups, bias, relu)
    x_np = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x_np[0, 0, 1, 1:4] = np.nan  # NaN wins its window, as in max_pool2d
    x_np[-1, -1, 4:, 4:] = 0.5  # flat windows: ties
    y_ref = _by_hand(model, nerve.tensor(x_np))
    g_np = np.random.default_rng(1).standard_normal(y_ref.shape).astype(np.float32)
    y, fused = _run_both(model, x_np, g_np, fused=True)
    assert "Conv2dMaxPool2" in type(y.grad_fn).__name__ or type(y.grad_fn).__name__ == "Relu"
    _, plain = _run_both(model, x_np, g_np, fused=False)
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(a, b)

    finite = np.nan_to_num(x_np)  # against PyTorch without NaN (its sums may round differently)
    tx = torch.tensor(finite, requires_grad=True)
    ty = twin(tx)
    ty.backward(torch.tensor(g_np))
    y, ours = _run_both(model, finite, g_np, fused=True)
    theirs = [ty.detach().numpy(), tx.grad.numpy()] + [p.grad.numpy() for p in twin.parameters()]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(b).max(initial=0)))


def test_conv_then_maxpool_fuses_only_what_it_can():
    x = nerve.randn(2, 3, 8, 8)
    names = lambda model: type(model(x).grad_fn).__name__  # noqa: E731
    # float64, a stride, another pooling, a hook, a padding mode: the layers run in turn
    assert names(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2))) == "Conv2dMaxPool2Fn"
    assert names(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2, stride=1))) != "Conv2dMaxPool2Fn"
    assert names(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(3))) != "Conv2dMaxPool2Fn"
    assert names(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.MaxPool2d(2))) != "Conv2dMaxPool2Fn"
    assert names(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), nn.MaxPool2d(2))) != "Conv2dMaxPool2Fn"
    assert names(nn.Sequential(nn.Conv2d(3, 64, 3), nn.MaxPool2d(2))) != "Conv2dMaxPool2Fn"  # wide: GEMM
    conv = nn.Conv2d(3, 4, 3)
    conv.register_forward_hook(lambda module, args, out: None)
    assert names(nn.Sequential(conv, nn.MaxPool2d(2))) != "Conv2dMaxPool2Fn"
    model64 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2)).to(nerve.float64)
    x64 = x.to(nerve.float64)
    np.testing.assert_array_equal(model64(x64).detach().numpy(), _by_hand(model64, x64).detach().numpy())
    # unbatched input and a convolution too small to pool give what the layers give
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2))
    np.testing.assert_array_equal(model(x[0]).detach().numpy(), _by_hand(model, x[0]).detach().numpy())
    tiny = nn.Sequential(nn.Conv2d(3, 4, 8), nn.MaxPool2d(2))  # a 1x1 output
    with pytest.raises(ValueError) as fused_error:
        tiny(x)
    with pytest.raises(ValueError) as plain_error:
        _by_hand(tiny, x)
    assert str(fused_error.value) == str(plain_error.value)
