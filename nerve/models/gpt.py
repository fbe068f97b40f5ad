"""GPT: a decoder-only Transformer language model (Radford et al., 2018/2019), nanoGPT-style.

    idx (B, T) ids
    -> token embedding wte (B, T, C) + position embedding wpe (T, C) -> dropout
    -> n_layer x Block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))      # pre-LayerNorm
    -> ln_f -> lm_head -> logits (B, T, vocab_size)

The attention is causal: position t attends to positions <= t only, so one forward pass
trains every prefix at once, the loss being the mean over all B*T next-token predictions:

    loss = -1/(B T) sum_{b,t} log softmax(logits[b, t])[idx[b, t + 1]]     # nats per token

With ``tie_weights`` the output projection shares the token embedding matrix (Press & Wolf,
2017). ``position="alibi"`` replaces the position embedding by ALiBi's distance penalty in
the attention (Press et al., 2022). ``generate`` samples a continuation with temperature,
top-k and top-p (nucleus).

    >>> model = GPT(GPTConfig(vocab_size=96, block_size=64, n_layer=2, n_head=2, n_embd=64))
    >>> logits, loss = model(idx, targets)        # idx, targets: (B, T) with T <= 64
    >>> model.generate(idx[:1, :8], 100, temperature=0.8, top_k=10)   # (1, 108) ids
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import nerve
from nerve import nn
from nerve.models.text import check_sampling, sample_next
from nerve.nn import functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 96
    block_size: int = 128  # the longest context
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in the Linear layers and LayerNorms
    tie_weights: bool = True  # lm_head.weight is wte.weight
    position: str = "learned"  # "learned" (GPT-2's wpe) or "alibi" (a distance penalty)
    init_std: float = 0.02  # GPT-2's, for n_embd 768; small models learn faster with ~0.1


def attention_bias(n_head: int, block_size: int, alibi: bool) -> np.ndarray:
    """The additive attention bias (n_head or 1, T, T): -inf where s > t (the future, which
    position t must not see), else 0, or with ``alibi`` -m_h (t - s): ALiBi (Press et al.,
    2022), a penalty growing with the distance, head h's slope m_h = 2^(-8 (h + 1) / n_head)."""
    t = np.arange(block_size)
    distance = (t[:, None] - t[None, :]).astype(np.float32)  # (T, T): t - s
    bias = np.where(distance < 0, -np.inf, 0.0).astype(np.float32)[None]  # (1, T, T)
    if alibi:
        slopes = 2.0 ** (-8.0 * np.arange(1, n_head + 1) / n_head)  # (nh,)
        bias = bias - slopes[:, None, None].astype(np.float32) * np.maximum(distance, 0)
    return bias  # (nh, T, T) with alibi, else (1, T, T)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask: softmax(q k^T / sqrt(hs) + bias) v, the
    bias -inf on the future (and with ALiBi, minus a slope times the distance)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(
                f"GPT: n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head})"
            )
        if config.position not in ("learned", "alibi"):
            raise ValueError(f"GPT: position must be 'learned' or 'alibi', got {config.position!r}")
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        bias = attention_bias(config.n_head, config.block_size, config.position == "alibi")
        self.register_buffer("bias", nerve.from_numpy(bias), persistent=False)

    def forward(self, x):  # x: (B, T, C)
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, T, C)
        q = q.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        att = att + self.bias[:, :T, :T]  # the future -> -inf
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # re-assemble the heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """c_proj(gelu(c_fc(x))): each position alone, through a 4x wider hidden layer."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        # NOTE: GPT-2's activation is the tanh approximation of GELU (its "gelu_new"); nerve
        # runs it as one fused op, cheaper than the exact erf form.
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):  # x: (B, T, C)
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, 4C) inside


class Block(nn.Module):
    """A pre-LayerNorm Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):  # x: (B, T, C)
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    """The decoder-only language model: embeddings, ``n_layer`` blocks, a final LayerNorm and
    the projection back to the vocabulary (the transposed token embedding when tied)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        # ALiBi models have no position embedding: the attention bias tells distances apart
        self.wpe = (
            nn.Embedding(config.block_size, config.n_embd) if config.position == "learned" else None
        )
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self._init_weights()
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight  # one matrix, two uses

    def _init_weights(self):
        # GPT-2's: N(0, init_std) weights, zero biases; the projections into the residual
        # stream scaled by 1/sqrt(2 n_layer) so the stream's variance does not grow with depth.
        std = self.config.init_std
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:
                scale = (
                    1 / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj.weight") else 1
                )
                nn.init.normal_(p, 0.0, std * scale)

    def num_parameters(self, non_embedding=False) -> int:
        """Parameters (a tied matrix counted once); ``non_embedding`` leaves out wpe."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding and self.wpe is not None else n

    def forward(self, idx, targets=None):
        """idx: (B, T) ids, T <= block_size -> (logits (B, T, vocab), loss or None).

        With ``targets`` (B, T), loss is the mean next-token cross-entropy (nats per token).
        """
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(
                f"GPT: sequence length {T} exceeds block_size {self.config.block_size}"
            )
        x = self.wte(idx)  # (B, T, C)
        if self.wpe is not None:
            x = x + self.wpe(nerve.arange(T))  # + (T, C)
        x = self.drop(x)
        for block in self.h:
            x = block(x)  # (B, T, C)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss

    @nerve.no_grad()
    def generate(
        self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None
    ):
        """Continue idx (B, T0) by ``max_new_tokens`` sampled ids -> (B, T0 + max_new_tokens).

        Each step runs the model on the last ``block_size`` ids and samples the next from
        softmax(logits / temperature) (0: greedy), cut to the ``top_k`` most likely and/or to the
        smallest set of probability >= ``top_p``.
        """
        check_sampling("GPT.generate", temperature, top_k, top_p)
        was_training = self.training
        self.eval()
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.block_size :]  # (B, <= block_size)
            logits, _ = self(context)
            next_id = sample_next(logits[:, -1], temperature, top_k, top_p, generator)  # (B, 1)
            idx = nerve.cat([idx, next_id], dim=1)
        self.train(was_training)
        return idx
