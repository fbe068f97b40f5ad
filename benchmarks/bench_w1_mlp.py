"""W1: MLP 784-256-256-10, ReLU, cross-entropy, SGD lr 0.01, batch 128, one full training step.

A step is forward, loss, zero_grad, backward, optimizer update; the figure is samples/s.

    python -m benchmarks.bench_w1_mlp            # nerve beside PyTorch, and the ratio
    python -m benchmarks.bench_w1_mlp --numpy    # also a hand-written NumPy step (the floor)
    python -m benchmarks.bench_w1_mlp --profile  # where nerve's step spends its time
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import Workload, torch_setup

BATCH = 128
SIZES = (784, 256, 256, 10)


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH).astype(np.int64)
    return x, y


def nerve_step():
    """A closure running one nerve training step on W1 (built here, with its own model)."""
    import nerve
    from nerve import nn, optim

    x, y = _data()
    nerve.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    nx, ny = nerve.from_numpy(x), nerve.from_numpy(y)

    def step():
        loss = loss_fn(model(nx), ny)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def torch_step():
    torch = torch_setup()
    x, y = _data()
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = loss_fn(model(tx), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def numpy_step():
    """The same step written by hand in NumPy: what nerve would cost with zero engine overhead."""
    x, y = _data()
    rng = np.random.default_rng(0)
    shapes = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
    weights = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in shapes]
    rows = np.arange(BATCH)

    def step():
        w1, b1, w2, b2, w3, b3 = weights
        h1 = x @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)  # softmax; loss = -mean log p[rows, y]
        p[rows, y] -= 1
        p /= BATCH  # d loss / d z
        g2 = p @ w3
        g2 *= h2 > 0
        g1 = g2 @ w2
        g1 *= h1 > 0
        grads = (g1.T @ x, g1.sum(0), g2.T @ h1, g2.sum(0), p.T @ h2, p.sum(0))
        for w, g in zip(weights, grads, strict=True):
            w -= 0.01 * g

    return step


def workloads() -> list[Workload]:
    return [
        Workload(
            "W1",
            "MLP 784-256-256-10 SGD step, batch 128",
            "samples/s",
            BATCH,
            nerve_step(),
            torch_step(),
        )
    ]


def _profile(steps: int = 300) -> None:
    import cProfile
    import pstats

    step = nerve_step()
    for _ in range(20):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str]) -> int:
    if "--profile" in argv:
        _profile()
        return 0
    if "--numpy" in argv:
        from benchmarks.harness import interleaved

        secs = interleaved({"nerve": nerve_step(), "torch": torch_step(), "numpy": numpy_step()})
        for name, sec in secs.items():
            print(f"{name:6s} {BATCH / sec:10,.0f} samples/s   /torch {secs['torch'] / sec:.2f}x")
        return 0
    from benchmarks.harness import format_table, measure

    print(format_table([measure(w) for w in workloads()]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
