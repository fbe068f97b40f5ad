"""``nn.MultiheadAttention``: h attention heads over learned projections of query, key and value.

    head_i = softmax(Q W_q,i^T (K W_k,i^T)^T / sqrt(d) + mask) V W_v,i^T     d = embed_dim / h
    out    = concat(head_1, ..., head_h) W_o^T + b_o

Parameters have PyTorch's layout, so a ``state_dict`` loads across: ``in_proj_weight`` (3E, E)
stacking W_q, W_k, W_v (or ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when kdim or vdim
differ from E), ``in_proj_bias`` (3E,), and ``out_proj`` (a Linear E -> E).

    >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
    >>> x = nerve.randn(2, 5, 16)
    >>> out, weights = mha(x, x, x)          # out: (2, 5, 16); weights: (2, 5, 5), head-averaged

Masks follow PyTorch's MultiheadAttention: in a bool ``attn_mask`` or ``key_padding_mask``, True
means "may NOT attend" (the opposite of ``scaled_dot_product_attention``); float masks are added
to the scores. NOTE: masks are constants here (no gradient flows into a float mask), and a query
that may attend to no key gets zeros rather than PyTorch's NaN.
"""

from __future__ import annotations

import math

import numpy as np

from nerve import _dtype
from nerve.device import array_module
from nerve.nn import init
from nerve.nn.functional.attention import _causal_bias, attention
from nerve.nn.linear import Linear
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.linalg import linear
from nerve.tensor import Tensor


def _empty(shape, dtype):
    np_dtype = _dtype.to_np(dtype) if dtype is not None else _dtype.default_float.np
    return Parameter(Tensor._wrap(np.zeros(shape, dtype=np_dtype)))


class MultiheadAttention(Module):
    def __init__(
        self,
        embed_dim,
        num_heads,
        dropout=0.0,
        bias=True,
        add_bias_kv=False,
        add_zero_attn=False,
        kdim=None,
        vdim=None,
        batch_first=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = "MultiheadAttention"
        for arg, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
        if embed_dim % num_heads:
            raise ValueError(
                f"{name}: embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not (0 <= dropout <= 1)
        ):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if add_bias_kv or add_zero_attn:
            raise ValueError(
                f"{name}: add_bias_kv and add_zero_attn are not supported (expected False)"
            )
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty((3 * embed_dim, embed_dim), dtype)
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.q_proj_weight = _empty((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _empty((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _empty((embed_dim, self.vdim), dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's init: Xavier-uniform projections, zero biases."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    # ------------------------------------------------------------------ forward
    def _check(self, query, key, value):
        name = "MultiheadAttention"
        for arg, t, dim in (
            ("query", query, self.embed_dim),
            ("key", key, self.kdim),
            ("value", value, self.vdim),
        ):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
            order = "(N, L, {})" if self.batch_first else "(L, N, {})"
            if t.ndim != query.ndim or t.ndim not in (2, 3) or t.shape[-1] != dim:
                raise ValueError(
                    f"{name}: expected {arg} of shape {order.format(dim)} or "
                    f"(L, {dim}), got {tuple(t.shape)}"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"{name}: key {tuple(key.shape)} and value {tuple(value.shape)} "
                "must have the same leading dims"
            )
        if query.ndim == 3:
            batch_dim = 0 if self.batch_first else 1
            if query.shape[batch_dim] != key.shape[batch_dim]:
                raise ValueError(
                    f"{name}: query {tuple(query.shape)} and key "
                    f"{tuple(key.shape)} must have the same batch size"
                )

    def _project(self, query, key, value):
        """(N, L, E), (N, S, kdim), (N, S, vdim) -> q, k, v: (N, L, E), (N, S, E), (N, S, E)."""
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one matmul
                return linear(query, w, b).split(e, -1)
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    def _mask(self, attn_mask, key_padding_mask, is_causal, n, length, source, dtype, xp, batched):
        """One additive mask broadcastable to (N, heads, L, S), or None."""
        name = "MultiheadAttention"
        masks = []
        if attn_mask is None and is_causal:
            masks.append(_causal_bias(xp, length, source, dtype))
        elif attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape == (length, source):
                arr = attn_mask._data
            elif shape == (n * self.num_heads, length, source):
                arr = attn_mask._data.reshape(n, self.num_heads, length, source)
            else:
                raise ValueError(
                    f"{name}: expected attn_mask of shape ({length}, {source}) or "
                    f"({n * self.num_heads}, {length}, {source}), got {shape}"
                )
            masks.append(arr)
        if key_padding_mask is not None:
            shape = tuple(key_padding_mask.shape)
            expected = (n, source) if batched else (source,)
            if shape != expected:
                raise ValueError(
                    f"{name}: expected key_padding_mask of shape {expected}, got {shape}"
                )
            masks.append(key_padding_mask._data.reshape(n, 1, 1, source))
        total = None
        for m in masks:
            m = xp.where(m, -math.inf, 0.0).astype(dtype) if m.dtype == bool else m.astype(dtype)
            total = m if total is None else total + m
        return total

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
    ):
        """query: (L, N, E) ((N, L, E) with batch_first, or unbatched (L, E)); key: (S, N, kdim);
        value: (S, N, vdim). Returns (output like query, weights (N, L, S) or (N, heads, L, S)
        when ``need_weights``, else None)."""
        self._check(query, key, value)
        batched = query.ndim == 3
        if not batched:  # (L, E) -> (1, L, E)
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
        elif not self.batch_first:  # (L, N, E) -> (N, L, E), keeping query is key is value
            same = query is key, key is value
            query = query.transpose(0, 1)
            key = query if same[0] else key.transpose(0, 1)
            value = key if same[1] else value.transpose(0, 1)
        n, length, source = query.shape[0], query.shape[1], key.shape[1]
        heads, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q = q.reshape(n, length, heads, d).transpose(1, 2)  # (N, heads, L, d)
        k = k.reshape(n, source, heads, d).transpose(1, 2)  # (N, heads, S, d)
        v = v.reshape(n, source, heads, d).transpose(1, 2)
        xp = array_module(q._data)
        causal = is_causal and attn_mask is None and key_padding_mask is None
        mask = (
            None
            if causal
            else self._mask(
                attn_mask,
                key_padding_mask,
                is_causal,
                n,
                length,
                source,
                q._data.dtype,
                xp,
                batched,
            )
        )
        p = self.dropout if self.training else 0.0
        result = attention(q, k, v, None, mask, None, p, None, need_weights, causal)
        out, weights = result if need_weights else (result, None)
        out = out.transpose(1, 2).reshape(n, length, self.embed_dim)  # (N, L, E)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)  # (N, L, S)
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


__all__ = ["MultiheadAttention"]
