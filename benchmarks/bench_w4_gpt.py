"""W4: mini-GPT, one training step (tokens/s).

vocab 65, 4 pre-LayerNorm blocks, d_model 128, 4 heads, context 128, batch 16, causal
self-attention, MLP 4x with GELU (tanh form), learned positions, untied head, cross-entropy,
AdamW lr 3e-4 weight decay 0.1. The same nanoGPT-style model is written once per framework.

    python -m benchmarks.run --only W4
    python -m benchmarks.bench_w4_gpt --profile      # where nerve's step spends its time
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import Workload, torch_setup

VOCAB, LAYERS, D_MODEL, HEADS, CONTEXT, BATCH = 65, 4, 128, 4, 128, 16


def _data():
    tokens = np.random.default_rng(0).integers(0, VOCAB, (BATCH, CONTEXT + 1))
    return tokens[:, :-1].copy(), tokens[:, 1:].copy()


def _gpt(nn, F, arange):
    """nanoGPT's model, for nerve or torch: ``nn``/``F`` are the framework's modules."""

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(D_MODEL, 3 * D_MODEL)
            self.c_proj = nn.Linear(D_MODEL, D_MODEL)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(D_MODEL, dim=2)
            q = q.view(b, t, HEADS, c // HEADS).transpose(1, 2)  # (B, nh, T, hs)
            k = k.view(b, t, HEADS, c // HEADS).transpose(1, 2)
            v = v.view(b, t, HEADS, c // HEADS).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
            y = y.transpose(1, 2).reshape(b, t, c)  # (B, T, C)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(D_MODEL, 4 * D_MODEL)
            self.c_proj = nn.Linear(4 * D_MODEL, D_MODEL)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(D_MODEL)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(D_MODEL)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D_MODEL)
            self.wpe = nn.Embedding(CONTEXT, D_MODEL)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f = nn.LayerNorm(D_MODEL)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False)

        def forward(self, idx, targets):  # idx, targets: (B, T)
            x = self.wte(idx) + self.wpe(arange(idx.shape[1]))  # (B, T, C)
            for block in self.blocks:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))  # (B, T, V)
            return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))

    return GPT()


def _nerve_step():
    import nerve
    from nerve import nn, optim
    from nerve.nn import functional as F

    x, y = _data()
    nerve.manual_seed(0)
    model = _gpt(nn, F, nerve.arange)
    opt = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    nx, ny = nerve.from_numpy(x), nerve.from_numpy(y)

    def step():
        loss = model(nx, ny)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _torch_step():
    import torch

    x, y = _data()
    model = _gpt(torch.nn, torch.nn.functional, torch.arange)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = model(tx, ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def workloads():
    torch_setup()
    return [
        Workload(
            "W4",
            "mini-GPT 4x128, 4 heads, T 128, batch 16 (step)",
            "tokens/s",
            BATCH * CONTEXT,
            _nerve_step(),
            _torch_step(),
        )
    ]


if __name__ == "__main__":
    if "--profile" in sys.argv:
        import cProfile
        import pstats

        step = _nerve_step()
        for _ in range(3):
            step()
        cProfile.run("for _ in range(10): step()", "/tmp/w4.prof")
        pstats.Stats("/tmp/w4.prof").sort_stats("tottime").print_stats(25)
    else:
        from benchmarks.harness import format_table, measure

        print(format_table([measure(w) for w in workloads()]))
