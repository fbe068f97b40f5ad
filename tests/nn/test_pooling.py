"""Max, average and adaptive pooling (layers and functions) against PyTorch; a case by hand;
ties and NaN; return_indices; errors."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F
from nerve import nn
from nerve.autograd import gradcheck

TF = torch.nn.functional


def _compare(fn, tfn, x_np, relu=False):
    """Outputs (values and indices) and the input gradient of fn vs tfn."""
    if relu:  # many exact ties at zero, as after a ReLU
        x_np = np.maximum(x_np, 0)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = fn(x), tfn(tx)
    if isinstance(ty, tuple):
        (y, idx), (ty, tidx) = y, ty
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        assert idx.dtype == nerve.int64
    assert_close(y, ty)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(x_np.dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad)


MAX2D_CASES = [
    # input shape, kwargs
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 3))),
    ((1, 2, 5, 5), dict(kernel_size=5)),  # 1-pixel output, batch 1
    ((2, 2, 7, 7), dict(kernel_size=1, stride=2)),
    ((2, 2, 6, 6), dict(kernel_size=3, stride=1, padding=1)),  # overlapping windows
    ((3, 4, 5), dict(kernel_size=2, ceil_mode=True)),  # unbatched
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape, kwargs", MAX2D_CASES)
def test_max_pool2d_matches_torch(shape, kwargs, relu, dtype):
    x_np = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(
        lambda x: F.max_pool2d(x, return_indices=True, **kwargs),
        lambda x: TF.max_pool2d(x, return_indices=True, **kwargs),
        x_np,
        relu,
    )
    layer = nn.MaxPool2d(**kwargs)
    _compare(layer, torch.nn.MaxPool2d(**kwargs), x_np, relu)


@pytest.mark.parametrize(
    "kwargs",
    [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, dilation=2)],
)
def test_max_pool1d_matches_torch(kwargs):
    x_np = np.random.default_rng(0).standard_normal((2, 3, 11))
    _compare(
        lambda x: F.max_pool1d(x, return_indices=True, **kwargs),
        lambda x: TF.max_pool1d(x, return_indices=True, **kwargs),
        x_np,
        relu=True,
    )
    _compare(nn.MaxPool1d(**kwargs), torch.nn.MaxPool1d(**kwargs), x_np)


def test_max_pool_non_contiguous_input_and_layout():
    base = np.random.default_rng(0).standard_normal((2, 8, 9, 3))
    x_np = base.transpose(0, 3, 1, 2)  # channels-last storage
    _compare(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x_np)
    # A gradient arriving in another memory order than the pooled input.
    x = nerve.Tensor._wrap(x_np).requires_grad_()
    tx = torch.tensor(np.ascontiguousarray(x_np), requires_grad=True)
    w = np.random.default_rng(1).standard_normal((3, 4, 4))
    (F.max_pool2d(x, 2) * nerve.tensor(w)).sum().backward()
    (TF.max_pool2d(tx, 2) * torch.tensor(w)).sum().backward()
    assert_close(x.grad, tx.grad)


def test_max_pool_nan_wins_and_ties_take_the_first():
    x_np = np.array([[[[1.0, 1.0, 0.0, np.nan], [1.0, 0.5, 2.0, 3.0]]]])
    _compare(
        lambda x: F.max_pool2d(x, 2, return_indices=True),
        lambda x: TF.max_pool2d(x, 2, return_indices=True),
        x_np,
    )
    y, idx = F.max_pool2d(nerve.tensor(x_np), 2, return_indices=True)
    assert idx.tolist() == [[[[0, 3]]]] and np.isnan(y.numpy()[0, 0, 0, 1])


def test_max_pool_by_hand():
    x = nerve.tensor([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 7.0, 1.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert y.tolist() == [[[[5.0, 7.0]]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]]]


AVG_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (
        (2, 3, 9, 7),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    ),
    (
        (2, 3, 7, 6),
        dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), count_include_pad=False),
    ),
    ((2, 3, 7, 7), dict(kernel_size=2, divisor_override=3)),
    ((1, 1, 4, 4), dict(kernel_size=4)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, kwargs", AVG_CASES)
def test_avg_pool2d_matches_torch(shape, kwargs, dtype):
    x_np = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(lambda x: F.avg_pool2d(x, **kwargs), lambda x: TF.avg_pool2d(x, **kwargs), x_np)
    _compare(nn.AvgPool2d(**kwargs), torch.nn.AvgPool2d(**kwargs), x_np)


def test_avg_pool1d_matches_torch():
    kwargs = dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)
    x_np = np.random.default_rng(0).standard_normal((2, 3, 9))
    _compare(lambda x: F.avg_pool1d(x, **kwargs), lambda x: TF.avg_pool1d(x, **kwargs), x_np)
    _compare(nn.AvgPool1d(**kwargs), torch.nn.AvgPool1d(**kwargs), x_np)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("out", [(4, 3), (4, 2), 1, (1, 1), (None, 2), (9, 7), (5, 6)])
def test_adaptive_pool2d_matches_torch(out, dtype):
    shape = (2, 3, 9, 7) if out != (4, 2) else (2, 3, 8, 8)
    x_np = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out), x_np)
    _compare(
        lambda x: F.adaptive_max_pool2d(x, out, return_indices=True),
        lambda x: TF.adaptive_max_pool2d(x, out, return_indices=True),
        x_np,
        relu=True,
    )
    _compare(nn.AdaptiveMaxPool2d(out), torch.nn.AdaptiveMaxPool2d(out), x_np)


@pytest.mark.parametrize("out", [4, 1, 10, 3])
def test_adaptive_avg_pool1d_matches_torch(out):
    x_np = np.random.default_rng(0).standard_normal((2, 3, 10))
    _compare(
        lambda x: F.adaptive_avg_pool1d(x, out), lambda x: TF.adaptive_avg_pool1d(x, out), x_np
    )
    _compare(nn.AdaptiveAvgPool1d(out), torch.nn.AdaptiveAvgPool1d(out), x_np)


def test_pooling_gradcheck_float64():
    x = nerve.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))


def test_second_derivative_of_max_pool_raises():
    x = nerve.randn(1, 1, 4, 4, requires_grad=True)
    (gx,) = nerve.autograd.grad((F.max_pool2d(x, 2) ** 2).sum(), (x,), create_graph=True)
    with pytest.raises(RuntimeError, match="MaxPool2dFn.*cannot be differentiated twice"):
        gx.sum().backward()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.MaxPool2d(0), r"MaxPool2d: kernel_size must be a positive int.*got 0"),
        (lambda: nn.MaxPool2d(2, stride=0), r"MaxPool2d: stride must be a positive int.*got 0"),
        (lambda: nn.MaxPool2d(2, padding=2), r"MaxPool2d: padding must be at most half"),
        (lambda: nn.AvgPool2d(3, padding=-1), r"AvgPool2d: padding must be a non-negative"),
        (lambda: nn.MaxPool1d((2, 2)), r"MaxPool1d: kernel_size must be .*tuple of 1"),
    ],
)
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d: kernel size 5 \(after dilation\) is larger "
        r"than the padded input 4",
    ):
        nn.MaxPool2d(5)(nerve.randn(1, 1, 4, 8))
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d: expected input of shape \(N, C, H, W\) or "
        r"\(C, H, W\), got \(8,\)",
    ):
        nn.MaxPool2d(2)(nerve.randn(8))
    with pytest.raises(ValueError, match=r"avg_pool1d: expected input of shape \(N, C, L\)"):
        F.avg_pool1d(nerve.randn(1, 2, 3, 4), 2)
    with pytest.raises(TypeError, match="max_pool2d: expected a floating point input"):
        F.max_pool2d(nerve.tensor([[[[1, 2], [3, 4]]]]), 2)
    with pytest.raises(
        ValueError,
        match=r"adaptive_avg_pool2d: output_size must be an int or a "
        r"tuple of 2",
    ):
        F.adaptive_avg_pool2d(nerve.randn(1, 1, 4, 4), (1, 2, 3))
    with pytest.raises(ValueError, match="AvgPool2d: divisor_override must be a positive int"):
        nn.AvgPool2d(2, divisor_override=0)(nerve.randn(1, 1, 4, 4))
