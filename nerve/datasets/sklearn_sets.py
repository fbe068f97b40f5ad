"""The small classification sets scikit-learn ships (no network), split into train and test.

Needs scikit-learn (``pip install 'nerve[data]'``). Each ``load_*`` returns ``(train, test)``
TensorDatasets of ``(X float32, y int64)`` (``as_arrays=True``: NumPy pairs), split
``1 - test_fraction : test_fraction`` within each class with a fixed ``seed``.

==================  =======  ========  =======  ==================================
loader              samples  features  classes  X
==================  =======  ========  =======  ==================================
load_digits            1797        64       10  8x8 images in [0, 1] (pixels / 16);
                                                ``flatten=False``: ``(N, 1, 8, 8)``
load_iris               150         4        3  standardized (train statistics)
load_wine               178        13        3  standardized (train statistics)
load_breast_cancer      569        30        2  standardized (train statistics)
==================  =======  ========  =======  ==================================

    >>> train, test = load_iris()
    >>> len(train), len(test), train.tensors[0].shape
    (120, 30, (120, 4))
"""

from __future__ import annotations

import numpy as np

from nerve.datasets import common
from nerve.datasets.common import finish, require, stratified_split

__all__ = ["load_breast_cancer", "load_digits", "load_iris", "load_wine"]


def _bunch(name: str, loader: str):
    require("sklearn", loader)
    from sklearn import datasets

    bunch = getattr(datasets, name)()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def _split(X, y, test_fraction, seed, as_arrays, scale: bool):
    train, test = stratified_split(y, test_fraction, seed)
    X_train, X_test = X[train], X[test]
    if scale:
        X_train, X_test = common.standardize(X_train, X_test)
    return finish(X_train, y[train], X_test, y[test], as_arrays)


def load_digits(
    test_fraction: float = 0.2, seed: int = 0, flatten: bool = True, as_arrays: bool = False
):
    """The 8x8 handwritten digits (UCI; 1797 images, 10 classes), pixels scaled to [0, 1].

    ``X``: ``(N, 64)``, or ``(N, 1, 8, 8)`` with ``flatten=False`` (for convolutions).
    """
    X, y = _bunch("load_digits", "nerve.datasets.load_digits")
    X = X / 16.0
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return _split(X, y, test_fraction, seed, as_arrays, scale=False)


def load_iris(
    test_fraction: float = 0.2, seed: int = 0, standardize: bool = True, as_arrays: bool = False
):
    """Fisher's iris: 150 flowers, 4 measurements, 3 species. ``X``: ``(N, 4)``."""
    X, y = _bunch("load_iris", "nerve.datasets.load_iris")
    return _split(X, y, test_fraction, seed, as_arrays, standardize)


def load_wine(
    test_fraction: float = 0.2, seed: int = 0, standardize: bool = True, as_arrays: bool = False
):
    """Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars. ``X``: ``(N, 13)``."""
    X, y = _bunch("load_wine", "nerve.datasets.load_wine")
    return _split(X, y, test_fraction, seed, as_arrays, standardize)


def load_breast_cancer(
    test_fraction: float = 0.2, seed: int = 0, standardize: bool = True, as_arrays: bool = False
):
    """Wisconsin diagnostic breast cancer: 569 tumours, 30 features, malignant (0) or benign (1).

    ``X``: ``(N, 30)``.
    """
    X, y = _bunch("load_breast_cancer", "nerve.datasets.load_breast_cancer")
    return _split(X, y, test_fraction, seed, as_arrays, standardize)
