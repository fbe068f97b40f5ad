"""XOR: the problem no single layer solves (Minsky and Papert, 1969) and backprop solves.

Why no single threshold unit computes XOR: it would need w . x + b > 0 on (0, 1) and (1, 0) and
<= 0 on (0, 0) and (1, 1), i.e. b <= 0, w1 + b > 0, w2 + b > 0, w1 + w2 + b <= 0. Adding the two
middle ones gives w1 + w2 + 2b > 0, so w1 + w2 + b > -b >= 0: a contradiction. Minsky and
Papert's "Perceptrons" (1969) generalised such limits; a hidden layer removes them, and the
backpropagation of errors (Werbos, 1974; Rumelhart, Hinton and Williams, 1986) trains one.

This file shows both sides: ``single_layer_on_xor`` runs the perceptron and ADALINE on XOR and
``best_linear_accuracy`` scans every line through the plane (3 of 4 is the best any line does);
``train_xor_mlp`` trains a 2-2-1 sigmoid network with backprop on nerve's engine and
``hidden_features`` shows what its two hidden units learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nerve.classic.adaline import Adaline
from nerve.classic.perceptron import Perceptron


def xor_data() -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table: x: (4, 2) in {0, 1}, y: (4,) in {0, 1}."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return x, np.array([0, 1, 1, 0], dtype=np.float64)


def best_linear_accuracy(x, y, n_angles: int = 3600) -> float:
    """Best accuracy of any linear classifier sign(w . x + b) on 2-D points, by exhaustive scan.

    For each of n_angles directions w (plus the directions orthogonal to every pair of points,
    where the set of separable labelings changes) it tries every threshold between consecutive
    projections and both orientations. x: (N, 2); y: (N,) in {0, 1}.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y) > 0
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2), got shape {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},), got shape {y.shape}")
    angles = list(np.linspace(0, 2 * np.pi, n_angles, endpoint=False))
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[j] - x[i]
            base = np.arctan2(dy, dx) + np.pi / 2
            angles += [base - 1e-6, base + 1e-6]
    best = 0.0
    for angle in angles:
        projection = x @ np.array([np.cos(angle), np.sin(angle)])
        levels = np.sort(np.unique(projection))
        cuts = np.concatenate([[levels[0] - 1], (levels[:-1] + levels[1:]) / 2, [levels[-1] + 1]])
        for cut in cuts:
            accuracy = np.mean((projection > cut) == y)
            best = max(best, accuracy, 1 - accuracy)
    return float(best)


@dataclass
class SingleLayerReport:
    """What single-layer models manage on XOR (accuracies on the 4 points)."""

    perceptron_converged: bool
    perceptron_epochs: int
    perceptron_accuracy: float
    adaline_weight: np.ndarray  # (3,) [w1, w2, b] of ADALINE's least-squares fit
    adaline_accuracy: float
    best_line_accuracy: float


def single_layer_on_xor(max_epochs: int = 100) -> SingleLayerReport:
    """Run the perceptron and ADALINE on XOR; neither can exceed 3/4 of the points."""
    x, y = xor_data()
    signs = 2 * y - 1  # {0, 1} -> {-1, +1}
    perceptron = Perceptron()
    result = perceptron.fit(x, signs, max_epochs=max_epochs)
    adaline = Adaline(lr=0.5, mode="batch")
    adaline.fit(x, signs, epochs=2000)
    return SingleLayerReport(
        perceptron_converged=result.converged,
        perceptron_epochs=result.epochs,
        perceptron_accuracy=perceptron.score(x, signs),
        adaline_weight=np.append(adaline.weight, adaline.bias),
        adaline_accuracy=float(np.mean(adaline.predict(x) == signs)),
        best_line_accuracy=best_linear_accuracy(x, y),
    )
