"""W3: char-level LSTM language model, one training step (tokens/s).

vocab 65, embedding 64, 1-layer LSTM hidden 256, sequence 64, batch 32, linear head,
cross-entropy over all positions, Adam lr 1e-3.

    python -m benchmarks.run --only W3
    python -m benchmarks.bench_w3_lstm --profile     # where nerve's step spends its time
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import Workload, torch_setup

VOCAB, EMBED, HIDDEN, SEQ, BATCH = 65, 64, 256, 64, 32


def _data():
    tokens = np.random.default_rng(0).integers(0, VOCAB, (BATCH, SEQ + 1))
    return tokens[:, :-1].copy(), tokens[:, 1:].copy()


def _nerve_step():
    import nerve
    from nerve import nn, optim
    from nerve.nn import functional as F

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, idx):  # idx: (B, T)
            h, _ = self.lstm(self.embed(idx))  # (B, T, H)
            return self.head(h)  # (B, T, V)

    x, y = _data()
    nerve.manual_seed(0)
    model = CharLSTM()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    nx, ny = nerve.from_numpy(x), nerve.from_numpy(y.reshape(-1))

    def step():
        logits = model(nx)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), ny)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _torch_step():
    import torch

    class CharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(VOCAB, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, HIDDEN, batch_first=True)
            self.head = torch.nn.Linear(HIDDEN, VOCAB)

        def forward(self, idx):
            h, _ = self.lstm(self.embed(idx))
            return self.head(h)

    x, y = _data()
    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))

    def step():
        logits = model(tx)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def workloads():
    torch_setup()
    return [
        Workload(
            "W3",
            "char LSTM LM, H 256, T 64, batch 32 (step)",
            "tokens/s",
            BATCH * SEQ,
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
        cProfile.run("for _ in range(20): step()", "/tmp/w3.prof")
        pstats.Stats("/tmp/w3.prof").sort_stats("tottime").print_stats(15)
    else:
        from benchmarks.harness import format_table, measure

        print(format_table([measure(w) for w in workloads()]))
