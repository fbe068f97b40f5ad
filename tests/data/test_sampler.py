import numpy as np
import pytest
import torch.utils.data as tud

import nerve
from nerve.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sequential():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert len(SequentialSampler(range(4))) == 4


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (1, 5), (0, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    # any iterable of indices works too, grouped lazily
    assert list(BatchSampler(list(range(n)), batch_size, drop_last)) == list(theirs)


def test_batch_sampler_yields_python_ints():
    (batch,) = list(BatchSampler(SequentialSampler(range(2)), 2, False))
    assert all(type(i) is int for i in batch)


def test_random_sampler_is_a_seeded_permutation():
    a = list(RandomSampler(range(50), generator=nerve.Generator().manual_seed(0)))
    b = list(RandomSampler(range(50), generator=nerve.Generator().manual_seed(0)))
    assert a == b and sorted(a) == list(range(50)) and a != list(range(50))
    sampler = RandomSampler(range(50), generator=nerve.Generator().manual_seed(0))
    first, second = list(sampler), list(sampler)
    assert first == a and second != first  # the generator's stream continues across epochs


def test_random_sampler_uses_global_seed_without_generator():
    nerve.manual_seed(1)
    a = list(RandomSampler(range(30)))
    nerve.manual_seed(1)
    b = list(RandomSampler(range(30)))
    assert a == b


def test_random_sampler_num_samples_and_replacement():
    gen = nerve.Generator().manual_seed(0)
    draws = list(RandomSampler(range(5), replacement=True, num_samples=200, generator=gen))
    assert len(draws) == 200 and set(draws) == set(range(5))
    longer = list(RandomSampler(range(4), num_samples=10, generator=gen))
    assert (
        len(longer) == 10
        and sorted(longer[:4]) == [0, 1, 2, 3]
        and sorted(longer[4:8])
        == [
            0,
            1,
            2,
            3,
        ]
    )
    assert len(RandomSampler(range(4), num_samples=10)) == 10


def test_random_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, None)


def test_subset_random_sampler():
    indices = [10, 20, 30, 40]
    out = list(SubsetRandomSampler(indices, generator=nerve.Generator().manual_seed(0)))
    assert sorted(out) == indices and len(SubsetRandomSampler(indices)) == 4


def test_weighted_random_sampler_frequencies():
    gen = nerve.Generator().manual_seed(0)
    draws = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=gen))
    counts = np.bincount(draws, minlength=3) / 4000
    np.testing.assert_allclose(counts, [0.0, 0.25, 0.75], atol=0.03)
    unique = list(WeightedRandomSampler([1, 1, 1], 3, replacement=False, generator=gen))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(ValueError, match="exceeds the number of nonzero weights"):
        WeightedRandomSampler([1, 0], 2, replacement=False)


def test_subclass_overriding_iter_is_respected():
    class Reversed(SequentialSampler):
        def __iter__(self):
            return iter(reversed(range(len(self.data_source))))

    assert list(BatchSampler(Reversed(range(5)), 2, False)) == [[4, 3], [2, 1], [0]]
