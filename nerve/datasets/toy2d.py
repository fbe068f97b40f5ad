"""Two-dimensional toy sets of the TensorFlow playground, generated with NumPy.

Every ``make_*`` function returns ``(X, y)``:

- ``X``: float32 array of shape ``(n, 2)``, the points, which lie roughly in ``[-6, 6]^2``
  (the playground's view);
- ``y``: int64 array of shape ``(n,)``, class labels ``0 .. n_classes - 1``.

The points are shuffled, classes are as balanced as ``n`` allows, and the same ``seed``
always gives the same set. ``noise`` is in the playground's units: ``0`` is clean, ``0.5``
(the playground's "50") is very noisy.

    >>> X, y = make_spiral(200, noise=0.1, seed=0)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((200, 2), dtype('float32'), (200,), dtype('int64'))

The geometry follows the playground (tensorflow/playground, ``src/dataset.ts``); the moons
are scikit-learn's ``make_moons`` rescaled to the same view.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TOY2D",
    "make_blobs",
    "make_circle",
    "make_gaussian",
    "make_moons",
    "make_spiral",
    "make_toy2d",
    "make_xor",
]


def _check(n: int, noise: float, n_classes: int = 2, min_classes: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(noise, (int, float, np.floating)) or not 0.0 <= noise < np.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if not isinstance(n_classes, (int, np.integer)) or n_classes < min_classes:
        raise ValueError(f"n_classes must be an integer >= {min_classes}, got {n_classes!r}")


def _class_sizes(n: int, n_classes: int) -> list[int]:
    """Split ``n`` points into ``n_classes`` groups whose sizes differ by at most one."""
    return [n // n_classes + (k < n % n_classes) for k in range(n_classes)]


def _finish(points: list[np.ndarray], labels: list[np.ndarray], rng: np.random.Generator):
    X = np.concatenate(points).astype(np.float32)
    y = np.concatenate(labels).astype(np.int64)
    order = rng.permutation(len(y))
    return X[order], y[order]


def make_xor(n: int = 200, noise: float = 0.0, seed: int = 0):
    """XOR: label 1 where ``x1 * x2 >= 0`` (quadrants I and III), else 0.

    Points are uniform in ``[-5, 5]^2`` pushed 0.3 away from the axes; the label is taken
    after adding uniform noise ``U(-5, 5) * noise`` to each coordinate, as the playground does,
    so noise flips labels near the axes.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    padding = 0.3
    xy = rng.uniform(-5.0, 5.0, size=(n, 2))
    xy += np.where(xy > 0, padding, -padding)
    jitter = rng.uniform(-5.0, 5.0, size=(n, 2)) * noise
    noisy = xy + jitter
    y = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int64)
    return _finish([xy], [y], rng)


