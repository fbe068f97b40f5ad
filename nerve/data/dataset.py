"""Datasets: anything with ``__getitem__(index)`` and ``__len__``, as in PyTorch.

Example:

    >>> ds = TensorDataset(nerve.randn(100, 3), nerve.arange(100))
    >>> x, y = ds[7]                      # x: (3,), y: ()
    >>> train, val = random_split(ds, [0.8, 0.2], generator=nerve.Generator().manual_seed(0))
    >>> len(train), len(val)
    (80, 20)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from nerve.data.sampler import numpy_generator

__all__ = [
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample ``i``, ``len(dataset)`` the count.

    Subclasses override ``__getitem__`` and ``__len__``. ``a + b`` concatenates.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses override ``__iter__`` (``__len__`` is optional)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, don't index it")

    def __add__(self, other):
        raise TypeError("IterableDatasets cannot be concatenated with +")


def _as_tensor(value, position: int):
    from nerve.tensor import Tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)  # shares memory, like nerve.from_numpy
    raise TypeError(
        f"TensorDataset: tensors[{position}] must be a nerve.Tensor or numpy.ndarray, "
        f"got {type(value).__name__}"
    )


class TensorDataset(Dataset):
    """Samples are slices along dim 0: ``dataset[i] == tuple(t[i] for t in tensors)``.

    ``tensors``: Tensors (or NumPy arrays, wrapped without a copy) sharing their first dim ``N``.
    The DataLoader batches a TensorDataset by indexing whole tensors at once (no per-sample
    loop), so it is the fast choice for data that fits in memory.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensors[{i}] is 0-d; samples index dim 0")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors along dim 0: {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``Subset(ds, idx)[i] == ds[idx[i]]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another: indices ``0 .. len(a) - 1`` are ``a``'s, then ``b``'s, ..."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise IndexError(f"index {index} is out of range for length {len(self)}")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"index {index} is out of range for length {len(self)}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def _split_lengths(total: int, lengths: Sequence[float]) -> list[int]:
    """Integer lengths from counts, or from fractions summing to 1 (remainder round-robin)."""
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in lengths):
        if any(n < 0 for n in lengths):
            raise ValueError(f"random_split: lengths must be >= 0, got {list(lengths)}")
        if sum(lengths) != total:
            raise ValueError(
                f"random_split: sum of input lengths ({sum(lengths)}) does not equal the length "
                f"of the input dataset ({total})"
            )
        return [int(n) for n in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-9) or any(f < 0 for f in lengths):
        raise ValueError(
            f"random_split: lengths must be integers summing to {total} or fractions in [0, 1] "
            f"summing to 1, got {list(lengths)}"
        )
    counts = [int(math.floor(total * f)) for f in lengths]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Dataset, lengths: Sequence[float], generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)`` or fractions summing to 1 (as PyTorch:
    floors, then the remainder handed out one by one from the first split). ``generator``:
    a ``nerve.Generator`` (default: the global one, so ``nerve.manual_seed`` fixes the split).
    """
    counts = _split_lengths(len(dataset), lengths)
    permutation = numpy_generator(generator).permutation(len(dataset)).tolist()
    offsets = np.cumsum([0, *counts]).tolist()
    return [
        Subset(dataset, permutation[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]
