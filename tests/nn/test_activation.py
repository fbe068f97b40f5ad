"""Activation modules against their PyTorch twins: outputs, input gradients, reprs."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn

CASES = [
    ("ReLU", {}),
    ("ReLU", {"inplace": True}),
    ("ReLU6", {}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 5.0}),
    ("Softmax", {"dim": 1}),
    ("Softmax", {"dim": -1}),
    ("LogSoftmax", {"dim": 1}),
    ("LogSoftmax", {"dim": 0}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", CASES)
def test_matches_torch(dtype, name, kwargs):
    x_np = (np.random.default_rng(0).standard_normal((4, 5, 3)) * 3).astype(dtype)
    x_np[0, 0, 0] = 30.0  # beyond softplus' threshold
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    # in-place ReLU needs a non-leaf input, as in PyTorch
    y, ty = ours(x * 1.0), theirs(tx * 1.0)
    scale = 10 if dtype == "float32" else 1
    assert_close(y, ty, scale=scale)
    g = np.random.default_rng(1).standard_normal(x_np.shape).astype(dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad, scale=scale)
    assert repr(ours) == repr(theirs)


def test_modules_in_a_sequential_print_like_torch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1), torch.nn.Sigmoid()
    )
    assert repr(ours) == repr(theirs)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match=r"Hardtanh: min_val \(1\) must be less than max_val"):
        nn.Hardtanh(1, 0)
    with pytest.raises(TypeError, match=r"expected a floating point"):
        nn.GELU()(nerve.tensor([1, 2]))
