"""scaled_dot_product_attention and nn.MultiheadAttention against PyTorch."""

import math

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn
from nerve.nn import functional as F

N, HEADS, L, S, E = 2, 3, 4, 6, 8


def _pair(shape, dtype="float64", seed=0, requires_grad=True):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return nerve.tensor(x, requires_grad=requires_grad), torch.tensor(
        x, requires_grad=requires_grad
    )


def _masks(kind):
    """(nerve mask, torch mask, is_causal) of a kind, broadcastable to (N, HEADS, L, S)."""
    rng = np.random.default_rng(9)
    if kind == "none":
        return None, None, False
    if kind == "causal":
        return None, None, True
    if kind == "bool":
        m = rng.random((N, 1, L, S)) > 0.3
        m[..., 0] = True  # every query keeps one key
        return nerve.tensor(m), torch.tensor(m), False
    if kind == "bool_empty_row":  # a query with no allowed key: PyTorch gives zeros
        m = rng.random((L, S)) > 0.3
        m[1] = False
        return nerve.tensor(m), torch.tensor(m), False
    m = rng.standard_normal((L, S))
    m[0, 2] = -math.inf
    return nerve.tensor(m), torch.tensor(m), False


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "bool_empty_row", "float"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sdpa_matches_torch(mask, dtype):
    length = S if mask == "causal" else L
    q, tq = _pair((N, HEADS, length, E), dtype, 1)
    k, tk = _pair((N, HEADS, S, E), dtype, 2)
    v, tv = _pair((N, HEADS, S, 5), dtype, 3)
    m, tm, causal = _masks(mask)
    if m is not None and m.dtype != nerve.bool:
        m, tm = m.to(getattr(nerve, dtype)), tm.to(getattr(torch, dtype))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)
    t_out = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=tm, is_causal=causal
    )
    assert_close(out, t_out, scale=5)
    w = np.random.default_rng(4).standard_normal(tuple(t_out.shape)).astype(dtype)
    (out * nerve.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for a, b, name in ((q, tq, "query"), (k, tk, "key"), (v, tv, "value")):
        assert_close(a.grad, b.grad, scale=10, what=f"grad of {name}")


@pytest.mark.parametrize("length, source", [(12, 12), (13, 9), (9, 14)])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_sdpa_causal_blocks_match_one_masked_matrix(length, source, dropout, monkeypatch):
    """The causal row-block path gives what one masked score matrix gives (same dropout draws
    are impossible across paths, so with dropout compare against the blocked path's own mask)."""
    from nerve.nn.functional import attention as A

    q, tq = _pair((N, HEADS, length, E), seed=1)
    k, tk = _pair((N, HEADS, source, E), seed=2)
    v, tv = _pair((N, HEADS, source, 5), seed=3)
    if dropout == 0.0:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
        assert_close(out, t_out)
        (out * out).sum().backward()
        (t_out * t_out).sum().backward()
        for a, b in ((q, tq), (k, tk), (v, tv)):
            assert_close(a.grad, b.grad, scale=10)
        return
    outs = []
    for blocks in (4, 1):
        monkeypatch.setattr(A, "CAUSAL_BLOCKS", blocks)
        nerve.manual_seed(5)
        outs.append(F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout))
    assert not np.allclose(outs[0].detach().numpy(), outs[1].detach().numpy())  # other draws
    grads = nerve.autograd.grad(outs[0].sum(), [q, k, v])
    # Check the blocked path's gradient by finite differences on one query element.
    eps = 1e-6
    x = q.detach().numpy().copy()
    for sign in (1, -1):
        x[0, 0, -1, 0] += sign * eps
        monkeypatch.setattr(A, "CAUSAL_BLOCKS", 4)
        nerve.manual_seed(5)
        val = (
            F.scaled_dot_product_attention(
                nerve.tensor(x), k.detach(), v.detach(), is_causal=True, dropout_p=dropout
            )
            .sum()
            .item()
        )
        outs.append(val)
        x[0, 0, -1, 0] -= sign * eps
    numeric = (outs[2] - outs[3]) / (2 * eps)
    assert grads[0].numpy()[0, 0, -1, 0] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_sdpa_scale_broadcast_and_float_mask_grad():
    q, tq = _pair((N, L, E), seed=1)
    k, tk = _pair((1, S, E), seed=2)  # broadcast over the batch
    v, tv = _pair((1, S, 3), seed=3)
    m, tm = _pair((L, S), seed=5)  # a learned additive bias
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.3)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, scale=0.3)
    assert_close(out, t_out)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    for a, b in ((q, tq), (k, tk), (v, tv), (m, tm)):
        assert_close(a.grad, b.grad)


