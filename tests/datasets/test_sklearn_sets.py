import sys

import numpy as np
import pytest
import sklearn.datasets

from nerve.datasets import load_breast_cancer, load_digits, load_iris, load_wine

CASES = [
    (load_digits, 1797, 64, 10),
    (load_iris, 150, 4, 3),
    (load_wine, 178, 13, 3),
    (load_breast_cancer, 569, 30, 2),
]


@pytest.mark.parametrize("loader, total, features, classes", CASES)
def test_shapes_split_and_stratification(loader, total, features, classes):
    (X_train, y_train), (X_test, y_test) = loader(as_arrays=True)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.shape[1:] == (features,) and X_test.shape[1:] == (features,)
    assert len(X_train) + len(X_test) == total
    assert abs(len(X_test) - 0.2 * total) <= classes  # each class rounded separately
    assert set(np.unique(y_train).tolist()) == set(range(classes))
    # class proportions in the test split follow the whole set's
    whole = np.bincount(np.concatenate([y_train, y_test]), minlength=classes) / total
    in_test = np.bincount(y_test, minlength=classes) / len(y_test)
    np.testing.assert_allclose(in_test, whole, atol=0.03)


@pytest.mark.parametrize("loader, total, features, classes", CASES)
def test_same_seed_same_split(loader, total, features, classes):
    (a, ya), _ = loader(as_arrays=True, seed=1)
    (b, yb), _ = loader(as_arrays=True, seed=1)
    (c, _), _ = loader(as_arrays=True, seed=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_split_is_a_partition_of_the_original_data():
    (X_train, y_train), (X_test, y_test) = load_iris(as_arrays=True, standardize=False)
    original = sklearn.datasets.load_iris()
    rows = {
        tuple(np.float32(r)) + (t,) for r, t in zip(original.data, original.target, strict=True)
    }
    ours = [
        tuple(r) + (t,)
        for r, t in zip(np.concatenate([X_train, X_test]), [*y_train, *y_test], strict=True)
    ]
    assert len(ours) == 150 and set(ours) <= rows


def test_standardized_with_training_statistics():
    (X_train, _), (X_test, _) = load_wine(as_arrays=True)
    np.testing.assert_allclose(X_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(X_train.std(0), 1, atol=1e-4)
    assert np.abs(X_test.mean(0)).max() > 1e-3  # test statistics were not used


def test_digits_pixels_and_images():
    (X, _), _ = load_digits(as_arrays=True)
    assert X.min() == 0.0 and X.max() == 1.0
    train, test = load_digits(flatten=False)
    x, y = train[0]
    assert tuple(x.shape) == (1, 8, 8)
    assert len(train) + len(test) == 1797


def test_bad_fraction():
    with pytest.raises(ValueError, match=r"test_fraction must be a number in \(0, 1\)"):
        load_iris(test_fraction=1.5)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    message = r"load_iris needs the 'scikit-learn' package.*pip install 'nerve\[data\]'"
    with pytest.raises(ImportError, match=message):
        load_iris()
