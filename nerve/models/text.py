"""A text corpus present on every machine, and the plumbing of character-level language models.

The corpus is the source code of a fixed list of pure-Python standard-library modules (about
480 KB, read from the running interpreter's ``Lib/`` directory): no download, and the same text
for every run on one Python version. Characters outside printable ASCII map to ``?`` and tabs to
a space, so the vocabulary is fixed: 95 printable characters plus the newline (96 ids).

    >>> data = load_text()                       # TextData(train, val, vocab)
    >>> x, y = get_batch(data.train, batch_size=8, block_size=64)   # (8, 64) ids; y is x shifted
    >>> data.vocab.decode(x[0].tolist())[:20]

Language models here take ``(idx, targets)`` and return ``(logits, loss, ...)``; their quality
is the mean cross-entropy on held-out text in nats per character (``evaluate_loss``); divide by
ln 2 for bits per character. ``LMTrainer`` trains one (AdamW, warm-up, cosine over a step or
time budget); ``train_side_by_side`` gives several models the same time budget, in turns.
"""

from __future__ import annotations

import math
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nerve

# Modules that exist, as plain .py files, in every CPython from 3.10 on.
MODULES = (
    "argparse",
    "textwrap",
    "string",
    "functools",
    "dataclasses",
    "random",
    "heapq",
    "bisect",
    "difflib",
    "csv",
    "contextlib",
    "copy",
    "pprint",
    "calendar",
    "fnmatch",
    "glob",
)

CHARS = "\n" + "".join(chr(c) for c in range(32, 127))


class CharVocab:
    """Characters <-> ids. ``encode(str) -> int64 array``; ``decode(ids) -> str``."""

    def __init__(self, chars: str = CHARS):
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.unknown = self.stoi.get("?", 0)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: text must be a str, got {type(text).__name__}")
        return np.array([self.stoi.get(c, self.unknown) for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))


def clean(text: str) -> str:
    """Tabs -> one space; any other character outside the vocabulary -> '?'."""
    allowed = set(CHARS)
    return "".join(c if c in allowed else ("?" if c != "\t" else " ") for c in text)


def load_corpus(modules=MODULES) -> str:
    """The concatenated, cleaned source of ``modules`` (file order as given)."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in modules:
        path = lib / f"{name}.py"
        if not path.exists():
            raise FileNotFoundError(f"load_corpus: the standard library has no {path}")
        parts.append(f"# ---- {name}.py\n" + path.read_text(encoding="utf-8"))
    return clean("\n".join(parts))


@dataclass
class TextData:
    train: np.ndarray  # int64 ids
    val: np.ndarray
    vocab: CharVocab


def load_text(val_fraction: float = 0.1, modules=MODULES) -> TextData:
    """The corpus as ids, split into train and the last ``val_fraction`` for validation."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"load_text: val_fraction must be in (0, 1), got {val_fraction!r}")
    vocab = CharVocab()
    ids = vocab.encode(load_corpus(modules))
    cut = int(len(ids) * (1 - val_fraction))
    return TextData(ids[:cut], ids[cut:], vocab)


def get_batch(data: np.ndarray, batch_size: int, block_size: int, generator=None):
    """Random windows: x (B, T) ids and y (B, T), the same windows shifted one character on."""
    from nerve.random import _generator

    if len(data) < block_size + 2:
        raise ValueError(
            f"get_batch: the data ({len(data)} ids) is shorter than block_size + 2 "
            f"({block_size + 2})"
        )
    starts = _generator(generator).np_rng.integers(0, len(data) - block_size - 1, batch_size)
    x = np.stack([data[s : s + block_size] for s in starts])  # (B, T)
    y = np.stack([data[s + 1 : s + 1 + block_size] for s in starts])  # (B, T)
    return nerve.from_numpy(x), nerve.from_numpy(y)


