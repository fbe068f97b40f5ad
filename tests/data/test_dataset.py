import numpy as np
import pytest
import torch
import torch.utils.data as tud

import nerve
from nerve.data import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


def test_tensor_dataset_items_and_len():
    X = nerve.arange(12).reshape(6, 2)
    y = nerve.tensor([0, 1, 0, 1, 1, 0])
    ds = TensorDataset(X, y)
    assert len(ds) == 6
    x3, y3 = ds[3]
    assert x3.tolist() == [6, 7] and y3.item() == 1
    assert isinstance(ds[3], tuple)


def test_tensor_dataset_wraps_numpy_without_copy():
    X = np.zeros((4, 3), np.float32)
    ds = TensorDataset(X, np.arange(4))
    assert isinstance(ds.tensors[0], nerve.Tensor) and ds.tensors[0].dtype == nerve.float32
    X[1, 1] = 5.0
    assert ds[1][0].tolist() == [0.0, 5.0, 0.0]


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"size mismatch between tensors along dim 0: \[3, 4\]"):
        TensorDataset(nerve.zeros(3, 2), nerve.zeros(4))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(TypeError, match=r"tensors\[1\] must be a nerve.Tensor or numpy.ndarray"):
        TensorDataset(nerve.zeros(3), [1, 2, 3])
    with pytest.raises(ValueError, match="is 0-d"):
        TensorDataset(nerve.tensor(1.0))


def test_subset_and_concat_match_torch():
    ours = ConcatDataset([Squares(3), Squares(4), Squares(0), Squares(2)])
    theirs = tud.ConcatDataset([Squares(3), Squares(4), Squares(0), Squares(2)])
    assert len(ours) == len(theirs) == 9
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-9, 9):
        assert ours[i] == theirs[i]
    with pytest.raises(IndexError):
        ours[9]
    with pytest.raises(IndexError):
        ours[-10]
    sub = Subset(ours, [8, 0, 5])
    assert [sub[i] for i in range(3)] == [1, 0, 4] and len(sub) == 3
    assert len(Squares(2) + Squares(5)) == 7


def test_concat_rejects_empty_and_iterable():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(ValueError, match="should not be an empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="does not support IterableDataset"):
        ConcatDataset([Squares(2), Stream()])
    with pytest.raises(TypeError, match="iterate it, don't index it"):
        Stream()[0]


def test_base_dataset_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="must implement __getitem__"):
        Dataset()[0]


@pytest.mark.filterwarnings("ignore:Length of split")  # torch warns about the empty split
@pytest.mark.parametrize(
    "n, lengths",
    [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]), (5, [1.0, 0.0])],
)
def test_random_split_lengths_match_torch(n, lengths):
    ours = random_split(Squares(n), lengths, generator=nerve.Generator().manual_seed(0))
    theirs = tud.random_split(Squares(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    indices = sorted(i for s in ours for i in s.indices)
    assert indices == list(range(n))  # a partition


def test_random_split_is_seeded():
    a = random_split(Squares(20), [10, 10], generator=nerve.Generator().manual_seed(3))
    b = random_split(Squares(20), [10, 10], generator=nerve.Generator().manual_seed(3))
    c = random_split(Squares(20), [10, 10], generator=nerve.Generator().manual_seed(4))
    assert a[0].indices == b[0].indices != c[0].indices
    nerve.manual_seed(5)
    d = random_split(Squares(20), [10, 10])
    nerve.manual_seed(5)
    e = random_split(Squares(20), [10, 10])
    assert d[1].indices == e[1].indices


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\) does not equal"):
        random_split(Squares(10), [4, 5])
    with pytest.raises(ValueError, match="fractions in"):
        random_split(Squares(10), [0.5, 0.6])
    with pytest.raises(TypeError, match="generator must be a nerve.Generator"):
        random_split(Squares(10), [5, 5], generator=torch.Generator())
