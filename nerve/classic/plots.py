"""Pictures for the history tour (matplotlib, from the ``nerve[train]`` extra, imported lazily).

Each function takes the numbers a milestone computed and writes one PNG; none of them computes
anything of its own beyond a grid to draw on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def require_pyplot():
    """matplotlib.pyplot with the file-only Agg backend, or a clear error naming the extra."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "plots need matplotlib, which comes with the 'train' extra: pip install 'nerve[train]'"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    require_pyplot().close(fig)
    return path


def _grid(x: np.ndarray, pad: float = 0.3, n: int = 200):
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])


def decision_boundary(path: Path, x, y, decision, title: str) -> Path:
    """Points x: (N, 2) coloured by y and the regions where decision(points) > 0."""
    plt = require_pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    gx, gy, points = _grid(np.asarray(x, dtype=np.float64))
    ax.contourf(
        gx, gy, (decision(points) > 0).reshape(gx.shape), levels=1, alpha=0.25, cmap="coolwarm"
    )
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=25)
    ax.set_title(title)
    return _save(fig, path)


def oja_directions(path: Path, x, eigenvector, weight, hebb_norms, oja_norms) -> Path:
    """Left: 2-D data with the leading eigenvector and Oja's weight. Right: |w| per epoch."""
    plt = require_pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.scatter(x[:, 0], x[:, 1], s=4, alpha=0.4)
    scale = 3 * x.std()
    for vector, label, style in [
        (eigenvector, "leading eigenvector", "k-"),
        (weight, "Oja's w", "r--"),
    ]:
        v = np.asarray(vector) / np.linalg.norm(vector) * scale
        left.plot([-v[0], v[0]], [-v[1], v[1]], style, label=label, lw=2)
    left.set_aspect("equal")
    left.legend()
    left.set_title("Oja's rule finds the principal axis")
    epochs = np.arange(1, len(hebb_norms) + 1)
    right.semilogy(epochs, hebb_norms, "o-", label="plain Hebb")
    right.semilogy(np.arange(1, len(oja_norms) + 1), oja_norms, "s-", label="Oja")
    right.set_xlabel("epoch")
    right.set_ylabel("|w|")
    right.legend()
    right.set_title("Hebb's weights explode; Oja's stay at 1")
    return _save(fig, path)


def line_plot(
    path: Path,
    x,
    series: dict,
    title: str,
    xlabel: str,
    ylabel: str,
    log_y: bool = False,
    markers: bool = True,
) -> Path:
    """One curve per entry of series {label: y}."""
    plt = require_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, values in series.items():
        ax.plot(x, values, "o-" if markers else "-", label=label, ms=3)
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _save(fig, path)


def xor_network(path: Path, predict, hidden, features) -> Path:
    """Left: the MLP's decision regions on the unit square. Right: the four inputs in the plane
    of the two hidden units, where XOR has become linearly separable."""
    plt = require_pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0])
    gx, gy, points = _grid(corners, pad=0.25)
    left.contourf(gx, gy, predict(points).reshape(gx.shape), levels=20, cmap="coolwarm", alpha=0.6)
    left.scatter(corners[:, 0], corners[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=80)
    left.set_title("2-2-1 network: output on the plane")
    right.scatter(hidden[:, 0], hidden[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=80)
    for index, ((h1, h2), (a, b)) in enumerate(zip(hidden, corners.astype(int), strict=True)):
        # NOTE: two corners often share a hidden point; stagger their labels vertically.
        right.annotate(
            f"x = ({a}, {b})",
            (h1, h2),
            textcoords="offset points",
            xytext=(8 if h1 < 0.5 else -60, 8 - 14 * (index % 2)),
            fontsize=8,
        )
    right.set_xlabel(f"hidden 1 ({features[0]})")
    right.set_ylabel(f"hidden 2 ({features[1]})")
    right.set_xlim(-0.1, 1.1)
    right.set_ylim(-0.1, 1.1)
    right.set_title("the hidden layer makes XOR separable")
    return _save(fig, path)


def fitted_functions(path: Path, fits, target_index: int = 0) -> Path:
    """The target and each width's fit, for one target of a list of ApproximationFit."""
    plt = require_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    first = fits[0]
    ax.plot(first.x, first.target[target_index], "k-", lw=3, alpha=0.3, label="target")
    for fit in fits:
        ax.plot(
            fit.x,
            fit.prediction[target_index],
            lw=1,
            label=f"width {fit.width}: max err {fit.max_error[target_index]:.3f}",
        )
    ax.set_title(f"one hidden {first.activation} layer fits '{first.names[target_index]}'")
    ax.legend(fontsize=7)
    return _save(fig, path)


def gradient_norms(path: Path, reports) -> Path:
    """|dL/dW_l| against layer l, one line per network kind, log scale."""
    series = {report.kind: report.norms for report in reports}
    layers = np.arange(1, len(reports[0].norms) + 1)
    return line_plot(
        path,
        layers,
        series,
        "gradient norm per layer",
        "layer (1 = input side)",
        "|dL/dW|",
        log_y=True,
    )


def sawtooth_fits(path: Path, x, target, deep, shallow, k: int, deep_params: int) -> Path:
    """The sawtooth, the deep network's output and a same-size shallow network's fit."""
    plt = require_pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, target, "k-", lw=4, alpha=0.25, label=f"sawtooth, k = {k}")
    ax.plot(x, deep, "b-", lw=1, label=f"deep, width 2 ({deep_params} parameters)")
    ax.plot(x, shallow, "r-", lw=1, label="shallow, same parameters")
    ax.set_title("deep nets fold, shallow nets must count")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)
