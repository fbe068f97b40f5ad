"""``DataLoader``: iterate a dataset in (shuffled) batches, with PyTorch's arguments and rules.

    >>> ds = TensorDataset(X, y)                          # X: (N, D), y: (N,)
    >>> loader = DataLoader(ds, batch_size=32, shuffle=True,
    ...                     generator=nerve.Generator().manual_seed(0))
    >>> for xb, yb in loader:                             # xb: (32, D), yb: (32,)
    ...     ...

Two paths give the same batches:

- fast: a :class:`TensorDataset` (or a ``Subset`` of one) with the default ``collate_fn`` is
  batched by indexing each whole tensor with the batch's index array, one NumPy call per tensor;
- general: ``collate_fn([dataset[i] for i in batch_indices])``.

Differences from PyTorch, on purpose: ``num_workers > 0`` runs one background *thread* that
prepares up to ``prefetch_factor * num_workers`` batches ahead (NumPy releases the GIL in
its copies; there are no worker processes to start or pickle for); ``pin_memory`` is accepted
and ignored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from nerve.data.collate import default_collate, default_convert
from nerve.data.dataset import IterableDataset, Subset, TensorDataset
from nerve.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _vectorized,
)

__all__ = ["DataLoader"]


def _tensor_source(dataset):
    """``(tensors, index_map)`` if ``dataset`` is a TensorDataset, possibly inside Subsets.

    ``index_map`` (an int64 array or None) maps the dataset's indices to the tensors' rows.
    """
    index_map = None
    while isinstance(dataset, Subset):
        indices = np.asarray(dataset.indices, dtype=np.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    # NOTE: a subclass that overrides __getitem__ must go through it, and tensors that require
    # grad must be stacked by the differentiable op: both take the general path.
    if (
        isinstance(dataset, TensorDataset)
        and type(dataset).__getitem__ is TensorDataset.__getitem__
        and not any(t.requires_grad for t in dataset.tensors)
    ):
        return dataset.tensors, index_map
    return None, None


class DataLoader:
    """Batches of ``dataset``. Arguments as ``torch.utils.data.DataLoader``:

    - ``batch_size`` (default 1; ``None`` disables batching), ``shuffle``, ``drop_last``;
    - ``sampler`` (indices) or ``batch_sampler`` (lists of indices), exclusive with the above;
    - ``collate_fn`` (default :func:`default_collate`);
    - ``generator``: a ``nerve.Generator`` for shuffling (default: nerve's global generator);
    - ``num_workers`` / ``prefetch_factor`` / ``timeout``: background prefetch (see module doc);
      ``worker_init_fn(0)`` runs first in the background thread.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | None = None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ):
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                f"background prefetch, got {num_workers!r}"
            )
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if prefetch_factor is not None:
            if num_workers == 0:
                raise ValueError(
                    "prefetch_factor option could only be specified with num_workers > 0 "
                    "(background prefetch); otherwise set prefetch_factor to None"
                )
            if not isinstance(prefetch_factor, int) or prefetch_factor < 1:
                raise ValueError(
                    f"prefetch_factor must be a positive integer, got {prefetch_factor}"
                )
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle), ("sampler", sampler)):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value!r}"
                    )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option"
                )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "batch_size=None option disables auto-batching and is mutually exclusive "
                    "with drop_last"
                )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if shuffle not in (None, True, False):
            raise TypeError(f"shuffle should be a boolean value, but got shuffle={shuffle!r}")

        if not isinstance(dataset, IterableDataset) and sampler is None:
            if shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else 2
        self.persistent_workers = persistent_workers

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self) -> Iterator:
        batches = self._batches()
        if self.num_workers == 0:
            return batches
        depth = self.prefetch_factor * self.num_workers
        return _PrefetchIterator(batches, depth, self.timeout, self.worker_init_fn)

    # ------------------------------------------------------------------ batch production
    def _index_batches(self):
        """One epoch of index batches; built-in samplers draw their randomness right here."""
        if type(self.batch_sampler) is BatchSampler:  # a subclass may override __iter__
            if _vectorized(self.batch_sampler.sampler):
                return list(self.batch_sampler._index_batches())
            return self.batch_sampler._index_batches()
        return iter(self.batch_sampler)

    def _batches(self) -> Iterator:
        if isinstance(self.dataset, IterableDataset):
            return self._iterable_batches()
        if self.batch_sampler is None:  # batch_size=None: samples one by one, no collation
            convert = self.collate_fn or default_convert
            return (convert(self.dataset[i]) for i in self.sampler)
        tensors, index_map = (None, None)
        if self.collate_fn is None:
            tensors, index_map = _tensor_source(self.dataset)
        if tensors is not None:
            return self._tensor_batches(self._index_batches(), tensors, index_map)
        return self._sample_batches(self._index_batches())

    def _tensor_batches(self, index_batches, tensors, index_map) -> Iterator[list]:
        from nerve.device import array_module
        from nerve.tensor import Tensor

        for indices in index_batches:
            rows = np.asarray(indices, dtype=np.int64)
            if index_map is not None:
                rows = index_map[rows]
            batch = []
            for t in tensors:
                xp = array_module(t._data)
                batch.append(Tensor._wrap(xp.take(t._data, xp.asarray(rows), axis=0)))
            yield batch

    def _sample_batches(self, index_batches) -> Iterator:
        collate = self.collate_fn or default_collate
        for indices in index_batches:
            if isinstance(indices, np.ndarray):
                indices = indices.tolist()
            yield collate([self.dataset[i] for i in indices])

    def _iterable_batches(self) -> Iterator:
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            yield from (convert(sample) for sample in self.dataset)
            return
        collate = self.collate_fn or default_collate
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)


class _PrefetchIterator:
    """Runs a batch iterator in a daemon thread, ``depth`` batches ahead, in order."""

    def __init__(self, batches: Iterator, depth: int, timeout: float, worker_init_fn):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._timeout = timeout or None
        self._done = False
        # NOTE: the thread must not reference this object, or an abandoned iterator (a `break`
        # out of the loop) would never be collected and its thread never told to stop.
        self._thread = threading.Thread(
            target=_produce,
            args=(batches, self._queue, self._stop, worker_init_fn),
            daemon=True,
        )
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        try:
            kind, value = self._queue.get(timeout=self._timeout)
        except queue.Empty:
            self.close()
            raise RuntimeError(
                f"DataLoader timed out after {self._timeout} seconds waiting for a batch"
            ) from None
        if kind == _BATCH:
            return value
        self.close()
        if kind == _ERROR:
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the background thread (called when the iterator is exhausted or dropped)."""
        self._done = True
        self._stop.set()

    def __del__(self):
        self._stop.set()


_BATCH, _ERROR, _END = range(3)


def _produce(batches: Iterator, out: queue.Queue, stop: threading.Event, worker_init_fn) -> None:
    """The background thread: put ``(kind, value)`` items on ``out`` until done or stopped."""

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    try:
        if worker_init_fn is not None:
            worker_init_fn(0)
        for batch in batches:
            if not put((_BATCH, batch)):
                return
        put((_END, None))
    except BaseException as error:  # re-raised in the consuming thread
        put((_ERROR, error))
