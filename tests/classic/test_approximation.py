import numpy as np
import pytest

from nerve.classic.approximation import TARGETS, fit_one_hidden_layer, width_table

WIDTHS = (2, 4, 8, 16, 32)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_error_falls_as_the_layer_widens(activation):
    table, fits = width_table(("sin", "abs", "bump"), WIDTHS, activation, steps=50)
    assert table.shape == (len(WIDTHS), 3)
    # Widening by 8x cuts the max error at least fourfold for every target ...
    assert (table[-1] < table[1] / 4).all()
    # ... and each doubling never makes it much worse.
    assert (table[1:] <= 1.1 * table[:-1]).all()
    assert (table[-1] < 0.05).all()
    assert fits[0].n_parameters == 3 * WIDTHS[0] + 1


def test_training_improves_on_the_least_squares_start():
    fit = fit_one_hidden_layer(("sin", "abs", "bump"), width=4, activation="sigmoid", steps=200)
    # Adam lowers the squared error it minimizes; the sup error follows only roughly.
    assert (fit.mse < fit.least_squares_mse).all()
    assert (fit.max_error <= 1.1 * fit.least_squares_error).all()


def test_prediction_matches_the_reported_error_and_targets():
    fit = fit_one_hidden_layer(("abs",), width=8, activation="tanh", steps=10)
    assert np.allclose(fit.target[0], TARGETS["abs"](fit.x))
    assert np.isclose(np.abs(fit.prediction[0] - fit.target[0]).max(), fit.max_error[0])


def test_custom_function_and_interval():
    def cubic(x):
        return x**3 - x

    fit = fit_one_hidden_layer([cubic], width=16, activation="sigmoid", interval=(-2, 2))
    assert fit.names == ["cubic"] and fit.x[0] == -2 and fit.x[-1] == 2
    assert fit.max_error[0] < 0.05 * np.ptp(fit.target[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown target 'cos'"):
        fit_one_hidden_layer(["cos"])
    with pytest.raises(ValueError, match="activation must be one of"):
        fit_one_hidden_layer(["sin"], activation="gelu")
    with pytest.raises(ValueError, match="interval must be"):
        fit_one_hidden_layer(["sin"], interval=(1, 0))
    with pytest.raises(TypeError, match="names or callables"):
        fit_one_hidden_layer([3])
