"""ADALINE and the LMS (delta, Widrow-Hoff) rule (Widrow and Hoff, 1960).

ADALINE learns on its *linear* output, not on the thresholded one:

    y_lin = w . x + b,    Delta w = lr * (y - y_lin) * x,    Delta b = lr * (y - y_lin)

That is stochastic gradient descent on the squared error 1/2 (y - y_lin)^2, so (unlike the
perceptron) it settles even when the classes overlap, at the least-squares solution

    [w, b] = argmin |[x, 1] [w, b] - y|^2      (what numpy.linalg.lstsq returns)

``mode="batch"`` takes the full-batch gradient step; it converges to the least-squares solution
for lr < 2 / lambda_max(Z^T Z / N), Z = [x, 1]. ``mode="online"`` is the 1960 sample-by-sample
rule; with a constant lr it wanders in a small neighbourhood of the solution, so ``fit`` lets lr
decay as lr / (1 + epoch / decay_epochs).

Example:
    >>> x = np.random.default_rng(0).normal(size=(50, 2)); y = x @ [2.0, -1.0] + 0.5
    >>> model = Adaline(lr=0.1, mode="batch"); _ = model.fit(x, y, epochs=500)
    >>> np.round(model.weight, 3).tolist(), round(model.bias, 3)
    ([2.0, -1.0], 0.5)
"""

from __future__ import annotations

import numpy as np

from nerve.classic.perceptron import augment


def least_squares(x, y) -> np.ndarray:
    """The least-squares [w, b]: (D + 1,) from numpy.linalg.lstsq on [x, 1]."""
    return np.linalg.lstsq(augment(x), np.asarray(y, dtype=np.float64), rcond=None)[0]


def max_stable_lr(x) -> float:
    """2 / lambda_max(Z^T Z / N), Z = [x, 1]: batch LMS diverges at or above this lr."""
    z = augment(x)
    return 2.0 / float(np.linalg.eigvalsh(z.T @ z / len(z)).max())


class Adaline:
    """An adaptive linear neuron trained with the LMS rule. weight: (D,), bias: float.

    Args:
        lr: learning rate.
        mode: "online" (sample by sample, as in 1960) or "batch" (full-batch gradient steps).
        decay_epochs: online mode only: lr_epoch = lr / (1 + epoch / decay_epochs).
        seed: online mode only: seeds the visiting order.
    """

    def __init__(
        self, lr: float = 0.01, mode: str = "online", decay_epochs: float = 10.0, seed: int = 0
    ):
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if mode not in ("online", "batch"):
            raise ValueError(f"mode must be 'online' or 'batch', got {mode!r}")
        if not decay_epochs > 0:
            raise ValueError(f"decay_epochs must be > 0, got {decay_epochs}")
        self.lr, self.mode, self.decay_epochs, self.seed = lr, mode, decay_epochs, seed
        self.weight: np.ndarray | None = None
        self.bias = 0.0

    def fit(self, x, y, epochs: int = 100) -> np.ndarray:
        """Train from w = 0, b = 0 on x: (N, D), real targets y: (N,). Returns (epochs,) MSE."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1:
            raise ValueError(f"Adaline.fit: x must have shape (N, D), got shape {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"Adaline.fit: y must have shape ({x.shape[0]},), got {y.shape}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("Adaline.fit: x and y must contain only finite values")
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        z = augment(x)  # (N, D + 1): the bias is the last weight
        wb = np.zeros(z.shape[1])
        rng = np.random.default_rng(self.seed)
        mse = np.empty(epochs)
        for epoch in range(epochs):
            # NOTE: a too-large lr overflows; we report that below instead of warning per step.
            with np.errstate(over="ignore", invalid="ignore"):
                if self.mode == "batch":
                    wb += self.lr * z.T @ (y - z @ wb) / len(z)
                else:
                    lr = self.lr / (1.0 + epoch / self.decay_epochs)
                    for i in rng.permutation(len(z)):
                        wb += lr * (y[i] - z[i] @ wb) * z[i]
                mse[epoch] = np.mean((y - z @ wb) ** 2)
            if not np.isfinite(mse[epoch]):
                raise FloatingPointError(
                    f"Adaline diverged at epoch {epoch}: lr={self.lr} is too large "
                    f"(batch mode needs lr < {max_stable_lr(x):.3g})"
                )
        self.weight, self.bias = wb[:-1].copy(), float(wb[-1])
        return mse

    def decision_function(self, x) -> np.ndarray:
        """The linear output w . x + b: (N,)."""
        if self.weight is None:
            raise RuntimeError("Adaline is not fitted yet: call fit(x, y) first")
        return np.asarray(x, dtype=np.float64) @ self.weight + self.bias

    def predict(self, x) -> np.ndarray:
        """Class labels sign(w . x + b) in {-1, +1}."""
        return np.where(self.decision_function(x) > 0, 1, -1)
