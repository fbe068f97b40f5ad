"""Samplers: the order in which a DataLoader visits a dataset's indices, as in PyTorch.

A sampler is an iterable of indices (``__iter__``) with a length (``__len__``);
:class:`BatchSampler` groups one into lists of ``batch_size`` indices.

Randomness comes from a ``generator``: a ``nerve.Generator`` (or a ``numpy.random.Generator``).
Without one, each epoch draws a fresh seed from nerve's global generator, so
``nerve.manual_seed(s)`` makes shuffling reproducible; with one, successive epochs continue its
stream (different orders, reproducible as a whole).

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "numpy_generator",
]


def numpy_generator(generator=None) -> np.random.Generator:
    """The ``numpy.random.Generator`` to draw from for ``generator`` (see the module doc)."""
    if isinstance(generator, np.random.Generator):
        return generator
    from nerve import random as nerve_random

    if generator is None:
        # NOTE: like PyTorch, a sampler without a generator seeds a private one from the global
        # generator, so it consumes exactly one draw of the global stream per epoch.
        seed = int(nerve_random.default_generator.np_rng.integers(0, 2**63 - 1))
        return np.random.default_rng(seed)
    if isinstance(generator, nerve_random.Generator):
        return generator.np_rng
    raise TypeError(
        f"generator must be a nerve.Generator or numpy.random.Generator, got {type(generator)}"
    )


def _check_size(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


class Sampler:
    """Base class: an iterable of dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    # NOTE: the built-in samplers also define ``_index_array()``: one epoch's indices as an int64
    # array, which BatchSampler slices into batches without a Python loop per index.


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sequence):
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices, or ``num_samples`` draws with ``replacement``."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        _check_size("num_samples", num_samples, allow_none=True)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        n = len(self.data_source)
        rng = numpy_generator(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        # Without replacement, num_samples > n repeats whole permutations (PyTorch's rule).
        whole, rest = divmod(self.num_samples, n) if n else (0, 0)
        parts = [rng.permutation(n) for _ in range(whole)] + [rng.permutation(n)[:rest]]
        return np.concatenate(parts).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order."""

    def __init__(self, indices: Sequence[int], generator=None):
        self.indices = indices
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return np.asarray(self.indices, dtype=np.int64)[order]

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices ``i`` drawn with probability ``weights[i] / sum(weights)``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        _check_size("num_samples", num_samples)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1 or (weights < 0).any() or not np.isfinite(weights).all():
            raise ValueError("weights should be a 1-d sequence of finite non-negative numbers")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(
                "num_samples exceeds the number of nonzero weights without replacement"
            )
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self) -> np.ndarray:
        rng = numpy_generator(self.generator)
        p = self.weights / self.weights.sum()
        picks = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return picks.astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups ``sampler``'s indices into lists of ``batch_size``; ``drop_last`` drops a short tail.

    ``len = floor(n / batch_size)`` with ``drop_last``, else ``ceil(n / batch_size)``.
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        _check_size("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self) -> Iterator[np.ndarray | list]:
        """The batches: int64 arrays sliced from one epoch's array when the sampler is a
        built-in one, else lists grouped from the sampler's iterator."""
        if _vectorized(self.sampler):
            order = self.sampler._index_array()
            stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
            for start in range(0, stop, self.batch_size):
                yield order[start : start + self.batch_size]
            return
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self) -> Iterator[list]:
        for batch in self._index_batches():
            yield batch.tolist() if isinstance(batch, np.ndarray) else batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _vectorized(sampler) -> bool:
    """Whether ``sampler._index_array()`` gives exactly what iterating ``sampler`` would: true
    for the built-in samplers, false for a subclass that overrides ``__iter__``."""
    return type(sampler).__iter__ in _BUILTIN_ITERS


_BUILTIN_ITERS = (
    SequentialSampler.__iter__,
    RandomSampler.__iter__,
    SubsetRandomSampler.__iter__,
    WeightedRandomSampler.__iter__,
)
