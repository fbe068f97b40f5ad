"""Universal approximation (Cybenko, 1989; Hornik, 1991): one hidden layer fits any continuous f.

Cybenko proved that sums  g(x) = sum_j a_j sigmoid(w_j x + b_j) + c  are dense in the continuous
functions on a compact set; Hornik showed the sigmoid is not special (any bounded non-constant
activation works, and later results cover ReLU). The theorem says nothing about how wide the layer
must be or how to find the weights; this file measures both for functions on an interval.

A fit of width m, for each target, in three steps:
  1. spread the units: unit j switches at c_j, the midpoint of the j-th of m equal cells of
     [a, b], with slope +-gain * m / (b - a), so each switch is about one cell wide (the
     constructive idea behind the proofs: a staircase of steep sigmoids);
  2. solve the output layer (a, c) by least squares, exactly, given those hidden units;
  3. train every weight with backprop and Adam on nerve's engine, on the mean squared error.
The error reported is max |g(x) - f(x)| on a fine grid (the sup norm of the theorem).

Example:
    >>> fit = fit_one_hidden_layer(["sin"], width=16, activation="sigmoid")
    >>> bool(fit.max_error[0] < 0.05)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": lambda x: np.sin(2 * np.pi * x),
    "abs": lambda x: np.abs(2 * x - 1),
    "bump": lambda x: np.exp(-(((x - 0.5) / 0.1) ** 2)),
}

# Slope of each activation's switch relative to the grid spacing (tanh(x) = 2 sigmoid(2x) - 1).
_GAIN = {"sigmoid": 2.0, "tanh": 1.0, "relu": None}


def _activation(name: str):
    import nerve

    return {"sigmoid": nerve.sigmoid, "tanh": nerve.tanh, "relu": nerve.relu}[name]


@dataclass
class ApproximationFit:
    """Fits of one width and activation to T targets.

    names: the T target names. max_error: (T,) sup error on the evaluation grid after training.
    least_squares_error: (T,) the same after step 2 only. mse, least_squares_mse: (T,) the mean
    squared error on the training grid (what step 3 minimizes) after and before training.
    x: (G,) evaluation grid.
    prediction: (T, G) the fitted functions there. target: (T, G) the targets there.
    """

    names: list[str]
    width: int
    activation: str
    max_error: np.ndarray
    least_squares_error: np.ndarray
    mse: np.ndarray
    least_squares_mse: np.ndarray
    x: np.ndarray
    prediction: np.ndarray
    target: np.ndarray

    @property
    def n_parameters(self) -> int:
        """3m + 1 for one input: m slopes, m biases, m output weights, one output bias."""
        return 3 * self.width + 1


def _resolve(targets) -> tuple[list[str], list[Callable]]:
    names, fns = [], []
    for target in targets:
        if isinstance(target, str):
            if target not in TARGETS:
                raise ValueError(f"unknown target {target!r}; expected one of {sorted(TARGETS)}")
            names.append(target)
            fns.append(TARGETS[target])
        elif callable(target):
            names.append(getattr(target, "__name__", "f"))
            fns.append(target)
        else:
            raise TypeError(f"targets must be names or callables, got {type(target).__name__}")
    if not fns:
        raise ValueError("targets must name at least one function")
    return names, fns


def fit_one_hidden_layer(
    targets: Sequence[str | Callable] = ("sin",),
    width: int = 8,
    activation: str = "sigmoid",
    interval: tuple[float, float] = (0.0, 1.0),
    steps: int = 200,
    lr: float = 1e-3,
    n_train: int = 200,
    n_eval: int = 1001,
    seed: int = 0,
) -> ApproximationFit:
    """Fit g(x) = sum_j a_j act(w_j x + b_j) + c to each target on interval (see module doc).

    The T targets train side by side as a batch of independent networks: W1, b1: (T, 1, m),
    W2: (T, m, 1), c: (T, 1, 1). Since Adam is elementwise and the networks share nothing, this
    equals T separate runs.

    Args:
        targets: names from TARGETS or callables mapping a NumPy array to an array.
        width: hidden units m.
        activation: "sigmoid", "tanh" or "relu".
        interval: (a, b), the domain.
        steps: Adam steps (0 keeps the least-squares fit).
        lr: Adam learning rate.
        n_train, n_eval: sizes of the uniform training and evaluation grids.
        seed: seeds the signs (facing left or right) of the hidden units.
    """
    import nerve

    names, fns = _resolve(targets)
    if activation not in _GAIN:
        raise ValueError(f"activation must be one of {list(_GAIN)}, got {activation!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    a, b = (float(v) for v in interval)
    if not b > a:
        raise ValueError(f"interval must be (a, b) with b > a, got {interval}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")

    x_train = np.linspace(a, b, n_train)[:, None]  # (n, 1)
    x_eval = np.linspace(a, b, n_eval)[:, None]  # (G, 1)
    y_train = np.stack([np.asarray(f(x_train), dtype=np.float64) for f in fns])  # (T, n, 1)
    y_eval = np.stack([np.asarray(f(x_eval), dtype=np.float64) for f in fns])  # (T, G, 1)

    # Step 1: unit j switches at the midpoint of cell j, facing a random direction.
    rng = np.random.default_rng(seed)
    centers = a + (b - a) * (np.arange(width) + 0.5) / width  # (m,) cell midpoints
    slope = 1.0 / (b - a) if _GAIN[activation] is None else _GAIN[activation] * width / (b - a)
    w1 = rng.choice([-1.0, 1.0], width) * slope  # (m,)
    b1 = -w1 * centers
    act = _activation(activation)

    # Step 2: the output layer by least squares on [act(x w1 + b1), 1].
    with nerve.no_grad():
        features = act(nerve.tensor(x_train * w1 + b1)).numpy()  # (n, m)
    design = np.hstack([features, np.ones((n_train, 1))])
    solution = np.stack(
        [np.linalg.lstsq(design, y[:, 0], rcond=None)[0] for y in y_train]
    )  # (T, m + 1)

    n_targets = len(fns)
    params = [
        nerve.tensor(np.tile(w1, (n_targets, 1, 1))).requires_grad_(),  # (T, 1, m)
        nerve.tensor(np.tile(b1, (n_targets, 1, 1))).requires_grad_(),  # (T, 1, m)
        nerve.tensor(solution[:, :-1, None].copy()).requires_grad_(),  # (T, m, 1)
        nerve.tensor(solution[:, -1:, None].copy()).requires_grad_(),  # (T, 1, 1)
    ]

    def predict(x: np.ndarray):
        weight1, bias1, weight2, bias2 = params
        return act(nerve.tensor(x) @ weight1 + bias1) @ weight2 + bias2  # (T, N, 1)

    def errors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with nerve.no_grad():
            prediction = predict(x_eval).numpy()
            mse = ((predict(x_train).numpy() - y_train) ** 2).mean(axis=(1, 2))
        return np.abs(prediction - y_eval).max(axis=(1, 2)), mse, prediction

    least_squares_error, least_squares_mse, _ = errors()

    # Step 3: backprop and Adam on the summed mean squared errors.
    optimizer = nerve.optim.Adam(params, lr=lr)
    targets_train = nerve.tensor(y_train)
    for _ in range(steps):
        loss = ((predict(x_train) - targets_train) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    max_error, mse, prediction = errors()
    return ApproximationFit(
        names=names,
        width=width,
        activation=activation,
        max_error=max_error,
        least_squares_error=least_squares_error,
        mse=mse,
        least_squares_mse=least_squares_mse,
        x=x_eval[:, 0],
        prediction=prediction[:, :, 0],
        target=y_eval[:, :, 0],
    )


def width_table(
    targets: Sequence[str | Callable] = ("sin", "abs", "bump"),
    widths: Sequence[int] = (2, 4, 8, 16, 32),
    activation: str = "sigmoid",
    **kwargs,
) -> tuple[np.ndarray, list[ApproximationFit]]:
    """Max error for each width and target: returns (len(widths), T) and the fits."""
    fits = [fit_one_hidden_layer(targets, w, activation, **kwargs) for w in widths]
    return np.stack([fit.max_error for fit in fits]), fits
