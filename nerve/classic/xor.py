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
    angles = [np.linspace(0, 2 * np.pi, n_angles, endpoint=False)]
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[j] - x[i]
            base = np.arctan2(dy, dx) + np.pi / 2
            angles.append(np.array([base - 1e-6, base + 1e-6]))
    angles = np.concatenate(angles)  # (A,)
    directions = np.stack([np.cos(angles), np.sin(angles)])  # (2, A)
    projection = x @ directions  # (N, A)
    ordered = np.sort(projection, axis=0)
    # Thresholds below all points, between each sorted pair, and above all: (N + 1, A).
    cuts = np.concatenate([ordered[:1] - 1, (ordered[:-1] + ordered[1:]) / 2, ordered[-1:] + 1])
    predicted = projection[None, :, :] > cuts[:, None, :]  # (N + 1, N, A)
    accuracy = (predicted == y[None, :, None]).mean(axis=1)  # (N + 1, A)
    best = np.maximum(accuracy, 1 - accuracy).max()
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


# --- The multilayer answer: a 2-2-1 sigmoid network trained with backpropagation ---------------

XOR_FEATURES = {
    (0, 0, 0, 1): "AND",
    (0, 1, 1, 1): "OR",
    (1, 1, 1, 0): "NAND",
    (1, 0, 0, 0): "NOR",
    (0, 1, 1, 0): "XOR",
    (1, 0, 0, 1): "XNOR",
    (0, 0, 1, 1): "x1",
    (0, 1, 0, 1): "x2",
    (1, 1, 0, 0): "NOT x1",
    (1, 0, 1, 0): "NOT x2",
    (0, 0, 1, 0): "x1 AND NOT x2",
    (0, 1, 0, 0): "x2 AND NOT x1",
    (1, 1, 0, 1): "x1 -> x2",
    (1, 0, 1, 1): "x2 -> x1",
    (0, 0, 0, 0): "always 0",
    (1, 1, 1, 1): "always 1",
}


@dataclass
class XorMLPResult:
    """K networks trained side by side, one per seed.

    solved: (K,) every output on the right side of 1/2. outputs: (K, 4) network outputs.
    hidden: (K, 4, H) hidden activations on the four inputs. losses: (epochs, K) mean squared
    error per epoch. weights: the trained (W1 (K, 2, H), b1 (K, 1, H), W2 (K, H, 1), b2 (K, 1, 1)).
    """

    seeds: list[int]
    solved: np.ndarray
    outputs: np.ndarray
    hidden: np.ndarray
    losses: np.ndarray
    weights: tuple[np.ndarray, ...]

    def features(self, k: int) -> list[str]:
        """The logic function each hidden unit of network k computes (activation > 1/2)."""
        return [
            XOR_FEATURES[tuple(int(a > 0.5) for a in self.hidden[k, :, j])]
            for j in range(self.hidden.shape[2])
        ]


def train_xor_mlp(
    seeds=range(10),
    hidden: int = 2,
    epochs: int = 1000,
    lr: float = 1.0,
    momentum: float = 0.9,
    init_scale: float = 0.5,
) -> XorMLPResult:
    """Train 2-H-1 sigmoid networks on XOR with backprop, one per seed, in one batched graph.

    Model: h = sigmoid(x W1 + b1), y = sigmoid(h W2 + b2); loss: mean squared error, as in
    Rumelhart, Hinton and Williams (1986); full-batch SGD with momentum. Network k starts from
    weights uniform in [-init_scale, init_scale] drawn by ``numpy.random.default_rng(seed_k)``,
    so its result does not depend on which other seeds train beside it. The networks share no
    weights, so the gradient of the summed loss is each network's own gradient.

    NOTE: a 2-2-1 network can stall in a local minimum: about 1 run in 10 with these settings.
    More hidden units (hidden=3) remove that in practice.
    """
    import nerve

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be a positive int, got {hidden!r}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    shapes = [(2, hidden), (1, hidden), (hidden, 1), (1, 1)]
    sizes = [int(np.prod(shape)) for shape in shapes]
    draws = np.stack(
        [np.random.default_rng(s).uniform(-init_scale, init_scale, sum(sizes)) for s in seeds]
    )  # (K, P)
    offsets = np.cumsum([0] + sizes)
    params = [
        nerve.tensor(
            draws[:, offsets[i] : offsets[i + 1]].reshape(len(seeds), *shape)
        ).requires_grad_()
        for i, shape in enumerate(shapes)
    ]
    w1, b1, w2, b2 = params
    x_np, y_np = xor_data()
    x, y = nerve.tensor(x_np), nerve.tensor(y_np[:, None])  # (4, 2), (4, 1)
    optimizer = nerve.optim.SGD(params, lr=lr, momentum=momentum)
    losses = np.empty((epochs, len(seeds)))
    for epoch in range(epochs):
        h = nerve.sigmoid(x @ w1 + b1)  # (K, 4, H)
        out = nerve.sigmoid(h @ w2 + b2)  # (K, 4, 1)
        per_network = ((out - y) ** 2).mean(dim=(1, 2))  # (K,)
        optimizer.zero_grad()
        per_network.sum().backward()
        optimizer.step()
        losses[epoch] = per_network.detach().numpy()
    with nerve.no_grad():
        h = nerve.sigmoid(x @ w1 + b1)
        out = nerve.sigmoid(h @ w2 + b2)[:, :, 0]  # (K, 4)
    outputs = out.numpy()
    return XorMLPResult(
        seeds=seeds,
        solved=((outputs > 0.5) == (y_np > 0.5)).all(axis=1),
        outputs=outputs,
        hidden=h.numpy(),
        losses=losses,
        weights=tuple(p.detach().numpy() for p in params),
    )
