"""A Hopfield associative memory (Hopfield, 1982) with Hebbian outer-product storage.

States are vectors of +-1 spins s: (n,). Storing P patterns xi^mu uses Hebb's rule once:

    W = (1 / n) * sum_mu xi^mu (xi^mu)^T,   with W_ii = 0

Recall updates one unit at a time, s_i <- sign(sum_j W_ij s_j), which never raises the energy
E(s) = -1/2 s^T W s, so the state settles in a local minimum: ideally the stored pattern nearest
the cue. Each stored bit sees crosstalk from the other patterns of variance about P / n; past a
load of alpha = P / n ~ 0.138 (Amit, Gutfreund and Sompolinsky, 1985) the crosstalk wins and
recall collapses. ``recall_rate`` measures this.

Example:
    >>> rng = np.random.default_rng(0)
    >>> patterns = random_patterns(5, 100, rng)
    >>> net = HopfieldNetwork(100).store(patterns)
    >>> cue = corrupt(patterns[0], 0.1, rng)
    >>> bool((net.recall(cue) == patterns[0]).all())
    True
"""

from __future__ import annotations

import numpy as np


def random_patterns(count: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """count random +-1 patterns of n units each: (count, n)."""
    return rng.choice(np.array([-1, 1]), size=(count, n))


def corrupt(pattern, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Flip exactly round(fraction * n) randomly chosen units of pattern(s): (n,) or (B, n)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    noisy = np.array(pattern, copy=True)
    rows = noisy.reshape(-1, noisy.shape[-1])
    flips = int(round(fraction * rows.shape[1]))
    for row in rows:
        row[rng.choice(rows.shape[1], size=flips, replace=False)] *= -1
    return noisy


def _as_spins(x, n: int, name: str) -> np.ndarray:
    array = np.asarray(x)
    if array.ndim not in (1, 2) or array.shape[-1] != n:
        raise ValueError(f"{name} must have shape ({n},) or (B, {n}), got shape {array.shape}")
    if not np.isin(array, (-1, 1)).all():
        raise ValueError(f"{name} must contain only -1 and +1, got values {np.unique(array)}")
    return array.astype(np.float64)


class HopfieldNetwork:
    """A Hopfield network of n +-1 units. ``store`` patterns, then ``recall`` from cues."""

    def __init__(self, n: int):
        if not isinstance(n, int) or n < 2:
            raise ValueError(f"n must be an int >= 2, got {n!r}")
        self.n = n
        self.weight = np.zeros((n, n))

    def store(self, patterns) -> HopfieldNetwork:
        """Add patterns (P, n) of +-1 with the Hebbian outer-product rule; returns self."""
        patterns = _as_spins(patterns, self.n, "patterns").reshape(-1, self.n)
        self.weight += patterns.T @ patterns / self.n
        np.fill_diagonal(self.weight, 0.0)
        return self

    def energy(self, state) -> np.ndarray:
        """E(s) = -1/2 s^T W s for state (n,) or (B, n); returns () or (B,)."""
        s = _as_spins(state, self.n, "state")
        return -0.5 * np.einsum("...i,ij,...j->...", s, self.weight, s)

    def recall(self, cue, max_sweeps: int = 20, seed: int = 0) -> np.ndarray:
        """Run asynchronous updates from cue (n,) or (B, n) until no unit changes.

        Each sweep visits the units in a fresh random order (shared by the batch) and sets
        s_i = sign(W_i . s), keeping s_i when the field is exactly 0. Stops after a sweep with no
        change, or after max_sweeps. Returns the final state, same shape as cue, of +-1 ints.
        """
        if not isinstance(max_sweeps, int) or max_sweeps < 1:
            raise ValueError(f"max_sweeps must be a positive int, got {max_sweeps!r}")
        state = _as_spins(cue, self.n, "cue")
        s = state.reshape(-1, self.n).copy()  # (B, n)
        rng = np.random.default_rng(seed)
        for _ in range(max_sweeps):
            changed = False
            for i in rng.permutation(self.n):
                field = s @ self.weight[i]  # (B,)
                new = np.where(field > 0, 1.0, np.where(field < 0, -1.0, s[:, i]))
                changed |= bool((new != s[:, i]).any())
                s[:, i] = new
            if not changed:
                break
        return s.reshape(state.shape).astype(np.int64)


def overlap(a, b) -> np.ndarray:
    """m = (1/n) a . b along the last axis: 1 for identical states, -1 for inverted ones."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(axis=-1) / a.shape[-1]


def recall_rate(
    n: int,
    n_patterns: int,
    noise: float = 0.1,
    threshold: float = 0.95,
    trials: int = 1,
    seed: int = 0,
) -> float:
    """Fraction of stored patterns recalled from cues with a fraction ``noise`` of flipped units.

    Stores n_patterns random patterns in a network of n units, cues each one corrupted, and
    counts a recall when the final overlap with the stored pattern is >= threshold. Repeats with
    ``trials`` independent pattern sets and returns the mean.
    """
    if not isinstance(n_patterns, int) or n_patterns < 1:
        raise ValueError(f"n_patterns must be a positive int, got {n_patterns!r}")
    rng = np.random.default_rng(seed)
    recalled = 0
    for trial in range(trials):
        patterns = random_patterns(n_patterns, n, rng)
        net = HopfieldNetwork(n).store(patterns)
        final = net.recall(corrupt(patterns, noise, rng), seed=seed + trial)
        recalled += int((overlap(final, patterns) >= threshold).sum())
    return recalled / (n_patterns * trials)


def capacity_curve(
    n: int, loads, noise: float = 0.1, threshold: float = 0.95, trials: int = 1, seed: int = 0
) -> np.ndarray:
    """recall_rate at each load alpha = P / n in loads; returns (len(loads),)."""
    return np.array(
        [
            recall_rate(n, max(1, round(a * n)), noise, threshold, trials, seed)
            for a in np.asarray(loads, dtype=np.float64)
        ]
    )


def capacity_estimate(loads, rates, level: float = 0.5) -> float:
    """The load where the recall rate first falls below level, by linear interpolation.

    loads: (L,) increasing; rates: (L,) from ``capacity_curve``. Returns nan if it never does.
    """
    loads, rates = np.asarray(loads, dtype=np.float64), np.asarray(rates, dtype=np.float64)
    if loads.shape != rates.shape or loads.ndim != 1:
        raise ValueError(
            f"loads and rates must be 1-D of one length, got {loads.shape}, {rates.shape}"
        )
    below = np.nonzero(rates < level)[0]
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return float(loads[0])
    # Between loads[i - 1] (rate >= level) and loads[i] (rate < level).
    t = (rates[i - 1] - level) / (rates[i - 1] - rates[i])
    return float(loads[i - 1] + t * (loads[i] - loads[i - 1]))
