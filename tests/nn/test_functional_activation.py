"""nerve.nn.functional activations: values against PyTorch (incl. extreme inputs that must not
overflow), the identities they satisfy, and argument errors. Gradients and second derivatives of
the issue's activations are in tests/ops/test_ops_vs_torch.py (the F.* rows of the table)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F

EXTREME = np.array([-1000.0, -50.0, -20.5, -1.0, -1e-8, 0.0, 1e-8, 1.0, 19.9, 20.5, 50.0, 1000.0])

ACTIVATIONS = {
    "sigmoid": (lambda x: F.sigmoid(x), lambda x: torch.sigmoid(x)),
    "tanh": (lambda x: F.tanh(x), lambda x: torch.tanh(x)),
    "relu": (lambda x: F.relu(x), lambda x: TF.relu(x)),
    "relu6": (lambda x: F.relu6(x), lambda x: TF.relu6(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x), lambda x: TF.elu(x)),
    "gelu": (lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: TF.gelu(x, approximate="tanh"),
    ),
    "silu": (lambda x: F.silu(x), lambda x: TF.silu(x)),
    "mish": (lambda x: F.mish(x), lambda x: TF.mish(x)),
    "softplus": (lambda x: F.softplus(x), lambda x: TF.softplus(x)),
    "softplus_beta": (
        lambda x: F.softplus(x, beta=0.5, threshold=10),
        lambda x: TF.softplus(x, beta=0.5, threshold=10),
    ),
    "hardtanh": (lambda x: F.hardtanh(x, -2.0, 2.0), lambda x: TF.hardtanh(x, -2.0, 2.0)),
    "softmax": (lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=0), lambda x: TF.log_softmax(x, dim=0)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_extreme_inputs_match_torch_without_overflow(name, dtype):
    mine_fn, torch_fn = ACTIVATIONS[name]
    data = EXTREME.astype(dtype)
    x = nerve.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings from NumPy
        y = mine_fn(x)
        (g,) = nerve.autograd.grad(y.sum(), x)
    yt = torch_fn(xt)
    (gt,) = torch.autograd.grad(yt.sum(), xt)
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(g.numpy()).all()
    assert_close(y, yt, scale=4)
    assert_close(g, gt, scale=4)


def test_known_values():
    x = nerve.tensor([-2.0, 0.0, 3.0])
    assert F.relu(x).tolist() == [0.0, 0.0, 3.0]
    assert F.leaky_relu(x, 0.5).tolist() == [-1.0, 0.0, 3.0]
    assert F.sigmoid(nerve.tensor(0.0)).item() == 0.5
    assert F.gelu(nerve.tensor(0.0)).item() == 0.0
    assert F.elu(nerve.tensor(-1e9)).item() == -1.0
    assert F.silu(nerve.tensor(0.0)).item() == 0.0
    assert F.softplus(nerve.tensor(0.0)).item() == pytest.approx(np.log(2.0))


def test_softmax_identities():
    x = nerve.randn(4, 6, generator=nerve.Generator().manual_seed(0))
    for dim in (0, 1, -1):
        p = F.softmax(x, dim=dim)
        np.testing.assert_allclose(p.sum(dim).numpy(), 1.0, rtol=1e-6)
        assert_close(F.log_softmax(x, dim=dim), p.log(), scale=2)
        assert_close(F.softmax(x + 100.0, dim=dim), p, scale=2)  # shift invariance
    assert_close(x.softmax(1), F.softmax(x, 1))
    assert_close(nerve.softmax(x, 1), F.softmax(x, 1))


def test_softmax_dtype_argument_and_implicit_dim():
    x = nerve.tensor([[1, 2], [3, 5]])
    p = F.softmax(x, dim=1, dtype=nerve.float64)
    assert p.dtype is nerve.float64
    assert_close(p, TF.softmax(torch.tensor([[1, 2], [3, 5]]), dim=1, dtype=torch.float64))
    y = nerve.randn(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.softmax(torch.tensor(y.numpy()))  # PyTorch's legacy implicit dim
    assert_close(F.softmax(y), expected)


def test_gelu_forms_are_close():
    x = nerve.linspace(-4, 4, 101, dtype=nerve.float64)
    exact, approx = F.gelu(x), F.gelu(x, approximate="tanh")
    assert np.abs((exact - approx).numpy()).max() < 1e-3


def test_relu_inplace():
    x = nerve.tensor([-1.0, 2.0])
    out = F.relu(x, inplace=True)
    assert out is x and x.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu", "silu", "softmax", "log_softmax"])
def test_integer_and_bool_inputs_are_rejected(name):
    fn = getattr(F, name)
    args = (0,) if name in ("softmax", "log_softmax") else ()
    with pytest.raises(
        TypeError, match=f"{name}: expected a floating point tensor, got nerve.int64"
    ):
        fn(nerve.tensor([1, 2]), *args)
    with pytest.raises(
        TypeError, match=f"{name}: expected a floating point tensor, got nerve.bool"
    ):
        fn(nerve.tensor([True]), *args)
    with pytest.raises(TypeError, match=f"{name}: expected a Tensor, got list"):
        fn([1.0], *args)


def test_argument_errors():
    x = nerve.ones(2, 3)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range for a tensor with 2 dims"):
        F.softmax(x, dim=2)
    with pytest.raises(ValueError, match="softmax: temperature must be positive, got 0"):
        F.softmax(x, dim=1, temperature=0)
