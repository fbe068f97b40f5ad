"""W1: MLP 784-256-256-10, ReLU, cross-entropy, SGD lr 0.01, batch 128, one full training step.

A step is forward, loss, zero_grad, backward, optimizer update; the figure is samples/s.

    python -m benchmarks.bench_w1_mlp            # nerve beside PyTorch, and the ratio
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
    from benchmarks.harness import format_table, measure

    print(format_table([measure(w) for w in workloads()]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
