import numpy as np
import pytest

from nerve.classic.adaline import Adaline, least_squares, max_stable_lr


def noisy_regression(seed=0, n=200):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, x @ [1.0, -2.0, 0.5] + 0.3 + 0.5 * rng.normal(size=n)


def test_batch_lms_converges_to_lstsq():
    x, y = noisy_regression()
    model = Adaline(lr=0.9 * max_stable_lr(x), mode="batch")
    mse = model.fit(x, y, epochs=500)
    assert np.allclose(np.append(model.weight, model.bias), least_squares(x, y), atol=1e-8)
    assert mse[-1] <= mse[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_online_widrow_hoff_rule_reaches_lstsq(seed):
    x, y = noisy_regression(seed)
    model = Adaline(lr=0.01, mode="online", seed=seed)
    model.fit(x, y, epochs=100)
    assert np.abs(np.append(model.weight, model.bias) - least_squares(x, y)).max() < 5e-3


def test_lstsq_on_overlapping_classes_unlike_the_perceptron():
    rng = np.random.default_rng(2)
    x = np.vstack([rng.normal(-1, 1, size=(100, 2)), rng.normal(1, 1, size=(100, 2))])
    y = np.repeat([-1.0, 1.0], 100)
    model = Adaline(lr=0.5, mode="batch")
    model.fit(x, y, epochs=1000)
    assert np.allclose(np.append(model.weight, model.bias), least_squares(x, y), atol=1e-6)
    assert np.mean(model.predict(x) == y) > 0.85


def test_one_online_step_by_hand():
    model = Adaline(lr=0.1, mode="online")
    model.fit([[1.0, 2.0]], [3.0], epochs=1)
    # From 0: error 3, w = 0.1 * 3 * [1, 2], b = 0.1 * 3.
    assert np.allclose(model.weight, [0.3, 0.6]) and np.isclose(model.bias, 0.3)


def test_too_large_lr_is_reported():
    x, y = noisy_regression()
    with pytest.raises(FloatingPointError, match="too large"):
        Adaline(lr=5 * max_stable_lr(x), mode="batch").fit(x, y, epochs=2000)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be 'online' or 'batch'"):
        Adaline(mode="minibatch")
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        Adaline().fit(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="lr must be > 0"):
        Adaline(lr=-1)
