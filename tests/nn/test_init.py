"""nn.init: gains and fans equal PyTorch's; each initializer draws from PyTorch's distribution
(checked by its moments and bounds on large tensors); deterministic fills equal PyTorch's;
seeding, generators, and errors."""

import math

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.nn import init


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param)
    )


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (6, 2, 7), (2, 3, 2, 2, 2)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(
        nerve.empty(*shape)
    ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _std_and_bound(fn, shape=(300, 400), **kwargs):
    nerve.manual_seed(0)
    w = nerve.empty(*shape)
    out = fn(w, **kwargs)
    assert out is w
    return w.numpy()


@pytest.mark.parametrize("kwargs", [{}, {"gain": 2.0}])
def test_xavier(kwargs):
    gain = kwargs.get("gain", 1.0)
    std = gain * math.sqrt(2 / (300 + 400))
    w = _std_and_bound(init.xavier_uniform_, **kwargs)
    assert np.abs(w).max() <= math.sqrt(3) * std + 1e-7
    assert w.std() == pytest.approx(std, rel=0.02)
    w = _std_and_bound(init.xavier_normal_, **kwargs)
    assert w.std() == pytest.approx(std, rel=0.02) and abs(w.mean()) < 0.02 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.1), ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    fan = 400 * 9 if mode == "fan_in" else 300 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    shape = (300, 400, 3, 3)
    w = _std_and_bound(init.kaiming_uniform_, shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert np.abs(w).max() <= math.sqrt(3) * std + 1e-7
    assert w.std() == pytest.approx(std, rel=0.01)
    w = _std_and_bound(init.kaiming_normal_, shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert w.std() == pytest.approx(std, rel=0.01)


def test_uniform_normal_trunc_normal_moments():
    w = _std_and_bound(init.uniform_, a=-2.0, b=4.0)
    assert w.min() >= -2 and w.max() < 4 and w.mean() == pytest.approx(1.0, abs=0.02)
    w = _std_and_bound(init.normal_, mean=3.0, std=0.5)
    assert w.mean() == pytest.approx(3.0, abs=0.01) and w.std() == pytest.approx(0.5, rel=0.01)
    w = _std_and_bound(init.trunc_normal_, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert w.min() >= -1 and w.max() <= 2
    # moments of N(0, 1) truncated to [-1, 2]: mean = (phi(-1) - phi(2)) / Z
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    assert w.mean() == pytest.approx((phi(-1) - phi(2)) / (cdf(2) - cdf(-1)), abs=0.01)


@pytest.mark.parametrize("shape, gain", [((6, 4), 1.0), ((4, 6), 2.0), ((5, 2, 3), 1.0)])
def test_orthogonal(shape, gain):
    w = _std_and_bound(init.orthogonal_, shape, gain=gain)
    flat = w.reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-5)


@pytest.mark.parametrize(
    "name, args",
    [("constant_", (0.3,)), ("zeros_", ()), ("ones_", ()), ("eye_", ()), ("dirac_", ())],
)
def test_deterministic_fills_equal_torch(name, args):
    shape = (4, 4, 3, 3) if name == "dirac_" else (3, 5)
    ours = getattr(init, name)(nerve.empty(*shape), *args)
    theirs = getattr(torch.nn.init, name)(torch.empty(*shape), *args)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_generator_and_seed_reproducibility():
    w1, w2 = nerve.empty(5, 5), nerve.empty(5, 5)
    init.kaiming_uniform_(w1, generator=nerve.Generator().manual_seed(3))
    init.kaiming_uniform_(w2, generator=nerve.Generator().manual_seed(3))
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    nerve.manual_seed(9)
    a = nn.Linear(4, 4).weight.detach().numpy().copy()
    nerve.manual_seed(9)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.detach().numpy(), a)


def test_init_writes_in_place_on_parameters_without_a_graph():
    layer = nn.Linear(3, 2)
    p = layer.weight
    version = p._version
    init.zeros_(p)
    assert p is layer.weight and not p.numpy(force=True).any()
    assert p.requires_grad and p.grad_fn is None and p._version > version
    assert p.dtype == nerve.float32


def test_errors():
    with pytest.raises(
        ValueError,
        match=r"fan in and fan out can not be computed for a tensor "
        r"with fewer than 2 dimensions, got shape \(3,\)",
    ):
        init.xavier_uniform_(nerve.empty(3))
    with pytest.raises(ValueError, match=r"calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match=r"init: mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_normal_(nerve.empty(2, 2), mode="fan")
    with pytest.raises(ValueError, match=r"init.orthogonal_: only tensors with 2 or more"):
        init.orthogonal_(nerve.empty(4))
    with pytest.raises(ValueError, match=r"init.trunc_normal_: expected a < b, got a=2, b=1"):
        init.trunc_normal_(nerve.empty(3), a=2, b=1)
    with pytest.raises(TypeError, match=r"init.normal_: expected a Tensor, got ndarray"):
        init.normal_(np.zeros(3))
