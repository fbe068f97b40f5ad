"""Embedding against PyTorch: lookups, gradients with repeated ids, padding_idx, max_norm,
from_pretrained; default initialization; second-order path; errors."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F
from nerve import autograd, nn


def _twins(num, dim, dtype="float64", **kwargs):
    torch.manual_seed(0)
    twin = torch.nn.Embedding(num, dim, **kwargs).to(getattr(torch, dtype))
    module = nn.Embedding(num, dim, dtype=getattr(nerve, dtype), **kwargs)
    module.weight._data[...] = twin.weight.detach().numpy()
    return module, twin


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("shape", [(7,), (3, 5), ()])
def test_matches_torch(dtype, padding_idx, shape):
    module, twin = _twins(6, 4, dtype, padding_idx=padding_idx)
    idx = np.random.default_rng(0).integers(0, 6, shape)
    if idx.ndim:
        idx.reshape(-1)[:3] = [2, 2, 5]  # repeated ids accumulate; 5 is the -1 padding row
    y, ty = module(nerve.tensor(idx)), twin(torch.tensor(idx))
    assert_close(y, ty)
    g = np.random.default_rng(1).standard_normal(ty.shape).astype(dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(module.weight.grad, twin.weight.grad)
    assert repr(module) == repr(twin)


def test_default_init_is_standard_normal_with_zero_padding_row():
    nerve.manual_seed(0)
    emb = nn.Embedding(1000, 64, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert not w[3].any()
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and rest.std() == pytest.approx(1.0, abs=0.01)


def test_padding_row_stays_zero_under_training():
    emb = nn.Embedding(5, 3, padding_idx=0)
    out = emb(nerve.tensor([[0, 1, 0, 4]]))
    (out * out).sum().backward()
    assert not emb.weight.grad.numpy()[0].any()
    assert emb.weight.grad.numpy()[1].any()


def test_int32_ids_work():
    module, twin = _twins(4, 2)
    idx = np.array([3, 0, 1], dtype=np.int32)
    assert_close(module(nerve.tensor(idx)), twin(torch.tensor(idx)))


def test_from_pretrained_matches_torch():
    w_np = np.random.default_rng(2).standard_normal((5, 3))
    frozen = nn.Embedding.from_pretrained(nerve.tensor(w_np))
    assert not frozen.weight.requires_grad
    trainable = nn.Embedding.from_pretrained(nerve.tensor(w_np), freeze=False, padding_idx=1)
    twin = torch.nn.Embedding.from_pretrained(torch.tensor(w_np), freeze=False, padding_idx=1)
    idx = np.array([1, 4, 4, 0])
    y, ty = trainable(nerve.tensor(idx)), twin(torch.tensor(idx))
    assert_close(y, ty)
    y.sum().backward()
    ty.sum().backward()
    assert_close(trainable.weight.grad, twin.weight.grad)
    assert_close(frozen(nerve.tensor(idx)), w_np[idx])


def test_max_norm_renormalizes_used_rows_like_torch():
    module, twin = _twins(6, 4, max_norm=1.0)
    idx = np.array([0, 2, 2, 5])
    assert_close(module(nerve.tensor(idx)), twin(torch.tensor(idx)), rtol=1e-6, atol=1e-7)
    assert_close(module.weight, twin.weight, rtol=1e-6, atol=1e-7)


def test_second_derivative_path_matches_raw_path():
    """With create_graph the backward runs as Tensor ops: the same gradient, and differentiable."""
    w = nerve.randn(5, 3, dtype=nerve.float64, requires_grad=True)
    idx = nerve.tensor([[1, 1, 4], [0, 2, 1]])
    y = F.embedding(idx, w, padding_idx=4)
    (g_graph,) = autograd.grad((y * y).sum(), [w], create_graph=True)
    (g_raw,) = autograd.grad((F.embedding(idx, w, padding_idx=4) ** 2).sum(), [w])
    assert_close(g_graph, g_raw)
    (g_graph * g_graph).sum().backward()  # d/dw sum((2 w_i count_i)^2) = 8 w_i count_i^2
    counts = np.array([1, 3, 1, 0, 0])[:, None]
    assert_close(w.grad, 8 * w.detach().numpy() * counts**2)


def test_errors():
    with pytest.raises(
        ValueError,
        match=r"Embedding: num_embeddings must be a positive integer, "
        r"got 0",
    ):
        nn.Embedding(0, 3)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within \[-4, 4\), got 4"):
        nn.Embedding(4, 3, padding_idx=4)
    emb = nn.Embedding(4, 3)
    with pytest.raises(
        IndexError,
        match=r"Embedding\(4, 3\): index out of range: indices must be "
        r"in \[0, 3\] for num_embeddings=4, got values from 0 to 4",
    ):
        emb(nerve.tensor([0, 4]))
    with pytest.raises(
        TypeError,
        match=r"Embedding\(4, 3\): indices must be an integer tensor.*"
        r"got nerve.float32",
    ):
        emb(nerve.tensor([0.0, 1.0]))
    with pytest.raises(
        ValueError,
        match=r"Embedding.from_pretrained: embeddings must be a 2-D "
        r"tensor, got \(3,\)",
    ):
        nn.Embedding.from_pretrained(nerve.ones(3))


def test_gradcheck_embedding():
    w = nerve.randn(5, 3, dtype=nerve.float64, requires_grad=True)
    idx = nerve.tensor([[1, 1, 4], [0, 2, 1]])
    # NOTE: no padding_idx: its row gets no gradient by design, which is not the derivative
    assert autograd.gradcheck(lambda w: F.embedding(idx, w), (w,))


@pytest.mark.parametrize("rows", [7, 3000])
def test_weight_gradient_sums_repeated_rows_by_one_hot_product_or_scatter(rows, monkeypatch):
    """Both ways of summing the output gradient into the table (a one-hot GEMM for small
    tables, a scatter for large ones) give the sum over the lookups of each row."""
    import importlib

    E = importlib.import_module("nerve.nn.functional.embedding")  # the module, not the function
    monkeypatch.setattr(E, "ONE_HOT_LIMIT", 10_000)  # 7 x 40 one-hot, 3000 x 40 scatter
    rng = np.random.default_rng(5)
    index = rng.integers(0, min(rows, 5), (4, 10))  # many repeats
    weight = nerve.tensor(rng.standard_normal((rows, 3)), requires_grad=True)
    g = rng.standard_normal((4, 10, 3))
    nn.functional.embedding(nerve.tensor(index), weight).backward(nerve.tensor(g))
    want = np.zeros((rows, 3))
    np.add.at(want, index.reshape(-1), g.reshape(-1, 3))
    np.testing.assert_allclose(weight.grad.numpy(), want, rtol=1e-12, atol=1e-12)