def test_sdpa_hand_computed():
    """One query, two keys: weights softmax([0, 1]) by hand."""
    q = nerve.tensor([[1.0, 0.0]])
    k = nerve.tensor([[0.0, 0.0], [math.sqrt(2.0), 0.0]])  # scores 0 and 1 after 1/sqrt(2)
    v = nerve.tensor([[1.0], [3.0]])
    p1 = math.e / (1 + math.e)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.item() == pytest.approx((1 - p1) * 1 + p1 * 3, rel=1e-6)


def test_sdpa_dropout_statistics():
    nerve.manual_seed(0)
    q = nerve.zeros(1, 200, 4)  # uniform weights 1/S over S = 50 keys
    k = nerve.zeros(1, 50, 4)
    v = nerve.ones(1, 50, 1)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).numpy()
    # each output = (kept keys / 50) / 0.75: mean 1, and about 25% of weights dropped
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    kept = out * 0.75 * 50
    assert kept.mean() == pytest.approx(37.5, abs=0.5)
    assert np.allclose(kept, np.round(kept), atol=1e-4)
    q.requires_grad_(True)
    v.requires_grad_(True)
    F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).sum().backward()
    assert v.grad.numpy().sum() == pytest.approx(200.0, rel=0.05)


def test_sdpa_bad_input():
    x = nerve.randn(2, 3, 4)
    with pytest.raises(
        ValueError,
        match=r"scaled_dot_product_attention: expected query .*got "
        r"\(2, 3, 4\), \(2, 3, 5\)",
    ):
        F.scaled_dot_product_attention(x, nerve.randn(2, 3, 5), x)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=nerve.ones(3, 3).bool(), is_causal=True)
    with pytest.raises(
        ValueError, match=r"attn_mask must broadcast to \(\.\.\., 3, 3\), got \(3, 2\)"
    ):
        F.scaled_dot_product_attention(x, x, x, attn_mask=nerve.ones(3, 2))
    with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\], got 1.5"):
        F.scaled_dot_product_attention(x, x, x, dropout_p=1.5)


# ---------------------------------------------------------------------- MultiheadAttention
def _mha_pair(dtype="float64", **kwargs):
    torch.manual_seed(0)
    twin = torch.nn.MultiheadAttention(E, 2, **kwargs).to(getattr(torch, dtype))
    module = nn.MultiheadAttention(E, 2, dtype=getattr(nerve, dtype), **kwargs)
    state = {k: nerve.tensor(v.numpy()) for k, v in twin.state_dict().items()}
    module.load_state_dict(state)
    return module, twin


