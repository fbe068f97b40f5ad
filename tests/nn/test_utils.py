"""nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters,
against PyTorch's and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve
from nerve.nn import utils


def _with_grads(dtype=np.float64, scale=1.0, seed=0):
    """Three nerve parameters with gradients, and their torch twins."""
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (2, 5)]
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    ours, theirs = [], []
    for v, g in zip(values, grads, strict=True):
        p = nerve.nn.Parameter(nerve.tensor(v))
        p.grad = nerve.tensor(g.copy())
        q = torch.tensor(v, requires_grad=True)
        q.grad = torch.tensor(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, dtype):
    ours, theirs = _with_grads(dtype)
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert total.dtype == (nerve.float64 if dtype == np.float64 else nerve.float32)
    assert total.shape == ()
    np.testing.assert_allclose(total.item(), expected.item(), rtol=rtol)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


def test_clip_grad_norm_by_hand():
    p = nerve.nn.Parameter(nerve.zeros(2, dtype=nerve.float64))
    p.grad = nerve.tensor([3.0, 4.0], dtype=nerve.float64)  # norm 5
    total = utils.clip_grad_norm_(p, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([0.6, 0.8]) * 5 / (5 + 1e-6))
    before = p.grad.numpy().copy()
    utils.clip_grad_norm_([p], max_norm=10.0)  # already small: unchanged
    np.testing.assert_array_equal(p.grad.numpy(), before)


def test_clip_grad_norm_skips_missing_grads_and_handles_none():
    ours, _ = _with_grads()
    ours[1].grad = None
    utils.clip_grad_norm_(iter(ours), 0.1)  # a generator works too
    assert ours[1].grad is None
    assert utils.clip_grad_norm_([nerve.nn.Parameter(nerve.zeros(3))], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    ours, _ = _with_grads()
    ours[0].grad._data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite, so it cannot be clipped"):
        utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 = nan in the clipped entry, as in PyTorch
        total = utils.clip_grad_norm_(ours, 1.0)  # PyTorch scales by 1/inf = 0 anyway
    assert math.isinf(total.item())
    assert not ours[1].grad.numpy().any()


def test_clip_grad_norm_rejects_non_tensors():
    with pytest.raises(TypeError, match="clip_grad_norm_: expected Tensors"):
        utils.clip_grad_norm_([1.0], 1.0)


def test_clip_grad_value_matches_pytorch():
    ours, theirs = _with_grads(scale=3.0)
    utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        assert np.abs(p.grad.numpy()).max() == 1.5


def test_parameters_to_vector_and_back():
    ours, theirs = _with_grads()
    vec = utils.parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    assert vec.shape == (12 + 3 + 10,)
    np.testing.assert_array_equal(vec.detach().numpy(), expected.detach().numpy())
    new = nerve.arange(25, dtype=nerve.float64)
    utils.vector_to_parameters(new, ours)
    np.testing.assert_array_equal(ours[0].detach().numpy(), np.arange(12.0).reshape(4, 3))
    np.testing.assert_array_equal(ours[2].detach().numpy(), np.arange(15.0, 25).reshape(2, 5))
    assert ours[0].shape == (4, 3) and ours[0].requires_grad


def test_parameters_to_vector_is_differentiable():
    ours, _ = _with_grads()
    for p in ours:
        p.grad = None
    (utils.parameters_to_vector(ours) * 2.0).sum().backward()
    for p in ours:
        np.testing.assert_array_equal(p.grad.numpy(), np.full(p.shape, 2.0))


def test_vector_to_parameters_checks():
    ours, _ = _with_grads()
    with pytest.raises(TypeError, match="expected a Tensor, but got list"):
        utils.vector_to_parameters([0.0] * 25, ours)
    with pytest.raises(ValueError, match="1-D vector of 25 entries"):
        utils.vector_to_parameters(nerve.zeros(24, dtype=nerve.float64), ours)
