import numpy as np
import pytest

from nerve.classic.depth import (
    deep_sawtooth_network,
    depth_table,
    n_parameters,
    network_error,
    sawtooth,
    shallow_sawtooth_network,
    tent,
)


def test_tent_and_sawtooth_by_hand():
    assert np.allclose(tent([0, 0.25, 0.5, 0.75, 1]), [0, 0.5, 1, 0.5, 0])
    assert np.allclose(sawtooth([0.125, 0.25, 0.375, 0.5], 2), [0.5, 1, 0.5, 0])
    # 2^(k-1) teeth: the value 1 is reached at 2^(k-1) grid points.
    x = np.linspace(0, 1, 1025)
    assert (np.isclose(sawtooth(x, 5), 1.0)).sum() == 16


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_deep_network_is_exact_with_6k_plus_1_parameters(k):
    model = deep_sawtooth_network(k)
    assert n_parameters(model) == 6 * k + 1
    assert network_error(model, k) < 1e-12


@pytest.mark.parametrize("k", [1, 3, 6])
def test_shallow_network_needs_2_to_the_k_units(k):
    model = shallow_sawtooth_network(k)
    assert n_parameters(model) == 3 * 2**k + 1
    assert network_error(model, k) < 1e-9


def test_shallow_network_with_the_deep_budget_fails():
    rows = depth_table(depths=(3, 4, 5), steps=50)
    for row in rows:
        assert row.small_shallow_parameters == row.deep_parameters
        assert row.deep_error < 1e-12
        # Fewer than 2^k - 1 units: at least 1/4 wrong somewhere, whatever the training.
        assert row.small_shallow_error >= 0.25
        assert row.exact_shallow_parameters > row.deep_parameters


def test_bad_k():
    with pytest.raises(ValueError, match="k must be a positive int"):
        sawtooth(0.5, 0)
    with pytest.raises(ValueError, match="k must be a positive int"):
        deep_sawtooth_network(0)
