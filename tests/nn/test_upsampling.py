"""interpolate and Upsample against PyTorch (nearest, linear, bilinear, align_corners); a case
by hand; errors."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F
from nerve import nn
from nerve.autograd import gradcheck

CASES = [
    ((2, 3, 5, 7), dict(scale_factor=2, mode="nearest")),
    ((2, 3, 5, 7), dict(size=(3, 11), mode="nearest")),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="nearest")),
    ((2, 3, 7), dict(size=4, mode="nearest")),
    ((2, 3, 5, 7), dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=(1.5, 2.3), mode="bilinear")),
    ((1, 1, 5, 7), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=2.5, mode="linear", align_corners=False)),
    ((2, 3, 6), dict(size=13, mode="linear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 8, 8), dict(size=(3, 5), mode="bilinear")),  # downsampling
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, kwargs", CASES)
def test_interpolate_matches_torch(shape, kwargs, dtype):
    x_np = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = F.interpolate(x, **kwargs), torch.nn.functional.interpolate(tx, **kwargs)
    assert_close(y, ty, scale=10)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad, scale=10)


@pytest.mark.parametrize(
    "make, twin",
    [
        (lambda: nn.Upsample(scale_factor=2), lambda: torch.nn.Upsample(scale_factor=2)),
        (
            lambda: nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True),
            lambda: torch.nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True),
        ),
        (
            lambda: nn.UpsamplingNearest2d(scale_factor=3),
            lambda: torch.nn.UpsamplingNearest2d(scale_factor=3),
        ),
        (
            lambda: nn.UpsamplingBilinear2d(size=(6, 4)),
            lambda: torch.nn.UpsamplingBilinear2d(size=(6, 4)),
        ),
    ],
)
def test_upsample_layers_match_torch(make, twin):
    x_np = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    assert_close(make()(nerve.tensor(x_np)), twin()(torch.tensor(x_np)))


def test_interpolate_by_hand():
    x = nerve.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert F.interpolate(x, scale_factor=2).tolist() == [
        [[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]]
    ]
    # align_corners: corners kept, the midpoints averaged.
    y = F.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)
    assert y.tolist() == [[[[1.0, 1.5, 2.0], [2.0, 2.5, 3.0], [3.0, 3.5, 4.0]]]]


def test_interpolate_gradcheck_float64():
    x = nerve.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 2), mode="nearest"), (x,))


def test_bad_arguments():
    x = nerve.randn(1, 2, 4, 4)
    with pytest.raises(ValueError, match="interpolate: give exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="interpolate: mode must be one of"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match=r"interpolate: mode 'bilinear' expects a 4-D input"):
        F.interpolate(nerve.randn(1, 2, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners can only be set with the linear modes"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match=r"interpolate: size must be 2 positive ints"):
        F.interpolate(x, size=(0, 3))
    with pytest.raises(ValueError, match="Upsample: give exactly one of size and scale_factor"):
        nn.Upsample()
    with pytest.raises(ValueError, match="Upsample: mode must be one of"):
        nn.Upsample(scale_factor=2, mode="area")