def make_circle(n: int = 200, noise: float = 0.0, seed: int = 0):
    """A disc (label 1, radius < 2.5) inside a ring (label 0, radius 3.5 to 5).

    Labels are decided after uniform noise ``U(-5, 5) * noise`` per coordinate, as in the
    playground, so noisy points near the gap can take the other class.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    radius = 5.0
    n_in, n_out = _class_sizes(n, 2)[::-1]
    points, labels = [], []
    for count, (r_min, r_max) in ((n_in, (0.0, radius * 0.5)), (n_out, (radius * 0.7, radius))):
        r = rng.uniform(r_min, r_max, size=count)
        angle = rng.uniform(0.0, 2 * np.pi, size=count)
        xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        noisy = xy + rng.uniform(-radius, radius, size=(count, 2)) * noise
        points.append(xy)
        labels.append((np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.int64))
    return _finish(points, labels, rng)


def make_blobs(n: int = 200, noise: float = 0.0, seed: int = 0, n_classes: int = 3):
    """``n_classes`` Gaussian blobs with centres evenly spaced on a circle of radius 3.5.

    Each blob has variance ``0.5 + 7 * noise`` per coordinate (the playground's Gaussian
    variance, 0.5 at ``noise=0`` to 4 at ``noise=0.5``), so ``noise=0.5`` makes blobs overlap.
    """
    _check(n, noise, n_classes)
    rng = np.random.default_rng(seed)
    std = np.sqrt(0.5 + 7.0 * noise)
    points, labels = [], []
    for k, count in enumerate(_class_sizes(n, n_classes)):
        # NOTE: the first centre sits at 45 degrees so two blobs land at (2.5, 2.5), (-2.5, -2.5)
        angle = np.pi / 4 + 2 * np.pi * k / n_classes
        centre = 3.5 * np.array([np.cos(angle), np.sin(angle)])
        points.append(centre + rng.normal(0.0, std, size=(count, 2)))
        labels.append(np.full(count, k))
    return _finish(points, labels, rng)


def make_gaussian(n: int = 200, noise: float = 0.0, seed: int = 0, n_classes: int = 2):
    """The playground's two Gaussians, centred at ``(2, 2)`` (label 1) and ``(-2, -2)`` (label 0).

    The variance grows linearly from 0.5 (``noise=0``) to 4 (``noise=0.5``). With
    ``n_classes > 2`` this is :func:`make_blobs`.
    """
    _check(n, noise, n_classes)
    if n_classes > 2:
        return make_blobs(n, noise, seed, n_classes)
    rng = np.random.default_rng(seed)
    std = np.sqrt(0.5 + 7.0 * noise)
    n0, n1 = _class_sizes(n, 2)
    points = [rng.normal(-2.0, std, size=(n0, 2)), rng.normal(2.0, std, size=(n1, 2))]
    return _finish(points, [np.zeros(n0), np.ones(n1)], rng)


def make_spiral(n: int = 200, noise: float = 0.0, seed: int = 0, n_classes: int = 2):
    """Interleaved spirals, one arm per class, each turning 1.75 times out to radius 5.

    Arm ``k`` is ``r = 5 s``, ``theta = 3.5 pi s + 2 pi k / n_classes`` for ``s`` in ``[0, 1)``,
    point ``(r sin theta, r cos theta)``, plus uniform noise ``U(-1, 1) * noise`` per coordinate.
    With two classes this is the playground's two-spiral set.
    """
    _check(n, noise, n_classes)
    rng = np.random.default_rng(seed)
    points, labels = [], []
    for k, count in enumerate(_class_sizes(n, n_classes)):
        s = np.arange(count) / max(count, 1)
        r = 5.0 * s
        theta = 1.75 * 2 * np.pi * s + 2 * np.pi * k / n_classes
        xy = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
        points.append(xy + rng.uniform(-1.0, 1.0, size=(count, 2)) * noise)
        labels.append(np.full(count, k))
    return _finish(points, labels, rng)


def make_moons(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Two interleaving half circles (scikit-learn's ``make_moons``) scaled by 4 and centred.

    The upper moon (label 0) is ``(cos t, sin t)``, the lower (label 1) ``(1 - cos t,
    0.5 - sin t)`` for ``t`` in ``[0, pi]``; the set is shifted by ``(-0.5, -0.25)``, scaled by 4,
    then Gaussian noise with standard deviation ``4 * noise`` is added.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    points = [4.0 * (p - [0.5, 0.25]) for p in (upper, lower)]
    points = [p + rng.normal(0.0, 4.0 * noise, size=p.shape) for p in points]
    return _finish(points, [np.zeros(n0), np.ones(n1)], rng)


# Name -> generator, for the playground and the command line. Multi-class generators take
# ``n_classes`` as a keyword; the others have exactly two classes.
TOY2D = {
    "xor": make_xor,
    "circle": make_circle,
    "gaussian": make_gaussian,
    "blobs": make_blobs,
    "spiral": make_spiral,
    "moons": make_moons,
}


def make_toy2d(name: str, n: int = 200, noise: float = 0.0, seed: int = 0, **kwargs):
    """Make the toy set called ``name`` (a key of :data:`TOY2D`), e.g. ``make_toy2d("xor")``."""
    if name not in TOY2D:
        raise ValueError(f"unknown toy dataset {name!r}; expected one of {sorted(TOY2D)}")
    return TOY2D[name](n, noise, seed, **kwargs)