def evaluate_loss(
    model, data: np.ndarray, block_size: int, batch_size: int = 32, max_batches: int | None = None
) -> float:
    """Mean cross-entropy (nats per character) over consecutive non-overlapping windows.

    Every window starts from an empty context (no state carried across windows), so models
    with equal ``block_size`` are compared on equal terms. Deterministic.
    """
    n_windows = (len(data) - 1) // block_size
    starts = np.arange(n_windows) * block_size
    if max_batches is not None:
        starts = starts[: max_batches * batch_size]
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with nerve.no_grad():
        for i in range(0, len(starts), batch_size):
            chunk = starts[i : i + batch_size]
            x = np.stack([data[s : s + block_size] for s in chunk])
            y = np.stack([data[s + 1 : s + 1 + block_size] for s in chunk])
            loss = model(nerve.from_numpy(x), nerve.from_numpy(y))[1]
            total += float(loss.item()) * y.size
            count += y.size
    model.train(was_training)
    return total / count


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, generator=None):
    """Draw one id per row from logits (B, V) -> (B, 1) int64 ids.

    Samples from softmax(logits / temperature); temperature 0 is greedy (argmax). ``top_k``
    keeps the k largest logits; ``top_p`` (nucleus sampling, Holtzman et al. 2019) keeps the
    smallest set of most likely ids whose probabilities sum to at least p. Plain NumPy on the
    (B, V) logits: no gradient is involved.
    """
    from nerve.random import _generator

    check_sampling("sample_next", temperature, top_k, top_p)
    z = logits.detach().cpu().numpy().astype(np.float64)  # (B, V)
    if temperature == 0:
        return nerve.from_numpy(z.argmax(-1)[:, None].astype(np.int64))
    z = z / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.sort(z, axis=-1)[:, -top_k][:, None]  # (B, 1): the k-th largest logit
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    if top_p is not None and top_p < 1:
        order = np.argsort(-p, axis=-1, kind="stable")  # most likely first
        sorted_p = np.take_along_axis(p, order, -1)
        # keep an id while the mass before it is below top_p: the most likely is always kept
        keep_sorted = np.cumsum(sorted_p, -1) - sorted_p < top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, -1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(-1, keepdims=True)
    # Inverse-CDF draw: the first id whose cumulative mass reaches u in (0, total]; an id of
    # probability 0 is never drawn.
    cdf = np.cumsum(p, -1)
    u = (1.0 - _generator(generator).np_rng.random((p.shape[0], 1))) * cdf[:, -1:]
    ids = (cdf < u).sum(-1)
    return nerve.from_numpy(ids[:, None].astype(np.int64))