def _compare_param_grads(module, twin, scale=10):
    t_params = dict(twin.named_parameters())
    for name, p in module.named_parameters():
        assert_close(p.grad, t_params[name].grad, scale=scale, what=f"grad of {name}")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("self_attention", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_mha_matches_torch(batch_first, self_attention, need_weights, average):
    module, twin = _mha_pair(batch_first=batch_first)
    q_shape = (N, L, E) if batch_first else (L, N, E)
    kv_shape = (N, S, E) if batch_first else (S, N, E)
    q, tq = _pair(q_shape, seed=1)
    if self_attention:
        k, tk, v, tv = q, tq, q, tq
    else:
        k, tk = _pair(kv_shape, seed=2)
        v, tv = _pair(kv_shape, seed=3)
    out, weights = module(q, k, v, need_weights=need_weights, average_attn_weights=average)
    t_out, t_weights = twin(tq, tk, tv, need_weights=need_weights, average_attn_weights=average)
    assert_close(out, t_out, scale=5)
    loss, t_loss = (out * out).sum(), (t_out * t_out).sum()
    if need_weights:
        assert_close(weights, t_weights, scale=5)
        loss = loss + (weights * weights).sum()
        t_loss = t_loss + (t_weights * t_weights).sum()
    else:
        assert weights is None
    loss.backward()
    t_loss.backward()
    _compare_param_grads(module, twin)
    for a, b in ((q, tq), (k, tk), (v, tv)):
        assert_close(a.grad, b.grad, scale=10)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("attn", ["none", "bool2d", "float3d"])
@pytest.mark.parametrize("padding", ["none", "bool", "float"])
def test_mha_masks(attn, padding):
    module, twin = _mha_pair(batch_first=True)
    rng = np.random.default_rng(7)
    q, tq = _pair((N, L, E), seed=1)
    kv, tkv = _pair((N, S, E), seed=2)
    masks = {}
    if attn == "bool2d":
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False
        masks["attn_mask"] = m
    elif attn == "float3d":
        masks["attn_mask"] = rng.standard_normal((N * 2, L, S))
    if padding == "bool":
        m = np.zeros((N, S), dtype=bool)
        m[0, -2:] = True
        masks["key_padding_mask"] = m
    elif padding == "float":
        masks["key_padding_mask"] = rng.standard_normal((N, S))
    n_masks = {k: nerve.tensor(v) for k, v in masks.items()}
    t_masks = {k: torch.tensor(v) for k, v in masks.items()}
    out, weights = module(q, kv, kv, **n_masks)
    t_out, t_weights = twin(tq, tkv, tkv, **t_masks)
    assert_close(out, t_out, scale=5)
    assert_close(weights, t_weights, scale=5)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    _compare_param_grads(module, twin)
    assert_close(q.grad, tq.grad, scale=10)


def test_mha_kdim_vdim_bias_false_and_unbatched():
    torch.manual_seed(0)
    twin = torch.nn.MultiheadAttention(E, 4, kdim=5, vdim=3, bias=False).double()
    module = nn.MultiheadAttention(E, 4, kdim=5, vdim=3, bias=False, dtype=nerve.float64)
    assert module.in_proj_weight is None and module.in_proj_bias is None
    module.load_state_dict({k: nerve.tensor(v.numpy()) for k, v in twin.state_dict().items()})
    q, tq = _pair((L, E), seed=1)
    k, tk = _pair((S, 5), seed=2)
    v, tv = _pair((S, 3), seed=3)
    out, w = module(q, k, v)
    t_out, t_w = twin(tq, tk, tv)
    assert_close(out, t_out)
    assert_close(w, t_w)
    out.sum().backward()
    t_out.sum().backward()
    _compare_param_grads(module, twin)


def test_mha_causal_float32_and_state_dict_names():
    module, twin = _mha_pair("float32", batch_first=True)
    assert set(module.state_dict()) == set(twin.state_dict())
    q, tq = _pair((N, L, E), "float32", seed=1)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(L)
    out, _ = module(q, q, q, attn_mask=nerve.tensor(causal.numpy()), need_weights=False)
    t_out, _ = twin(tq, tq, tq, attn_mask=causal, need_weights=False)
    assert_close(out, t_out, scale=5)
    out2, _ = module(q, q, q, is_causal=True, need_weights=False)
    assert_close(out2, t_out, scale=5)


def test_mha_init_and_dropout():
    nerve.manual_seed(0)
    module = nn.MultiheadAttention(64, 4, dropout=0.5, batch_first=True)
    bound = math.sqrt(6 / (64 + 3 * 64))
    w = module.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert not module.in_proj_bias.detach().numpy().any()
    x = nerve.randn(2, 10, 64)
    with nerve.no_grad():
        module.eval()
        a, b = module(x, x, x)[0].numpy(), module(x, x, x)[0].numpy()
        assert np.array_equal(a, b)
        module.train()
        _, weights = module(x, x, x, average_attn_weights=False)
    # Returned training weights are the dropped ones: rows sum to about 1 on average.
    w = weights.numpy()
    assert np.mean(w == 0) == pytest.approx(0.5, abs=0.05)
    assert w.sum(-1).mean() == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(embed_dim=8, num_heads=0),
            "MultiheadAttention: num_heads must be a positive integer, got 0",
        ),
        (
            dict(embed_dim=10, num_heads=3),
            "MultiheadAttention: embed_dim must be divisible by "
            "num_heads, got embed_dim=10 and num_heads=3",
        ),
        (
            dict(embed_dim=8, num_heads=2, dropout=2.0),
            r"MultiheadAttention: dropout must be a "
            r"number in \[0, 1\], got 2.0",
        ),
    ],
)
def test_mha_bad_constructor(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.MultiheadAttention(**kwargs)


def test_mha_bad_forward_shapes():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    with pytest.raises(
        ValueError,
        match=r"MultiheadAttention: expected query of shape "
        r"\(N, L, 8\) or \(L, 8\), got \(2, 3, 7\)",
    ):
        mha(nerve.randn(2, 3, 7), nerve.randn(2, 3, 8), nerve.randn(2, 3, 8))
    x = nerve.randn(2, 3, 8)
    with pytest.raises(
        ValueError, match=r"expected key_padding_mask of shape \(2, 3\), got \(3,\)"
    ):
        mha(x, x, x, key_padding_mask=nerve.zeros(3).bool())
    with pytest.raises(
        ValueError,
        match=r"expected attn_mask of shape \(3, 3\) or \(4, 3, 3\), "
        r"got \(2, 2\)",
    ):
        mha(x, x, x, attn_mask=nerve.zeros(2, 2).bool())
