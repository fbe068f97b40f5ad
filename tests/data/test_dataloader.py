import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import nerve
from nerve.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
)


class PerSample(Dataset):
    """A map-style dataset over arrays (forces the general, per-sample path)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __getitem__(self, i):
        return self.X[i], int(self.y[i])

    def __len__(self):
        return len(self.X)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def arrays(n=23, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, 5, n)


def as_lists(loader):
    return [[t.numpy().tolist() for t in batch] for batch in loader]


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (4, False), (4, True), (23, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    X, y = arrays()
    ours = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(
        tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    assert as_lists(ours) == [[t.numpy().tolist() for t in batch] for batch in theirs]
    batch = next(iter(ours))
    assert isinstance(batch, list) and batch[0].dtype == nerve.float32
    assert batch[1].dtype == nerve.int64


def test_fast_and_general_paths_give_the_same_batches():
    X, y = arrays()
    fast = DataLoader(
        TensorDataset(X, y), batch_size=5, shuffle=True, generator=nerve.Generator().manual_seed(1)
    )
    slow = DataLoader(
        PerSample(X, y), batch_size=5, shuffle=True, generator=nerve.Generator().manual_seed(1)
    )
    fast_batches, slow_batches = as_lists(fast), as_lists(slow)
    assert len(fast_batches) == 5
    np.testing.assert_allclose(
        np.concatenate([b[0] for b in fast_batches]), np.concatenate([b[0] for b in slow_batches])
    )
    assert [b[1] for b in fast_batches] == [b[1] for b in slow_batches]


def test_shuffle_covers_every_sample_once_and_is_seeded():
    X, y = arrays(50)
    loader = DataLoader(
        TensorDataset(X, np.arange(50)),
        batch_size=8,
        shuffle=True,
        generator=nerve.Generator().manual_seed(0),
    )
    epoch1 = np.concatenate([b[1].numpy() for b in loader])
    epoch2 = np.concatenate([b[1].numpy() for b in loader])
    assert sorted(epoch1.tolist()) == list(range(50))
    assert epoch1.tolist() != list(range(50)) and epoch1.tolist() != epoch2.tolist()
    again = DataLoader(
        TensorDataset(X, np.arange(50)),
        batch_size=8,
        shuffle=True,
        generator=nerve.Generator().manual_seed(0),
    )
    assert np.concatenate([b[1].numpy() for b in again]).tolist() == epoch1.tolist()
    nerve.manual_seed(7)
    a = [b[1].tolist() for b in DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)]
    nerve.manual_seed(7)
    b = [b[1].tolist() for b in DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)]
    assert a == b


def test_subset_of_tensor_dataset_uses_the_right_rows():
    X, y = arrays(20)
    ds = TensorDataset(X, np.arange(20))
    inner = Subset(ds, [19, 3, 5, 7, 9, 11])
    outer = Subset(inner, [5, 0, 2])  # rows 11, 19, 5
    (batch,) = list(DataLoader(outer, batch_size=3))
    assert batch[1].tolist() == [11, 19, 5]
    np.testing.assert_array_equal(batch[0].numpy(), X[[11, 19, 5]])


def test_tensor_dataset_subclass_overriding_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    X, y = arrays(6)
    (batch,) = list(DataLoader(Doubled(X, y), batch_size=6))
    np.testing.assert_allclose(batch[0].numpy(), X * 2)


def test_sampler_batch_sampler_and_collate_fn():
    X, y = arrays(10)
    ds = TensorDataset(X, np.arange(10))
    loader = DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6])
    assert [b[1].tolist() for b in loader] == [[9, 8, 7], [6]]
    loader = DataLoader(ds, batch_sampler=[[0, 1], [5], [2, 3, 4]])
    assert [b[1].tolist() for b in loader] == [[0, 1], [5], [2, 3, 4]]
    assert len(loader) == 3
    loader = DataLoader(ds, batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 4, 2]
    sampler = BatchSampler(SequentialSampler(ds), 4, drop_last=True)
    assert len(DataLoader(ds, batch_sampler=sampler)) == 2


def test_batch_size_none_yields_samples():
    X, y = arrays(3)
    samples = list(DataLoader(PerSample(X, y), batch_size=None))
    assert len(samples) == 3 and isinstance(samples[0][0], nerve.Tensor)
    assert samples[2][1] == int(y[2])
    assert len(DataLoader(PerSample(X, y), batch_size=None)) == 3


def test_iterable_dataset():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3
    assert list(DataLoader(Stream(2), batch_size=None)) == [0, 1]
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        DataLoader(Stream(3), shuffle=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler option is mutually exclusive"),
        ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
        ({"batch_size": None, "drop_last": True}, "mutually exclusive with drop_last"),
        ({"num_workers": -1}, "num_workers option should be non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"batch_size": 0}, "batch_size should be a positive integer"),
    ],
)
def test_argument_errors(kwargs, match):
    X, y = arrays(4)
    with pytest.raises(ValueError, match=match):
        DataLoader(TensorDataset(X, y), **kwargs)


@pytest.mark.parametrize("dataset_kind", ["tensor", "per_sample"])
def test_background_prefetch_gives_the_same_batches(dataset_kind):
    X, y = arrays(40)
    ds = TensorDataset(X, y) if dataset_kind == "tensor" else PerSample(X, y)

    def run(workers):
        gen = nerve.Generator().manual_seed(3)
        loader = DataLoader(ds, batch_size=6, shuffle=True, generator=gen, num_workers=workers)
        return as_lists(loader)

    assert run(0) == run(2)


def test_background_prefetch_reraises_errors_and_stops_early():
    class Broken(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 7:
                raise KeyError("sample 7 is broken")
            return i

    loader = DataLoader(Broken(), batch_size=2, num_workers=1)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    with pytest.raises(KeyError, match="sample 7 is broken"):
        list(it)

    threads_before = threading.active_count()
    for i, _ in enumerate(DataLoader(Stream(10_000), batch_size=1, num_workers=1)):
        if i == 3:
            break
    deadline = time.time() + 5
    while threading.active_count() > threads_before and time.time() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before


def test_prefetch_timeout():
    class Slow(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            time.sleep(1.0)
            return i

    with pytest.raises(RuntimeError, match="timed out after 0.1 seconds"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.1))


def test_fast_path_is_fast():
    """A 50000 x 784 float32 epoch in batches of 128, shuffled: NumPy-speed, no per-sample loop."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 50_000)
    loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True)
    start = time.perf_counter()
    count = sum(xb.shape[0] for xb, _ in loader)
    elapsed = time.perf_counter() - start
    assert count == 50_000
    assert elapsed < 1.0, f"one epoch took {elapsed:.2f} s (about 0.1 s expected)"


def test_custom_batch_sampler_subclass_is_respected():
    class EvensFirst(BatchSampler):
        def __iter__(self):
            yield [0, 2, 4]
            yield [1, 3]

        def __len__(self):
            return 2

    X, _ = arrays(5)
    loader = DataLoader(
        TensorDataset(X, np.arange(5)), batch_sampler=EvensFirst(range(5), 3, False)
    )
    assert [b[1].tolist() for b in loader] == [[0, 2, 4], [1, 3]]


def test_tensors_that_require_grad_keep_their_graph():
    w = nerve.ones(4, 2, requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(w), batch_size=3)))
    xb.sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0]] * 3 + [[0.0, 0.0]]
