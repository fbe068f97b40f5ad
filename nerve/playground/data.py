"""Data for the learning view: 2-D point sets, uploaded CSV files, input features.

Points live on the plane ``[-EXTENT, EXTENT]^2`` with ``EXTENT = 3``: the built-in sets come
from ``nerve.datasets.toy2d`` (TF Playground's geometry, [-6, 6]) halved, and an uploaded CSV is
centred and scaled to span 90% of the plane, so the features (x1^2, sin x1, ...) see moderate
numbers whatever the source's units.

Classification labels are ints ``0..K-1``; regression targets are floats in about ``[-1, 1]``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from nerve.playground.protocol import (
    LIMITS,
    MULTICLASS_DATASETS,
    REGRESSION_DATASETS,
    ProtocolError,
)

EXTENT = 3.0
_FILL = 0.9 * EXTENT


@dataclass
class PointSet:
    """Points ``x: (n, 2)`` and labels ``y: (n,)``; ``problem`` is classification/regression."""

    x: np.ndarray
    y: np.ndarray
    problem: str
    num_classes: int
    # The affine map from the source's coordinates onto the plane: plane = (raw - center) * scale.
    center: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    class_names: tuple[str, ...] = ()


def make_points(name: str, n: int, noise: float, seed: int, classes: int = 2) -> PointSet:
    """One of the built-in data sets; ``noise`` is in percent (0..50) as in TF Playground."""
    if name in REGRESSION_DATASETS:
        x, y = _regression(name, n, noise / 100.0, seed)
        return PointSet(x.astype(np.float32), y.astype(np.float32), "regression", 1)
    from nerve.datasets import toy2d

    kwargs = {"n_classes": classes} if name in MULTICLASS_DATASETS else {}
    x, y = toy2d.make_toy2d(name, n, noise / 100.0, seed, **kwargs)
    # NOTE: toy2d draws in TF Playground's [-6, 6] view; halve it onto our [-3, 3] plane.
    scale = EXTENT / 6.0
    k = int(y.max()) + 1
    return PointSet(
        (x * scale).astype(np.float32), y.astype(np.int64), "classification", k, scale=scale
    )


def _fit_plane(x: np.ndarray) -> tuple[np.ndarray, float]:
    center = (x.max(axis=0) + x.min(axis=0)) / 2
    radius = float(np.abs(x - center).max())
    return center, (_FILL / radius if radius > 0 else 1.0)


def _regression(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """TF Playground's two regression sets: a tilted plane and a sum of Gaussian bumps."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-_FILL, _FILL, size=(n, 2))
    if name == "plane":
        y = (x[:, 0] + x[:, 1]) / (2 * _FILL)
    else:
        bumps = np.array([[-1.5, 1.5, 1.0], [1.5, 1.5, -1.0], [-1.5, -1.5, -1.0], [1.5, -1.5, 1.0]])
        d2 = ((x[:, None, :] - bumps[None, :, :2]) ** 2).sum(-1)
        y = (bumps[:, 2] * np.exp(-d2 / 0.8)).sum(-1)
    y = y + noise * rng.normal(size=n)
    return x, np.clip(y, -1.0, 1.0)


def parse_csv(text: str) -> PointSet:
    """Parse ``x1,x2,label`` rows (optional header, ``#`` comments, , ; or tab separated).

    Labels that are all integers (or any words) with at most 8 distinct values make a
    classification set; other numbers make a regression set, scaled into ``[-1, 1]``.
    """
    if len(text.encode()) > LIMITS["csv_bytes"]:
        raise _csv_error(f"the CSV is larger than {LIMITS['csv_bytes'] // 1000} kB")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise _csv_error("the CSV is empty")
    dialect = _sniff(lines[0])
    rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
    if not _is_number(rows[0][0].strip()):
        rows = rows[1:]  # a header row
    if not 4 <= len(rows) <= LIMITS["csv_rows"]:
        raise _csv_error(f"the CSV needs 4 to {LIMITS['csv_rows']} data rows, got {len(rows)}")
    coords, labels = [], []
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if len(cells) != 3:
            raise _csv_error(f"data row {number} has {len(cells)} values, expected x1, x2, label")
        try:
            point = (float(cells[0]), float(cells[1]))
        except ValueError:
            raise _csv_error(f"data row {number}: x1 and x2 must be numbers") from None
        if not all(np.isfinite(point)):
            raise _csv_error(f"data row {number}: x1 and x2 must be finite")
        coords.append(point)
        labels.append(cells[2])
    x = np.array(coords, dtype=np.float64)
    center, scale = _fit_plane(x)
    x = ((x - center) * scale).astype(np.float32)
    mapping = dict(center=(float(center[0]), float(center[1])), scale=float(scale))
    numbers = [_as_float(s) for s in labels]
    if any(v is None for v in numbers) or all(float(v).is_integer() for v in numbers):
        names = sorted(set(labels), key=lambda s: (_as_float(s) is None, _as_float(s) or 0, s))
        if not 2 <= len(names) <= LIMITS["classes"][1]:
            raise _csv_error(
                f"classification labels need 2 to {LIMITS['classes'][1]} distinct values, "
                f"got {len(names)}"
            )
        index = {s: i for i, s in enumerate(names)}
        y = np.array([index[s] for s in labels], dtype=np.int64)
        return PointSet(x, y, "classification", len(names), class_names=tuple(names), **mapping)
    y = np.array(numbers, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise _csv_error("regression labels must be finite numbers")
    span = float(np.abs(y).max()) or 1.0
    return PointSet(x, (y / span).astype(np.float32), "regression", 1, **mapping)


def _sniff(line: str) -> type[csv.Dialect]:
    class Dialect(csv.excel):
        delimiter = next((d for d in (",", ";", "\t") if d in line), ",")

    return Dialect


def _is_number(text: str) -> bool:
    return _as_float(text) is not None


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _csv_error(message: str) -> ProtocolError:
    return ProtocolError(message, "learn.upload", "csv")


def split(points: PointSet, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled indices of the train and test parts; each part keeps at least one point."""
    order = np.random.default_rng(seed + 7919).permutation(len(points.y))
    n_train = int(round(len(order) * train_ratio / 100.0))
    n_train = min(max(n_train, 1), len(order) - 1)
    return order[:n_train], order[n_train:]


def features(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The chosen input features of points ``x: (n, 2)`` -> ``(n, len(names))`` float32."""
    x1, x2 = x[:, 0], x[:, 1]
    table = {
        "x1": lambda: x1,
        "x2": lambda: x2,
        "x1^2": lambda: x1 * x1,
        "x2^2": lambda: x2 * x2,
        "x1*x2": lambda: x1 * x2,
        "sin x1": lambda: np.sin(x1),
        "sin x2": lambda: np.sin(x2),
    }
    return np.stack([table[name]() for name in names], axis=1).astype(np.float32)


def grid(size: int) -> np.ndarray:
    """Centres of a ``size x size`` grid over the plane, row-major from the top-left.

    Returns ``(size * size, 2)`` float32.
    """
    step = 2 * EXTENT / size
    ticks = -EXTENT + step * (np.arange(size) + 0.5)
    gx, gy = np.meshgrid(ticks, ticks[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
