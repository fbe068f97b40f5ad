"""W2: LeNet-5 on 1x28x28, one full SGD (lr 0.01, momentum 0.9) training step, batch 64.

conv 1->6 5x5 padding 2, ReLU, maxpool 2; conv 6->16 5x5, ReLU, maxpool 2; flatten;
400 -> 120 -> 84 -> 10 with ReLU; cross-entropy. A step is forward, loss, zero_grad, backward,
optimizer update; the figure is samples/s.

    python -m benchmarks.bench_w2_lenet            # nerve beside PyTorch, and the ratio
    python -m benchmarks.bench_w2_lenet --profile  # where nerve's step spends its time
    python -m benchmarks.bench_w2_lenet --top-pad  # both, with glibc keeping 64 MB of freed heap

NOTE: a training step allocates and frees ~20 MB of large arrays. glibc gives the freed top of the
heap back to the OS and page-faults it in again on the next step: ~3,300 minor faults per step,
about a quarter of nerve's CPU time here (PyTorch: ~700). ``--top-pad`` sets
``mallopt(M_TOP_PAD, 64 MB)`` for the whole process (both frameworks) to show the difference.
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import Workload, torch_setup

BATCH = 64


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def _lenet(nn):
    """The same LeNet-5 in nerve.nn or torch.nn (they share the names)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def nerve_step():
    """A closure running one nerve training step on W2 (built here, with its own model)."""
    import nerve
    from nerve import nn, optim

    x, y = _data()
    nerve.manual_seed(0)
    model = _lenet(nn)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
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
    model = _lenet(torch.nn)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
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
            "W2",
            "LeNet-5 SGD momentum step, batch 64",
            "samples/s",
            BATCH,
            nerve_step(),
            torch_step(),
        )
    ]


def _profile(steps: int = 200) -> None:
    import cProfile
    import pstats

    step = nerve_step()
    for _ in range(10):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _keep_freed_heap(megabytes: int = 64) -> None:
    """glibc: keep ``megabytes`` of freed memory at the top of the heap instead of returning it."""
    import ctypes

    m_top_pad = -2
    ctypes.CDLL("libc.so.6").mallopt(m_top_pad, megabytes << 20)


def main(argv: list[str]) -> int:
    if "--top-pad" in argv:
        _keep_freed_heap()
    if "--profile" in argv:
        _profile()
        return 0
    from benchmarks.harness import format_table, measure

    print(format_table([measure(w) for w in workloads()]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
