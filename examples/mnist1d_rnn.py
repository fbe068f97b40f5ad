"""RNN, LSTM and GRU sequence classifiers on MNIST-1D (Greydanus, 2020).

Each 40-sample signal is read one value per step; the paper's GRU reaches 91% test accuracy.
Trains the three cells (the GRU longest) and writes their test-accuracy curves to
mnist1d_rnn.png. About three minutes on 2 cores:

    python examples/mnist1d_rnn.py [--epochs 20]
"""

import argparse
import time

import numpy as np

import nerve
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.datasets import load_mnist1d
from nerve.models import build


def train(name, x, y, xt, yt, epochs, lr=5e-3):
    nerve.manual_seed(0)
    model = build(name, (1, 40), 10)
    opt = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(
        TensorDataset(x, y), batch_size=64, shuffle=True, generator=nerve.Generator().manual_seed(1)
    )
    curve, start = [], time.perf_counter()
    for epoch in range(epochs):
        for group in opt.param_groups:  # cosine decay
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        model.train()
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with nerve.no_grad():
            curve.append((model(xt).argmax(-1) == yt).float().mean().item())
        print(f"{name:5s} epoch {epoch + 1:2d}  test accuracy {curve[-1]:.3f}", flush=True)
    params = sum(p.numel() for p in model.parameters())
    return curve, time.perf_counter() - start, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="GRU epochs (RNN/LSTM: half)")
    args = parser.parse_args()
    train_set, test_set = load_mnist1d()
    x, y = train_set.tensors[0].unsqueeze(1), train_set.tensors[1]  # (4000, 1, 40)
    xt, yt = test_set.tensors[0].unsqueeze(1), test_set.tensors[1]
    results = {}
    for name, epochs in (
        ("rnn", args.epochs // 2),
        ("lstm", args.epochs // 2),
        ("gru", args.epochs),
    ):
        results[name] = train(name, x, y, xt, yt, max(1, epochs))
    print("\nmodel  params  seconds  test accuracy")
    for name, (curve, seconds, params) in results.items():
        print(f"{name:5s} {params:7d}  {seconds:7.1f}  {curve[-1]:.3f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, (curve, _, _) in results.items():
            ax.plot(range(1, len(curve) + 1), curve, marker="o", label=name.upper())
        ax.axhline(0.91, color="gray", linestyle="--", label="paper's GRU (91%)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy")
        ax.set_title("MNIST-1D, read as a sequence")
        ax.legend()
        fig.tight_layout()
        fig.savefig("mnist1d_rnn.png", dpi=120)
        print("wrote mnist1d_rnn.png")
    except ImportError:
        print("(matplotlib not installed: no picture)")


if __name__ == "__main__":
    main()
