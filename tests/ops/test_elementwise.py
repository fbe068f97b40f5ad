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


def test_relu_gradient_follows_pytorch_at_zero_and_nan_in_every_relu():
    """The slope is 0 where the output is <= 0 (so at 0) and 1 elsewhere, NaN included, as
    torch.relu: in the ReLU op, the fused Linear+ReLU and the relu RNN."""
    import torch

    import nerve
    from nerve import nn

    x_np = np.array([[np.nan, -1.0, 0.0, 2.0]], np.float32)
    x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    nerve.relu(x).backward(nerve.ones(1, 4))
    torch.relu(tx).backward(torch.ones(1, 4))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # [1, 0, 0, 1]
    assert x.grad.numpy().tolist() == [[1.0, 0.0, 0.0, 1.0]]

    # The fused Linear+ReLU and the relu RNN, with pre-activations [NaN, -1, 0, 2] = w * 1.
    pre = x_np.reshape(4, 1)
    model = nn.Sequential(nn.Linear(1, 4), nn.ReLU())
    model[0].weight._data[...] = pre
    model[0].bias._data[...] = 0
    y = model(nerve.ones(1, 1))
    assert type(y.grad_fn).__name__ == "LinearActivation"
    y.backward(nerve.ones(1, 4))
    assert model[0].bias.grad.numpy().tolist() == [1.0, 0.0, 0.0, 1.0]

    rnn = nn.RNN(1, 4, nonlinearity="relu", bias=False)
    rnn.weight_ih_l0._data[...] = pre
    rnn.weight_hh_l0._data[...] = 0
    out, _ = rnn(nerve.ones(1, 1, 1))
    out.sum().backward()
    assert rnn.weight_ih_l0.grad.numpy().ravel().tolist() == [1.0, 0.0, 0.0, 1.0]
