import numpy as np
import pytest

from nerve.datasets import toy2d
from nerve.datasets.toy2d import (
    TOY2D,
    make_blobs,
    make_circle,
    make_gaussian,
    make_moons,
    make_spiral,
    make_toy2d,
    make_xor,
)


@pytest.mark.parametrize("name", sorted(TOY2D))
@pytest.mark.parametrize("n", [1, 7, 200])
def test_shapes_dtypes_and_balance(name, n):
    X, y = make_toy2d(name, n=n, noise=0.1, seed=3)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    assert np.abs(X).max() < 12  # the playground's view is [-6, 6]^2


@pytest.mark.parametrize("name", sorted(TOY2D))
def test_same_seed_same_data_other_seed_other_data(name):
    X1, y1 = make_toy2d(name, n=50, noise=0.2, seed=1)
    X2, y2 = make_toy2d(name, n=50, noise=0.2, seed=1)
    X3, _ = make_toy2d(name, n=50, noise=0.2, seed=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make", [make_circle, make_gaussian, make_spiral, make_moons])
def test_two_classes_balanced(make):
    _, y = make(101, noise=0.0, seed=0)
    assert sorted(np.bincount(y).tolist()) == [50, 51]


def test_xor_labels_follow_quadrants_without_noise():
    X, y = make_xor(500, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(np.int64))
    assert np.abs(X).min() >= 0.3 - 1e-6  # pushed away from the axes


def test_xor_noise_flips_some_labels():
    X, y = make_xor(2000, noise=0.5, seed=0)
    agree = (y == (X[:, 0] * X[:, 1] >= 0)).mean()
    assert 0.6 < agree < 0.99


def test_circle_inner_disc_is_class_one():
    X, y = make_circle(400, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert (r[y == 1] < 2.5 + 1e-5).all()
    assert (r[y == 0] >= 3.5 - 1e-5).all() and (r[y == 0] <= 5 + 1e-5).all()


def test_gaussian_centres_match_playground():
    X, y = make_gaussian(4000, noise=0.0, seed=0)
    np.testing.assert_allclose(X[y == 1].mean(0), [2, 2], atol=0.05)
    np.testing.assert_allclose(X[y == 0].mean(0), [-2, -2], atol=0.05)
    # variance 0.5 at noise 0, 4 at noise 0.5
    np.testing.assert_allclose(X[y == 1].var(0), [0.5, 0.5], rtol=0.1)
    X, y = make_gaussian(4000, noise=0.5, seed=0)
    np.testing.assert_allclose(X[y == 1].var(0), [4, 4], rtol=0.1)


@pytest.mark.parametrize("n_classes", [3, 5])
def test_multiclass_blobs_and_spirals(n_classes):
    for make in (make_blobs, make_spiral):
        X, y = make(300, noise=0.0, seed=0, n_classes=n_classes)
        assert set(np.unique(y).tolist()) == set(range(n_classes))
        assert np.bincount(y).max() - np.bincount(y).min() <= 1
    X, y = make_gaussian(300, seed=0, n_classes=n_classes)
    assert set(np.unique(y).tolist()) == set(range(n_classes))


def test_blobs_are_separable_by_nearest_centre_without_noise():
    X, y = make_blobs(600, noise=0.0, seed=0, n_classes=3)
    centres = np.stack([X[y == k].mean(0) for k in range(3)])
    nearest = np.argmin(((X[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).mean() > 0.99


def test_spiral_points_on_arm_without_noise():
    X, y = make_spiral(200, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    theta = np.arctan2(X[:, 0], X[:, 1])  # x = r sin(theta), y = r cos(theta)
    expected = 1.75 * 2 * np.pi * (r / 5) + np.pi * y
    diff = np.angle(np.exp(1j * (theta - expected)))
    assert np.abs(diff[r > 1e-6]).max() < 1e-4


def test_moons_noise_free_lie_on_half_circles():
    X, y = make_moons(100, noise=0.0, seed=0)
    raw = X / 4.0 + [0.5, 0.25]
    upper = raw[y == 0]
    lower = raw[y == 1] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 2.5}, "n must be a positive integer"),
        ({"noise": -0.1}, "noise must be a finite number"),
        ({"noise": "high"}, "noise must be a finite number"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_xor(**kwargs)


def test_bad_n_classes_and_name():
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        make_spiral(10, n_classes=1)
    with pytest.raises(ValueError, match="unknown toy dataset 'swirl'"):
        make_toy2d("swirl")
    assert toy2d.TOY2D["xor"] is make_xor
