"""Random numbers: seeded reproducibility (``manual_seed``, ``Generator``), distributions, dtypes,
shapes and argument errors. NOTE: nerve's streams (NumPy's PCG64) differ from PyTorch's on
purpose, so the values are not compared with torch, only their distributions."""

import numpy as np
import pytest

import nerve

SAMPLERS = {
    "rand": lambda **g: nerve.rand(3, 4, **g),
    "randn": lambda **g: nerve.randn((2, 5), **g),
    "randint": lambda **g: nerve.randint(0, 10, (6,), **g),
    "randperm": lambda **g: nerve.randperm(8, **g),
    "normal": lambda **g: nerve.normal(1.0, 2.0, (5,), **g),
    "bernoulli": lambda **g: nerve.bernoulli(nerve.full((6,), 0.5), **g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_manual_seed_makes_runs_reproducible(name):
    nerve.manual_seed(123)
    first = SAMPLERS[name]().numpy().copy()
    nerve.manual_seed(123)
    assert np.array_equal(SAMPLERS[name]().numpy(), first)
    nerve.manual_seed(124)
    second = SAMPLERS[name]().numpy()
    assert not np.array_equal(second, first) or name == "bernoulli"


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_generator_is_independent_of_the_default(name):
    g1 = nerve.Generator().manual_seed(7)
    nerve.manual_seed(0)
    a = SAMPLERS[name](generator=g1).numpy().copy()
    SAMPLERS[name]()  # the default generator moves on; g2 does not care
    g2 = nerve.Generator().manual_seed(7)
    assert np.array_equal(SAMPLERS[name](generator=g2).numpy(), a)


def test_generator_wraps_numpy_and_keeps_state():
    g = nerve.Generator().manual_seed(5)
    assert isinstance(g.np_rng, np.random.Generator) and g.initial_seed() == 5
    state = g.get_state()
    a = nerve.rand(4, generator=g)
    g.set_state(state)
    assert nerve.rand(4, generator=g).tolist() == a.tolist()
    nerve.manual_seed(9)
    saved = nerve.get_rng_state()
    b = nerve.randn(3)
    nerve.set_rng_state(saved)
    assert nerve.randn(3).tolist() == b.tolist() and nerve.initial_seed() == 9


def test_distributions():
    g = nerve.Generator().manual_seed(0)
    u = nerve.rand(20_000, generator=g).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    n = nerve.randn(20_000, generator=g).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03
    r = nerve.randint(-3, 4, (20_000,), generator=g).numpy()
    assert set(np.unique(r)) == set(range(-3, 4))
    assert sorted(nerve.randperm(50, generator=g).tolist()) == list(range(50))
    s = nerve.normal(3.0, 0.5, (20_000,), generator=g).numpy()
    assert abs(s.mean() - 3.0) < 0.02 and abs(s.std() - 0.5) < 0.02
    p = nerve.tensor([0.0, 1.0, 0.25]).expand(20_000, 3)
    draws = nerve.bernoulli(p, generator=g).numpy()
    assert draws[:, 0].sum() == 0 and draws[:, 1].all() and abs(draws[:, 2].mean() - 0.25) < 0.02
    means = nerve.tensor([0.0, 100.0])
    stds = nerve.tensor([1.0, 0.0])
    t = nerve.normal(means, stds, generator=g)
    assert t.shape == (2,) and t[1].item() == 100.0


def test_dtypes_and_shapes():
    assert nerve.rand(2, 3).dtype is nerve.float32 and nerve.rand(2, 3).shape == (2, 3)
    assert nerve.randn(2, dtype=nerve.float64).dtype is nerve.float64
    assert nerve.rand((4,)).shape == (4,) and nerve.randn().shape == ()
    assert nerve.randint(5, (3, 2)).dtype is nerve.int64
    assert nerve.randint(0, 5, (3,), dtype=nerve.int32).dtype is nerve.int32
    assert nerve.randperm(4).dtype is nerve.int64 and nerve.randperm(0).shape == (0,)
    assert nerve.bernoulli(nerve.rand(3)).dtype is nerve.float32
    assert nerve.normal(0.0, 1.0, (2,)).dtype is nerve.float32
    x = nerve.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    like = nerve.zeros(2, 2, dtype=nerve.float64)
    assert nerve.rand_like(like).dtype is nerve.float64 and nerve.randn_like(like).shape == (2, 2)
    assert nerve.randint_like(like, 3).shape == (2, 2)


def test_in_place_random_fills():
    nerve.manual_seed(1)
    x = nerve.zeros(1000)
    x.uniform_(-2, 2)
    assert x.numpy().min() >= -2 and x.numpy().max() < 2 and x.numpy().std() > 1
    x.normal_(5.0, 0.1)
    assert abs(x.numpy().mean() - 5.0) < 0.02
    w = nerve.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="normal_: a leaf tensor that requires grad"):
        w.normal_()
    with nerve.no_grad():
        w.normal_()
    assert w.detach().numpy().any()


def test_random_argument_errors():
    with pytest.raises(ValueError, match="randint: high \\(2\\) must be greater than low \\(2\\)"):
        nerve.randint(2, 2, (3,))
    with pytest.raises(TypeError, match="randint: expected randint\\(low, high, size\\)"):
        nerve.randint(5)
    with pytest.raises(ValueError, match="randperm: n must be non-negative, got -1"):
        nerve.randperm(-1)
    with pytest.raises(ValueError, match="normal: std must be non-negative, got -1"):
        nerve.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError, match="generator must be a nerve.Generator, got Generator"):
        nerve.rand(2, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="manual_seed: seed must be non-negative"):
        nerve.manual_seed(-1)
    with pytest.raises(ValueError, match="negative dimension"):
        nerve.rand(-1)
