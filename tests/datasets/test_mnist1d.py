import random
import sys

import numpy as np
import pytest

import nerve.datasets.mnist1d as mnist1d_module
from nerve.datasets import load_mnist1d


def test_generates_then_reads_the_cache(tmp_path, monkeypatch):
    (X, y), (X_test, y_test) = load_mnist1d(tmp_path, num_samples=200, as_arrays=True)
    assert X.shape == (160, 40) and X_test.shape == (40, 40)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(np.concatenate([y, y_test])).tolist()) == set(range(10))
    cached = list(tmp_path.glob("mnist1d-*.npz"))
    assert len(cached) == 1
    assert not list(tmp_path.glob(".*tmp"))

    def fail(args):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(mnist1d_module, "_generate", fail)
    (X2, y2), _ = load_mnist1d(tmp_path, num_samples=200, as_arrays=True)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    with np.load(cached[0], allow_pickle=False) as data:  # a plain npz, no pickles
        assert sorted(data.files) == ["x", "x_test", "y", "y_test"]


def test_matches_the_package_generator_and_restores_global_rngs(tmp_path):
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    (X, y), (X_test, _) = load_mnist1d(tmp_path, num_samples=100, seed=7, as_arrays=True)
    assert np.random.random() == expected_np and random.random() == expected_py

    args = get_dataset_args()
    args.num_samples, args.seed = 100, 7
    reference = make_dataset(args)
    np.testing.assert_allclose(X, reference["x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(y, reference["y"])
    np.testing.assert_allclose(X_test, reference["x_test"], rtol=1e-6, atol=1e-6)


def test_settings_get_their_own_cache_and_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("NERVE_DATA", str(tmp_path))
    train, test = load_mnist1d(num_samples=100, seed=1)
    load_mnist1d(num_samples=100, seed=2)
    assert len(list((tmp_path / "mnist1d").glob("mnist1d-*.npz"))) == 2
    x, y = train[3]
    assert tuple(x.shape) == (40,) and len(test) == 20


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="num_samples must be an integer >= 10"):
        load_mnist1d(tmp_path, num_samples=5)
    with pytest.raises(TypeError, match=r"unknown generator arguments \['colour'\]"):
        load_mnist1d(tmp_path, colour=3)


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[data\]'"):
        load_mnist1d(tmp_path)
