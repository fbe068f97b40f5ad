"""Hebbian learning (Hebb, 1949) and Oja's rule (Oja, 1982).

"Cells that fire together wire together." For a linear neuron y = w . x the plain Hebb rule is

    Delta w = lr * y * x

On average Delta w = lr * C w with C = E[x x^T], so w turns toward C's leading eigenvector but its
norm grows without bound (by about (1 + lr * lambda_1) per step). Oja's rule adds a decay that is
itself Hebbian-local:

    Delta w = lr * y * (x - y * w)

which keeps |w| near 1 and converges to the first principal component of zero-mean data
(E. Oja, "A simplified neuron model as a principal component analyzer", 1982).

No gradients are involved: these are plain NumPy loops over samples, as the rules were stated.

Example:
    >>> x = np.random.default_rng(0).normal(size=(500, 2)) * [3.0, 1.0]
    >>> w = oja(x, lr=0.01, epochs=20).weight
    >>> bool(abs(w[0]) > 0.99)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class HebbianResult:
    """weight: (D,) the final weights; norms: (epochs,) |w| after each epoch."""

    weight: np.ndarray
    norms: np.ndarray


def _check(x, lr: float, epochs: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must have shape (N, D) with N >= 1, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x must contain only finite values")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    return x


def _init(x: np.ndarray, w, seed: int) -> np.ndarray:
    if w is None:
        w = np.random.default_rng(seed).normal(size=x.shape[1])
        return w / np.linalg.norm(w)
    w = np.array(w, dtype=np.float64)
    if w.shape != (x.shape[1],):
        raise ValueError(f"w must have shape ({x.shape[1]},), got shape {w.shape}")
    return w


def _run(x, lr, epochs, w, seed, decay_epochs, update) -> HebbianResult:
    x = _check(x, lr, epochs)
    if decay_epochs is not None and not decay_epochs > 0:
        raise ValueError(f"decay_epochs must be > 0 or None, got {decay_epochs}")
    w = _init(x, w, seed)
    order_rng = np.random.default_rng(seed + 1)
    norms = np.empty(epochs)
    for epoch in range(epochs):
        rate = lr if decay_epochs is None else lr / (1.0 + epoch / decay_epochs)
        for i in order_rng.permutation(len(x)):
            y = w @ x[i]
            w = w + rate * update(x[i], y, w)
        norms[epoch] = np.linalg.norm(w)
    return HebbianResult(weight=w, norms=norms)


def hebb(
    x, lr: float = 0.01, epochs: int = 1, w=None, seed: int = 0, decay_epochs: float | None = None
) -> HebbianResult:
    """The plain Hebb rule on a linear neuron: Delta w = lr * y * x, with y = w . x.

    Args:
        x: (N, D) inputs, visited in a fresh random order each epoch.
        lr: learning rate.
        epochs: passes over x.
        w: (D,) initial weights (default: a random unit vector drawn from ``seed``).
        seed: seeds the initial weights and the visiting order.
        decay_epochs: if given, the rate in epoch t is lr / (1 + t / decay_epochs) (a decaying
            rate removes the jitter a constant one leaves around the fixed point).

    The weight norm grows geometrically; that instability is what Oja's rule fixes.
    """
    return _run(x, lr, epochs, w, seed, decay_epochs, lambda xi, y, w: y * xi)


def oja(
    x, lr: float = 0.01, epochs: int = 20, w=None, seed: int = 0, decay_epochs: float | None = 5.0
) -> HebbianResult:
    """Oja's rule: Delta w = lr * y * (x - y * w), with y = w . x.

    For zero-mean x and a small enough lr, w converges to +-(unit leading eigenvector of the
    covariance of x). Arguments as in ``hebb``; the rate decays by default, as Oja's
    convergence proof assumes (sum of rates infinite, sum of squares finite).
    """
    return _run(x, lr, epochs, w, seed, decay_epochs, lambda xi, y, w: y * (xi - y * w))


def leading_eigenvector(x) -> np.ndarray:
    """The unit leading eigenvector of the second-moment matrix x^T x / N, for x: (N, D)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got shape {x.shape}")
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x / len(x))
    return eigenvectors[:, np.argmax(eigenvalues)]


def cosine(a, b) -> float:
    """|cos| of the angle between two vectors (sign-free: +-v are the same principal axis)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
