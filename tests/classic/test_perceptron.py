import numpy as np
import pytest

from nerve.classic.perceptron import Perceptron, convergence_bound, separable_data

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("margin", [0.05, 0.2])
def test_converges_within_the_novikoff_bound(seed, margin):
    x, y, separator = separable_data(n=200, margin=margin, dim=3, seed=seed)
    model = Perceptron()
    result = model.fit(x, y, max_epochs=10_000)
    assert result.converged
    assert model.score(x, y) == 1.0
    assert result.updates <= convergence_bound(x, y, separator)


def test_learning_rate_does_not_change_the_mistakes_from_zero_init():
    x, y, _ = separable_data(n=100, margin=0.1, seed=5)
    assert Perceptron(lr=1.0).fit(x, y).updates == Perceptron(lr=0.01).fit(x, y).updates


def test_never_converges_on_xor_and_stops_at_the_epoch_limit():
    model = Perceptron()
    result = model.fit(XOR_X, [-1, 1, 1, -1], max_epochs=50)
    assert not result.converged
    assert result.epochs == 50 and len(result.errors) == 50
    assert (result.errors > 0).all()
    assert model.score(XOR_X, [-1, 1, 1, -1]) <= 0.75


def test_one_update_by_hand():
    model = Perceptron(lr=0.5)
    # First sample is a mistake from w = 0: w = 0.5 * (+1) * [2, 1], b = 0.5; then correct.
    result = model.fit([[2.0, 1.0]], [1], max_epochs=5)
    assert np.allclose(model.weight, [1.0, 0.5]) and model.bias == 0.5
    assert result.updates == 1 and result.epochs == 2


def test_bound_needs_a_separator():
    x, y, separator = separable_data(n=50, margin=0.1, seed=0)
    with pytest.raises(ValueError, match="does not separate"):
        convergence_bound(x, y, -separator)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        Perceptron().fit(XOR_X, [1, -1])
    with pytest.raises(ValueError, match="labels -1/\\+1"):
        Perceptron().fit(XOR_X, [0, 1, 2, 1])
    with pytest.raises(ValueError, match="max_epochs must be a positive int"):
        Perceptron().fit(XOR_X, [0, 1, 1, 0], max_epochs=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        Perceptron().predict(XOR_X)
