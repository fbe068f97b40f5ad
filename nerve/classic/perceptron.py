"""Rosenblatt's perceptron (1958) and its convergence theorem (Novikoff, 1962).

A perceptron predicts y_hat = sign(w . x + b) for labels y in {-1, +1}. The learning rule visits
the samples in order and, on each mistake (y (w . x + b) <= 0), adds the sample:

    w <- w + lr * y * x,   b <- b + lr * y

Convergence theorem: if some unit vector u (in the space of x augmented with a constant 1, so
that it includes the bias) separates the data with margin gamma = min_i y_i u . [x_i, 1] > 0,
and R = max_i |[x_i, 1]|, then starting from w = 0 the rule makes at most (R / gamma)^2
mistakes, for any lr > 0. On data that is not linearly separable (XOR) it never stops making
mistakes; ``Perceptron.fit`` then reports ``converged=False`` after ``max_epochs``.

Example:
    >>> x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> Perceptron().fit(x, [-1, -1, -1, 1]).converged   # AND is separable
    True
    >>> Perceptron().fit(x, [-1, 1, 1, -1], max_epochs=100).converged   # XOR is not
    False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def check_xy(x, y, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate x: (N, D) finite floats and y: (N,) labels in {-1, +1} (0 is read as -1)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{model}: x must have shape (N, D) with N >= 1, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{model}: x must contain only finite values")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (x.shape[0],):
        raise ValueError(f"{model}: y must have shape ({x.shape[0]},), got shape {y.shape}")
    if not np.isin(y, (-1, 0, 1)).all():
        raise ValueError(f"{model}: y must hold labels -1/+1 (or 0/1), got {np.unique(y)}")
    return x, np.where(y > 0, 1.0, -1.0)


def augment(x) -> np.ndarray:
    """[x, 1]: (N, D) -> (N, D + 1), so the bias is one more weight."""
    x = np.asarray(x, dtype=np.float64)
    return np.hstack([x, np.ones((len(x), 1))])


def convergence_bound(x, y, separator) -> float:
    """(R / gamma)^2 of the convergence theorem for a given separator (w, b): (D + 1,).

    R = max |[x_i, 1]| and gamma = min_i y_i u . [x_i, 1] with u = separator / |separator|.
    Raises ValueError if the separator does not separate the data (gamma <= 0).
    """
    x, y = check_xy(x, y, "convergence_bound")
    z = augment(x)
    u = np.asarray(separator, dtype=np.float64)
    if u.shape != (z.shape[1],):
        raise ValueError(f"separator must have shape ({z.shape[1]},) = (w, b), got {u.shape}")
    gamma = float(np.min(y * (z @ u)) / np.linalg.norm(u))
    if gamma <= 0:
        raise ValueError(f"separator does not separate the data (margin {gamma:.3g} <= 0)")
    radius = float(np.max(np.linalg.norm(z, axis=1)))
    return (radius / gamma) ** 2


@dataclass
class PerceptronResult:
    """What ``Perceptron.fit`` did.

    converged: an epoch passed with no mistake. epochs: epochs run. updates: total mistakes
    (= weight updates). errors: (epochs,) mistakes in each epoch.
    """

    converged: bool
    epochs: int
    updates: int
    errors: np.ndarray


class Perceptron:
    """The perceptron learning rule (Rosenblatt, 1958). weight: (D,), bias: float."""

    def __init__(self, lr: float = 1.0):
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.lr = lr
        self.weight: np.ndarray | None = None
        self.bias = 0.0

    def fit(self, x, y, max_epochs: int = 100) -> PerceptronResult:
        """Run the rule from w = 0, b = 0 until an epoch has no mistake or max_epochs pass.

        x: (N, D); y: (N,) in {-1, +1} (or {0, 1}). Samples are visited in the given order.
        """
        x, y = check_xy(x, y, "Perceptron.fit")
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive int, got {max_epochs!r}")
        self.weight, self.bias = np.zeros(x.shape[1]), 0.0
        errors = []
        for _ in range(max_epochs):
            mistakes = 0
            for xi, yi in zip(x, y, strict=True):
                if yi * (self.weight @ xi + self.bias) <= 0:
                    self.weight += self.lr * yi * xi
                    self.bias += self.lr * yi
                    mistakes += 1
            errors.append(mistakes)
            if mistakes == 0:
                break
        errors = np.array(errors)
        return PerceptronResult(
            converged=bool(errors[-1] == 0),
            epochs=len(errors),
            updates=int(errors.sum()),
            errors=errors,
        )

    def decision_function(self, x) -> np.ndarray:
        """w . x + b for x: (N, D); returns (N,)."""
        if self.weight is None:
            raise RuntimeError("Perceptron is not fitted yet: call fit(x, y) first")
        return np.asarray(x, dtype=np.float64) @ self.weight + self.bias

    def predict(self, x) -> np.ndarray:
        """sign(w . x + b) in {-1, +1} (0 maps to -1, matching the rule's <= 0 mistake test)."""
        return np.where(self.decision_function(x) > 0, 1, -1)

    def score(self, x, y) -> float:
        """Accuracy on (x, y)."""
        x, y = check_xy(x, y, "Perceptron.score")
        return float(np.mean(self.predict(x) == y))


def separable_data(
    n: int = 100, margin: float = 0.1, dim: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linearly separable points in [-1, 1]^dim, none within ``margin`` of a random hyperplane.

    Returns x: (n, dim), y: (n,) in {-1, +1}, and the true separator (w, b): (dim + 1,) with
    |w| = 1, which the convergence bound can use.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    b = rng.uniform(-0.2, 0.2)
    points = []
    while len(points) < n:
        candidates = rng.uniform(-1, 1, size=(4 * n, dim))
        distance = candidates @ w + b
        points.extend(candidates[np.abs(distance) >= margin])
    x = np.array(points[:n])
    y = np.where(x @ w + b > 0, 1, -1)
    return x, y, np.append(w, b)
