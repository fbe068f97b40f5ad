import numpy as np
import pytest

from nerve.classic.hebb import cosine, hebb, leading_eigenvector, oja


def correlated_data(seed=0, n=400):
    """Zero-mean 3-D Gaussian data whose principal axis is a known rotated direction."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return rng.normal(size=(n, 3)) * [3.0, 1.5, 0.5] @ rotation.T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oja_finds_the_leading_eigenvector(seed):
    x = correlated_data(seed)
    result = oja(x, lr=0.005, epochs=20, seed=seed)
    assert cosine(result.weight, leading_eigenvector(x)) > 0.995
    assert abs(np.linalg.norm(result.weight) - 1.0) < 0.05


def test_oja_matches_eigh_by_hand_on_axis_aligned_data():
    x = np.random.default_rng(3).normal(size=(300, 2)) * [2.0, 0.5]
    w = oja(x, lr=0.01, epochs=10).weight
    assert abs(w[0]) > 0.99


def test_hebb_aligns_but_its_norm_explodes():
    x = correlated_data(4)
    result = hebb(x, lr=0.005, epochs=3)
    assert np.all(np.diff(result.norms) > 0)
    assert result.norms[-1] > 1e6
    assert cosine(result.weight, leading_eigenvector(x)) > 0.99
    bounded = oja(x, lr=0.005, epochs=3)
    assert bounded.norms.max() < 1.5


def test_one_hebb_step_by_hand():
    x = np.array([[1.0, 2.0]])
    w0 = np.array([0.5, -1.0])  # y = 0.5 - 2 = -1.5
    assert np.allclose(hebb(x, lr=0.1, epochs=1, w=w0).weight, w0 + 0.1 * -1.5 * x[0])
    assert np.allclose(oja(x, lr=0.1, epochs=1, w=w0).weight, w0 + 0.1 * -1.5 * (x[0] + 1.5 * w0))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        oja(np.ones(3))
    with pytest.raises(ValueError, match="lr must be > 0"):
        hebb(np.ones((2, 2)), lr=0)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        oja(np.ones((2, 2)), w=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        oja(np.ones((2, 2)), epochs=0)
