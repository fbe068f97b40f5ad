"""Dropout layers: statistics of the mask, the scaling, the gradient, train/eval, seeding."""

import numpy as np
import pytest
import torch

import nerve
import nerve.nn.functional as F
from nerve import nn


def test_eval_mode_is_the_identity():
    x = nerve.randn(4, 5, requires_grad=True)
    drop = nn.Dropout(0.5).eval()
    y = drop(x)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 5)))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_train_mode_zeros_a_fraction_p_and_rescales(p, dtype):
    nerve.manual_seed(0)
    x = nerve.ones(200, 500, dtype=getattr(nerve, dtype), requires_grad=True)
    y = nn.Dropout(p)(x)
    out = y.detach().numpy()
    assert out.dtype == np.dtype(dtype)
    dropped = (out == 0).mean()
    assert abs(dropped - p) < 0.01  # 100,000 draws: the standard error is < 0.002
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.03)  # expectation preserved
    y.backward(nerve.ones(200, 500, dtype=getattr(nerve, dtype)))
    np.testing.assert_array_equal(x.grad.numpy(), out)  # d y / d x = mask / (1 - p)


def test_matches_torch_given_the_same_mask():
    """y = x * mask / (1 - p): recover nerve's mask and apply it in torch."""
    nerve.manual_seed(3)
    x_np = np.random.default_rng(0).standard_normal((6, 7))
    x = nerve.tensor(x_np, requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    mask = (y.detach().numpy() != 0).astype(np.float64)
    tx = torch.tensor(x_np, requires_grad=True)
    ty = tx * torch.tensor(mask) / 0.7
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-15)
    g = np.random.default_rng(1).standard_normal((6, 7))
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)


def test_reproducible_under_manual_seed_and_generator():
    x = nerve.ones(50, 50)
    nerve.manual_seed(7)
    a = nn.Dropout(0.5)(x).numpy()
    nerve.manual_seed(7)
    b = nn.Dropout(0.5)(x).numpy()
    c = nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    g1, g2 = nerve.Generator().manual_seed(1), nerve.Generator().manual_seed(1)
    np.testing.assert_array_equal(
        F.dropout(x, 0.5, generator=g1).numpy(), nn.Dropout(0.5, generator=g2)(x).numpy()
    )


def test_p_zero_and_one():
    x = nerve.randn(3, 4, requires_grad=True)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).detach().numpy(), x.detach().numpy())
    y = nn.Dropout(1.0)(x)
    assert not y.detach().numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()


@pytest.mark.parametrize(
    "cls, shape, spatial",
    [
        (nn.Dropout2d, (8, 16, 3, 3), 2),
        (nn.Dropout2d, (16, 3, 3), 2),
        (nn.Dropout1d, (8, 16, 5), 1),
        (nn.Dropout3d, (4, 8, 2, 2, 2), 3),
    ],
)
def test_channel_dropout_zeros_whole_channels(cls, shape, spatial):
    nerve.manual_seed(0)
    out = cls(0.5)(nerve.ones(*shape)).numpy()
    per_channel = out.reshape(out.shape[: out.ndim - spatial] + (-1,))
    # each channel is all zero or all 2 (= 1 / (1 - p))
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_inplace_writes_into_the_input():
    nerve.manual_seed(0)
    x = nerve.ones(10, 10)
    y = nn.Dropout(0.5, inplace=True)(x)
    assert y is x and (x.numpy() == 0).any()


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(
        ValueError, match=r"Dropout2d: p must be a probability in \[0, 1\], got -0.1"
    ):
        nn.Dropout2d(-0.1)
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 2"):
        F.dropout(nerve.ones(2), 2)
    with pytest.raises(
        ValueError,
        match=r"Dropout2d: dropout2d: expected a 3-D \(C, \*\) or 4-D "
        r"\(N, C, \*\) input, got shape \(2, 3\)",
    ):
        nn.Dropout2d()(nerve.ones(2, 3))
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    assert repr(nn.Dropout2d(0.2)) == repr(torch.nn.Dropout2d(0.2))


def test_gradcheck_dropout_with_a_fixed_mask():
    x = nerve.randn(4, 5, dtype=nerve.float64, requires_grad=True)
    for fn in (F.dropout, F.dropout2d):
        x4 = x.reshape(1, 4, 5, 1) if fn is F.dropout2d else x
        assert nerve.autograd.gradcheck(
            lambda t, fn=fn: fn(t, 0.3, generator=nerve.Generator().manual_seed(0)), (x4,)
        )