def check_sampling(where, temperature, top_k, top_p):
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or temperature < 0
    ):
        raise ValueError(f"{where}: temperature must be a number >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{where}: top_k must be a positive integer or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"{where}: top_p must be a number in (0, 1] or None, got {top_p!r}")


class LMTrainer:
    """Trains a character LM with AdamW on random windows, in as many slices as wanted.

    The budget is ``max_steps`` and/or ``max_seconds`` (the seconds spent inside ``train``).
    The learning rate warms up linearly over ``warmup`` steps, then follows a cosine from
    ``lr`` down to ``min_lr_ratio * lr``; the progress through the budget is
    p = max(step / max_steps, seconds / max_seconds), so a time budget anneals too:

        lr(p) = lr * (r + (1 - r) * (1 + cos(pi p)) / 2),   r = min_lr_ratio

    Training in slices lets models share one machine fairly (``train_side_by_side``).

        >>> trainer = LMTrainer(model, data, block_size=64, max_seconds=60)
        >>> trainer.train()            # until the budget is spent
        >>> trainer.result()           # {"steps", "seconds", "train_loss", "val_loss"}
    """

    def __init__(
        self,
        model,
        data: TextData,
        block_size: int,
        batch_size: int = 32,
        lr: float = 3e-3,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        grad_clip: float | None = 1.0,
        warmup: int = 50,
        min_lr_ratio: float = 0.1,
        log_every: int = 0,
        seed: int = 0,
    ):
        from nerve import optim

        if max_steps is None and max_seconds is None:
            raise ValueError("LMTrainer: give max_steps or max_seconds (or both)")
        self.model, self.data = model, data
        self.block_size, self.batch_size = block_size, batch_size
        self.lr, self.max_steps, self.max_seconds = lr, max_steps, max_seconds
        self.grad_clip, self.warmup, self.min_lr_ratio = grad_clip, warmup, min_lr_ratio
        self.log_every = log_every
        self.generator = nerve.Generator().manual_seed(seed)
        self.optimizer = optim.AdamW(
            model.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.01
        )
        self.steps, self.seconds, self.train_loss = 0, 0.0, None
        self.history: list[tuple[int, float, float]] = []  # (step, seconds, smoothed loss)

    @property
    def done(self) -> bool:
        return (self.max_steps is not None and self.steps >= self.max_steps) or (
            self.max_seconds is not None and self.seconds >= self.max_seconds
        )

    def lr_now(self) -> float:
        progress = max(
            self.steps / self.max_steps if self.max_steps else 0.0,
            self.seconds / self.max_seconds if self.max_seconds else 0.0,
        )
        r = self.min_lr_ratio
        decay = r + (1 - r) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return self.lr * min(1.0, (self.steps + 1) / max(1, self.warmup), decay)

    def train(self, seconds: float | None = None) -> LMTrainer:
        """Train until the budget is spent, or for about ``seconds`` more (one slice)."""
        import time

        from nerve.nn.utils import clip_grad_norm_

        self.model.train()
        slice_end = time.perf_counter() + seconds if seconds is not None else float("inf")
        while not self.done and time.perf_counter() < slice_end:
            start = time.perf_counter()
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_now()
            x, y = get_batch(self.data.train, self.batch_size, self.block_size, self.generator)
            loss = self.model(x, y)[1]
            self.optimizer.zero_grad()
            loss.backward()
            if self.grad_clip is not None:
                clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            value = float(loss.item())
            smooth = self.train_loss
            self.train_loss = value if smooth is None else 0.95 * smooth + 0.05 * value
            self.steps += 1
            self.seconds += time.perf_counter() - start
            self.history.append((self.steps, self.seconds, self.train_loss))
            if self.log_every and self.steps % self.log_every == 0:
                print(
                    f"step {self.steps:5d}  loss {self.train_loss:.3f}  {self.seconds:6.1f} s",
                    flush=True,
                )
        return self

    def result(self, eval_windows: int = 512) -> dict:
        """``{"steps", "seconds", "train_loss", "val_loss"}``: the smoothed training loss and the
        validation loss (``evaluate_loss`` over the first ``eval_windows`` windows, nats/char)."""
        val = evaluate_loss(
            self.model,
            self.data.val,
            self.block_size,
            batch_size=64,
            max_batches=max(1, eval_windows // 64),
        )
        return {
            "steps": self.steps,
            "seconds": self.seconds,
            "train_loss": self.train_loss,
            "val_loss": val,
        }


def train_side_by_side(trainers, slice_seconds: float = 1.0) -> None:
    """Train several ``LMTrainer`` in turns of ``slice_seconds`` until each has spent its budget.

    NOTE: on a shared machine the speed changes from minute to minute; taking turns exposes
    every model to the same conditions, so equal time budgets stay comparable.
    """
    while not all(t.done for t in trainers):
        for trainer in trainers:
            trainer.train(slice_seconds)


def train_lm(
    model,
    data: TextData,
    block_size: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    grad_clip: float | None = 1.0,
    warmup: int = 50,
    min_lr_ratio: float = 0.1,
    eval_windows: int = 512,
    log_every: int = 0,
    seed: int = 0,
) -> dict:
    """Train a character LM in one go (``LMTrainer``); returns its ``result(eval_windows)``."""
    trainer = LMTrainer(
        model,
        data,
        block_size,
        batch_size,
        lr,
        max_steps,
        max_seconds,
        grad_clip,
        warmup,
        min_lr_ratio,
        log_every,
        seed,
    )
    return trainer.train().result(eval_windows)
