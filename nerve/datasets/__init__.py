"""Built-in datasets that need no network.

- ``make_*`` (toy2d): the playground's 2-D sets, returning arrays ``(X (n, 2), y (n,))``;
- ``load_*``: train/test splits, returning ``(train, test)`` :class:`nerve.data.TensorDataset`
  of ``(X float32, y int64)`` -- ready for a DataLoader -- or, with ``as_arrays=True``, two
  NumPy pairs ``(X, y)``.

=====================  ==================  ==========================  ===================
loader                 source              X (per split)               needs
=====================  ==================  ==========================  ===================
load_digits            scikit-learn        (N, 64) or (N, 1, 8, 8)     ``nerve[data]``
load_iris              scikit-learn        (N, 4)                      ``nerve[data]``
load_wine              scikit-learn        (N, 13)                     ``nerve[data]``
load_breast_cancer     scikit-learn        (N, 30)                     ``nerve[data]``
load_mnist1d           generated, cached   (N, 40)                     ``nerve[data]``
load_mnist             local IDX files     (N, 1, 28, 28) or (N, 784)  the files
load_fashion_mnist     local IDX files     (N, 1, 28, 28) or (N, 784)  the files
load_cifar10           local binary files  (N, 3, 32, 32)              the files
=====================  ==================  ==========================  ===================

Files are looked for, and caches written, under :func:`get_data_dir` (``$NERVE_DATA`` or
``~/.cache/nerve``).
"""

from nerve.datasets.cifar import CIFAR10_CLASSES, load_cifar10
from nerve.datasets.common import get_data_dir
from nerve.datasets.idx import FASHION_MNIST_CLASSES, load_fashion_mnist, load_mnist
from nerve.datasets.mnist1d import load_mnist1d
from nerve.datasets.sklearn_sets import load_breast_cancer, load_digits, load_iris, load_wine
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

__all__ = [
    "CIFAR10_CLASSES",
    "FASHION_MNIST_CLASSES",
    "TOY2D",
    "get_data_dir",
    "load_breast_cancer",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_iris",
    "load_mnist",
    "load_mnist1d",
    "load_wine",
    "make_blobs",
    "make_circle",
    "make_gaussian",
    "make_moons",
    "make_spiral",
    "make_toy2d",
    "make_xor",
]
