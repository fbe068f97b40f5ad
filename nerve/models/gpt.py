"""GPT: a decoder-only Transformer language model (Radford et al., 2018/2019), nanoGPT-style.

    idx (B, T) ids
    -> token embedding wte (B, T, C) + position embedding wpe (T, C) -> dropout
    -> n_layer x Block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))      # pre-LayerNorm
    -> ln_f -> lm_head -> logits (B, T, vocab_size)

The attention is causal: position t attends to positions <= t only, so one forward pass
trains every prefix at once (the loss is the mean over all B*T next-token predictions).
With ``tie_weights`` the output projection shares the token embedding matrix (Press & Wolf,
2017). ``generate`` samples a continuation with temperature, top-k and top-p (nucleus).

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


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask: softmax(q k^T / sqrt(hs) + mask) v."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(
                f"GPT: n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head})"
            )
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        # mask[t, s] is True where s > t: the future, which position t must not see
        future = np.triu(np.ones((config.block_size, config.block_size), dtype=bool), k=1)
        self.register_buffer("mask", nerve.from_numpy(future), persistent=False)

    def forward(self, x):  # x: (B, T, C)
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, T, C)
        q = q.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        att = att.masked_fill(self.mask[:T, :T], float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # re-assemble the heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):  # x: (B, T, C)
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B, T, 4C) inside


class Block(nn.Module):
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
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self._init_weights()
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight  # one matrix, two uses

    def _init_weights(self):
        # GPT-2's: N(0, 0.02) weights, zero biases; the projections into the residual stream
        # scaled by 1/sqrt(2 n_layer) so the stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:
                std = (
                    0.02 / math.sqrt(2 * self.config.n_layer)
                    if name.endswith("c_proj.weight")
                    else 0.02
                )
                nn.init.normal_(p, 0.0, std)

    def num_parameters(self, non_embedding=False) -> int:
        """Parameters (a tied matrix counted once); ``non_embedding`` leaves out wpe."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None):
        """idx: (B, T) ids, T <= block_size -> (logits (B, T, vocab), loss or None).

        With ``targets`` (B, T), loss is the mean next-token cross-entropy (nats per token).
        """
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(
                f"GPT: sequence length {T} exceeds block_size {self.config.block_size}"
            )
        pos = nerve.arange(T)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C) + (T, C)
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
