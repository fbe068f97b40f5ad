"""Hypothesis draws random broadcastable shapes (with size-0 and size-1 dims) for the binary ops
and random dims for the reductions; values and gradients must match PyTorch."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes
from torch_oracle import assert_close

import nerve

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / (b.abs() + 0.5),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "pow": lambda m, a, b: (a.abs() + 0.5) ** b,
    "where": lambda m, a, b: m.where(a > b, a * 2, b),
    "atan-like": lambda m, a, b: (a * b).tanh() + a.sigmoid() * b.exp(),
}

shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3)


def _pair(m, arrays, dtype):
    return [m.tensor(a.astype(dtype), requires_grad=True) for a in arrays]


@given(
    shapes=shapes,
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
    double=st.booleans(),
)
def test_binary_ops_broadcast_like_torch(shapes, op, seed, double):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if double else np.float32
    arrays = [rng.standard_normal(s) for s in shapes.input_shapes]
    results = []
    for m in (nerve, torch):
        a, b = _pair(m, arrays, dtype)
        out = BINARY[op](m, a, b)
        assert tuple(out.shape) == shapes.result_shape
        seed_grad = m.tensor(
            np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)).astype(dtype)
        )
        grads = m.autograd.grad(out, [a, b], seed_grad, allow_unused=True)
        results.append((out, *grads))
    for mine, theirs in zip(*results, strict=True):
        assert_close(mine, theirs, scale=4)


@st.composite
def reduction_case(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dims = draw(
        st.none()
        | st.lists(
            st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim
        )
        if ndim
        else st.none()
    )
    return shape, (tuple(dims) if dims is not None else None), draw(st.booleans())


REDUCTIONS = {
    "sum": lambda m, x, dims, keep: x.sum(dim=dims, keepdim=keep),
    "mean": lambda m, x, dims, keep: x.mean(dim=dims, keepdim=keep),
    "amax": lambda m, x, dims, keep: x.amax(dim=dims if dims else (), keepdim=keep),
    "logsumexp": lambda m, x, dims, keep: x.logsumexp(
        dims if dims else tuple(range(x.ndim)), keepdim=keep
    ),
    "var": lambda m, x, dims, keep: x.var(dim=dims, unbiased=False, keepdim=keep),
    "norm": lambda m, x, dims, keep: x.norm(2, dims, keep),
}


@given(case=reduction_case(), op=st.sampled_from(sorted(REDUCTIONS)), seed=st.integers(0, 2**16))
def test_reductions_over_random_dims_like_torch(case, op, seed):
    shape, dims, keep = case
    data = np.random.default_rng(seed).standard_normal(shape)
    results = []
    for m in (nerve, torch):
        x = m.tensor(data, requires_grad=True)
        out = REDUCTIONS[op](m, x, dims, keep)
        seed_grad = m.tensor(np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)))
        (grad,) = m.autograd.grad(out, x, seed_grad)
        results.append((out, grad))
    for mine, theirs in zip(*results, strict=True):
        assert_close(mine, theirs)


@given(
    shapes=mutually_broadcastable_shapes(
        num_shapes=2, min_dims=2, max_dims=4, min_side=1, max_side=3
    ),
    k=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_batched_matmul_broadcasts_like_torch(shapes, k, seed):
    a_shape = shapes.input_shapes[0][:-1] + (k,)
    b_shape = shapes.input_shapes[1][:-2] + (k, shapes.input_shapes[1][-1])
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(a_shape), rng.standard_normal(b_shape)]
    results = []
    for m in (nerve, torch):
        a, b = _pair(m, arrays, np.float64)
        out = a @ b
        grads = m.autograd.grad(out.sum(), [a, b])
        results.append((out, *grads))
    for mine, theirs in zip(*results, strict=True):
        assert_close(mine, theirs)
