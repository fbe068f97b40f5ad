"""Devices: where a tensor's array lives and which array module does its math.

``"cpu"`` arrays are NumPy arrays; ``"cuda"`` arrays are CuPy arrays (when CuPy is installed).
Every op asks :func:`array_module` for the module of its inputs instead of importing NumPy, so one
implementation serves both devices.
"""

from __future__ import annotations

import contextlib

import numpy as np

try:  # CuPy is optional: only needed for device="cuda".
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

ARRAY_TYPES: tuple = (np.ndarray,) if _cupy is None else (np.ndarray, _cupy.ndarray)


class device:
    """A device, like ``nerve.device("cpu")`` or ``nerve.device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda[:N]', got {spec!r}")
        self.type = kind
        self.index = int(idx) if idx else index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else (
            f"device(type='{self.type}', index={self.index})"
        )

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def array_module(arr):
    """NumPy for CPU arrays, CuPy for CUDA arrays."""
    if type(arr) is np.ndarray or _cupy is None:
        return np
    return _cupy.get_array_module(arr)


def quiet_overflow(xp):
    """A context silencing NumPy's overflow warning, for math where overflow to inf is the right
    step (1 / (1 + e^-x) with e^-x = inf is 0). CuPy never warns."""
    return np.errstate(over="ignore") if xp is np else contextlib.nullcontext()


def device_of(arr) -> device:
    if type(arr) is np.ndarray or _cupy is None or not isinstance(arr, _cupy.ndarray):
        return CPU
    return device("cuda")


def module_for(dev) -> object:
    dev = device(dev)
    if dev.type == "cpu":
        return np
    if _cupy is None:
        raise RuntimeError(
            "device 'cuda' needs CuPy: install a CuPy build for your CUDA version, "
            "e.g. `pip install cupy-cuda12x`"
        )
    return _cupy


def move(arr, dev):
    """Copy an array to a device (a no-op when it is already there)."""
    dev = device(dev)
    if device_of(arr) == dev:
        return arr
    if dev.type == "cpu":
        return arr.get()
    return module_for(dev).asarray(arr)
