"""Random numbers: ``Generator`` (a seeded ``numpy.random.Generator``), ``manual_seed``, and the
sampling functions rand, randn, randint, randperm, normal, bernoulli.

Every random op takes an optional ``generator=``; without one it draws from the default generator
that ``nerve.manual_seed`` seeds, so a run is reproducible from one seed. NOTE: the streams are
NumPy's PCG64, so the numbers differ from PyTorch's for the same seed; the distributions match.
"""

from __future__ import annotations

import numpy as np

from nerve import _dtype
from nerve.device import move
from nerve.tensor import Tensor

DEFAULT_SEED = 67280421310721  # PyTorch's default seed, so an unseeded run is still repeatable


class Generator:
    """A source of random numbers. ``Generator().manual_seed(0)`` gives a seeded stream."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = DEFAULT_SEED
        self.np_rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        self.np_rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's full state as plain JSON-able data (for checkpoints)."""
        return {"seed": self._seed, "bit_generator": self.np_rng.bit_generator.state}

    def set_state(self, state: dict) -> Generator:
        self._seed = int(state["seed"])
        self.np_rng.bit_generator.state = state["bit_generator"]
        return self

    # NumPy-style sampling, used by the functions below and by nn.init / dropout.
    def uniform(self, low, high, size):
        return self.np_rng.uniform(low, high, size)

    def normal(self, mean, std, size):
        return self.np_rng.normal(mean, std, size)

    def random(self, size, dtype=np.float64):
        return self.np_rng.random(size, dtype=dtype)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every random op that is given no ``generator``)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def _generator(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a nerve.Generator, got {type(generator).__name__}")
    return generator


def _finish(arr, dtype, device, requires_grad, default=None):
    np_dtype = _dtype.to_np(dtype) if dtype is not None else (default or _dtype.default_float.np)
    t = Tensor._wrap(move(np.asarray(arr).astype(np_dtype, copy=False), device or "cpu"))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size):
    from nerve.ops.creation import _size as check

    return check(size, "random")


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    np_dtype = _dtype.to_np(dtype) if dtype is not None else _dtype.default_float.np
    arr = _generator(generator).np_rng.random(_size(size), dtype=np.float64 if np_dtype != np.float32 else np.float32)
    return _finish(arr, dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples."""
    np_dtype = _dtype.to_np(dtype) if dtype is not None else _dtype.default_float.np
    arr = _generator(generator).np_rng.standard_normal(
        _size(size), dtype=np.float64 if np_dtype != np.float32 else np.float32
    )
    return _finish(arr, dtype, device, requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None) -> Tensor:
    """Integers in [low, high); ``randint(high, size)`` starts at 0."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: expected randint(low, high, size) or randint(high, size)")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    arr = _generator(generator).np_rng.integers(low, high, size=tuple(size))
    return _finish(arr, dtype, device, False, np.dtype(np.int64))


def randperm(n, generator=None, dtype=None, device=None) -> Tensor:
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    arr = _generator(generator).np_rng.permutation(n)
    return _finish(arr, dtype, device, False, np.dtype(np.int64))


def normal(mean=0.0, std=1.0, size=None, generator=None, dtype=None, device=None) -> Tensor:
    """Normal samples; ``mean``/``std`` may be numbers (then give ``size``) or tensors."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if isinstance(s, (int, float)) and s < 0:
        raise ValueError(f"normal: std must be non-negative, got {s}")
    if size is None:
        size = np.broadcast_shapes(np.shape(m), np.shape(s))
    arr = _generator(generator).np_rng.normal(m, s, size=tuple(size))
    default = mean._data.dtype if isinstance(mean, Tensor) else None
    return _finish(arr, dtype, device, False, default)


def bernoulli(p, generator=None) -> Tensor:
    """1.0 with probability ``p`` (a tensor of probabilities), else 0.0."""
    probs = p._data if isinstance(p, Tensor) else np.asarray(p, dtype=np.float32)
    draws = _generator(generator).np_rng.random(probs.shape) < move(probs, "cpu")
    return _finish(draws, None, getattr(p, "device", None), False, probs.dtype)


def rand_like(x, generator=None, dtype=None) -> Tensor:
    return rand(*x.shape, generator=generator, dtype=dtype or x.dtype, device=x.device)


def randn_like(x, generator=None, dtype=None) -> Tensor:
    return randn(*x.shape, generator=generator, dtype=dtype or x.dtype, device=x.device)


def randint_like(x, low, high=None, generator=None) -> Tensor:
    return randint(low, high, tuple(x.shape), generator=generator, device=x.device)
