"""Array-level helpers of nerve/ops/elementwise.py that the op table does not reach directly."""

import numpy as np
import pytest

from nerve.ops.elementwise import _zeros_in_layout, relu_array

BASE = np.random.default_rng(0).standard_normal((8, 6, 12, 10)).astype(np.float32)
BASE[0, 0, 0, 0] = np.nan  # NaN passes through, as torch.relu


@pytest.mark.parametrize(
    "name, x",
    [
        ("contiguous", BASE),
        ("channels first", BASE.transpose(1, 0, 2, 3)),
        ("channels last", np.ascontiguousarray(BASE.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)),
        ("sliced (gaps)", BASE[:, :3]),
        ("strided (gaps)", BASE[..., ::2]),
        ("reversed", BASE[::-1]),
        ("small", BASE[0, 0, 0]),
        ("empty", BASE[:0]),
        ("float64", BASE.astype(np.float64)),
    ],
)
def test_relu_array_is_max_with_zero_in_every_layout(name, x):
    y = relu_array(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert y.dtype == x.dtype and y.shape == x.shape


def test_zeros_in_layout_matches_strides_of_dense_arrays_and_refuses_gaps():
    for x in (BASE, BASE.transpose(2, 0, 3, 1), BASE[:1], BASE[3:5, :, :, :]):
        z = _zeros_in_layout(x)
        assert z.shape == x.shape and not z.any()
        assert all(a == b for a, b, n in zip(z.strides, x.strides, x.shape) if n > 1)
        assert not z.flags.writeable
    assert _zeros_in_layout(BASE[:, :3]) is None
    assert _zeros_in_layout(BASE[::-1]) is None


def test_relu_array_writes_into_out():
    out = np.empty_like(BASE)
    assert relu_array(BASE, out=out) is out
    np.testing.assert_array_equal(out, np.maximum(BASE, 0))
