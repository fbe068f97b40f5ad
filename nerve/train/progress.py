"""A per-epoch progress bar: tqdm when it is installed and the output is a terminal, else a
plain line per epoch (or nothing when quiet)."""

from __future__ import annotations

import sys
import time


def interactive() -> bool:
    return sys.stderr.isatty()


class ProgressBar:
    def __init__(self, total: int | None, epoch: int, epochs: int, unit: str = "batch", enabled=True):
        self.enabled = enabled
        self.start = time.perf_counter()
        self.samples = 0
        self.bar = None
        if enabled and interactive():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{epochs}", unit=unit,
                                leave=True, dynamic_ncols=True, file=sys.stderr)
            except ImportError:
                self.bar = None

    def update(self, n_samples: int, **figures) -> None:
        self.samples += n_samples
        if self.bar is not None:
            elapsed = max(time.perf_counter() - self.start, 1e-9)
            post = {k: f"{v:.4f}" for k, v in figures.items()}
            post["samples/s"] = f"{self.samples / elapsed:,.0f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)

    def close(self, line: str | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.enabled and line:
            print(line, file=sys.stderr if self.bar is not None else sys.stdout, flush=True)
