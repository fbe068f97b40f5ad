"""Side-by-side timing of nerve and PyTorch in one process.

Method (see ../shared/bench/WORKLOADS.md): both frameworks get the same seeded NumPy data, float32,
``torch.set_num_threads(2)``. Each function is warmed up, then timed in blocks that alternate
between the frameworks, with ~0.2 s idle before each block (OpenBLAS threads spin ~0.1 s after a
NumPy call and would steal a core from the next block). A figure is the median over blocks.

A benchmark module ``benchmarks/bench_*.py`` defines ``workloads() -> list[Workload]``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")


@dataclass
class Workload:
    """One workload: a nerve callable and a torch callable doing the same unit of work.

    ``items`` is how many samples/tokens/steps one call processes. ``unit`` is what a figure
    counts: a throughput like "samples/s", or "us" for a latency (then lower is better).
    """

    id: str
    name: str
    unit: str
    items: int
    nerve: Callable[[], object]
    torch: Callable[[], object]

    @property
    def is_latency(self) -> bool:
        return self.unit == "us"


def torch_setup():
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    return torch


def _calls_per_block(fn, target_s, warmup=3):
    """How many calls of ``fn`` fill ``target_s``, timed after ``warmup`` calls (the first call
    may compile kernels or fill caches; timing it would leave one cold call per block)."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < target_s / 4 or n < 2:
        fn()
        n += 1
    per_call = (time.perf_counter() - start) / n
    return max(1, int(target_s / per_call))


def interleaved(fns: dict[str, Callable[[], object]], blocks: int = 7, block_s: float = 0.3,
                idle_s: float = 0.2) -> dict[str, float]:
    """Median seconds per call of each function, timed in alternating blocks."""
    counts = {name: _calls_per_block(fn, block_s) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(blocks):
        for name, fn in fns.items():
            time.sleep(idle_s)
            n = counts[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(ts) for name, ts in times.items()}


def measure(w: Workload, blocks: int = 7, block_s: float = 0.3) -> dict:
    secs = interleaved({"nerve": w.nerve, "torch": w.torch}, blocks=blocks, block_s=block_s)
    if w.is_latency:
        nerve_fig, torch_fig = secs["nerve"] * 1e6, secs["torch"] * 1e6
        ratio = torch_fig / nerve_fig  # > 1: nerve is faster
    else:
        nerve_fig, torch_fig = w.items / secs["nerve"], w.items / secs["torch"]
        ratio = nerve_fig / torch_fig
    return {"id": w.id, "name": w.name, "unit": w.unit, "nerve": nerve_fig, "torch": torch_fig,
            "ratio": ratio}


def format_table(rows: list[dict]) -> str:
    head = f"{'id':<6} {'workload':<44} {'unit':<10} {'nerve':>12} {'torch':>12} {'ratio':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['id']:<6} {r['name']:<44} {r['unit']:<10} {r['nerve']:>12,.1f} "
            f"{r['torch']:>12,.1f} {r['ratio']:>6.2f}x"
        )
    lines.append("ratio: nerve/torch throughput, or torch/nerve time for us (per-op and latency);"
                 " > 1 means nerve is faster")
    return "\n".join(lines)
