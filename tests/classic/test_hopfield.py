import numpy as np
import pytest

from nerve.classic.hopfield import (
    HopfieldNetwork,
    capacity_curve,
    corrupt,
    overlap,
    random_patterns,
    recall_rate,
)


def test_hebbian_weights_by_hand():
    patterns = np.array([[1, -1, 1], [1, 1, -1]])
    net = HopfieldNetwork(3).store(patterns)
    expected = (np.outer(patterns[0], patterns[0]) + np.outer(patterns[1], patterns[1])) / 3
    np.fill_diagonal(expected, 0)
    assert np.allclose(net.weight, expected)
    assert np.allclose(net.weight, net.weight.T)


def test_stored_patterns_are_fixed_points_and_energy_falls():
    rng = np.random.default_rng(0)
    patterns = random_patterns(5, 100, rng)
    net = HopfieldNetwork(100).store(patterns)
    assert (net.recall(patterns) == patterns).all()
    cue = corrupt(patterns, 0.2, rng)
    final = net.recall(cue)
    assert (net.energy(final) < net.energy(cue)).all()


def test_corrupt_flips_exactly_the_fraction():
    rng = np.random.default_rng(1)
    pattern = random_patterns(1, 50, rng)[0]
    assert (corrupt(pattern, 0.2, rng) != pattern).sum() == 10


def test_recalls_from_corrupted_cues_well_below_capacity():
    # alpha = 0.05 with 10% of units flipped: every pattern comes back.
    assert recall_rate(200, 10, noise=0.1, trials=2, seed=0) == 1.0


def test_recall_collapses_past_the_capacity_limit():
    # Around alpha ~ 0.14 recall breaks down (finite n smooths the edge).
    rates = capacity_curve(200, [0.05, 0.1, 0.25], noise=0.1, trials=2, seed=0)
    assert rates[0] == 1.0 and rates[1] >= 0.9
    assert rates[2] < 0.2
    estimated = capacity_curve(200, np.arange(0.08, 0.22, 0.02), trials=2, seed=1)
    # The load where recall drops below one half: near the theoretical 0.138.
    crossing = 0.08 + 0.02 * int(np.argmax(estimated < 0.5))
    assert 0.1 <= crossing <= 0.2


def test_overlap_by_hand():
    assert overlap([1, 1, -1, -1], [1, -1, -1, 1]) == 0.0
    assert overlap([1, -1], [-1, 1]) == -1.0


def test_bad_inputs():
    net = HopfieldNetwork(4)
    with pytest.raises(ValueError, match=r"patterns must have shape \(4,\) or \(B, 4\)"):
        net.store(np.ones((2, 5)))
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        net.recall([0, 1, 1, 1])
    with pytest.raises(ValueError, match="fraction must lie in"):
        corrupt(np.ones(4), 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        HopfieldNetwork(1)
