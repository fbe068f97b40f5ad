"""Helpers for comparing nerve with PyTorch (the test oracle): conversion and closeness checks.

Tolerances: float32 rtol 1e-5 / atol 1e-6, float64 rtol 1e-10 / atol 1e-12 (see ``tolerance``).
"""

from __future__ import annotations

import numpy as np
import torch

import nerve

TOLERANCE = {
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-10, 1e-12),
    np.dtype(np.float16): (1e-3, 1e-3),
}


def tolerance(dtype, scale: float = 1.0):
    """(rtol, atol) for a dtype, optionally loosened by ``scale`` (for long reductions)."""
    rtol, atol = TOLERANCE.get(np.dtype(dtype), (0.0, 0.0))
    return rtol * scale, atol * scale


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of a nerve tensor, torch tensor, array or number."""
    if isinstance(x, nerve.Tensor):
        return np.array(x.detach().numpy())
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(force=True).copy()  # force: torch's ZeroTensor
    return np.asarray(x)


def to_torch(x, requires_grad: bool | None = None) -> torch.Tensor:
    """A torch tensor with the same values and dtype as a nerve tensor (or array)."""
    arr = np.ascontiguousarray(to_numpy(x))
    t = torch.from_numpy(arr.copy())
    if requires_grad is None:
        requires_grad = isinstance(x, nerve.Tensor) and x.requires_grad
    if requires_grad:
        t.requires_grad_(True)
    return t


def to_nerve(x, requires_grad: bool = False) -> nerve.Tensor:
    t = nerve.tensor(to_numpy(x))
    return t.requires_grad_(True) if requires_grad else t


def assert_close(actual, expected, rtol=None, atol=None, scale=1.0, what=""):
    """Same shape, same dtype kind and close values (NaN matches NaN)."""
    a, e = to_numpy(actual), to_numpy(expected)
    label = f"{what}: " if what else ""
    assert a.shape == e.shape, f"{label}shape {a.shape} != expected {e.shape}"
    if rtol is None or atol is None:
        r, t = tolerance(e.dtype if e.dtype.kind == "f" else a.dtype, scale)
        rtol = r if rtol is None else rtol
        atol = t if atol is None else atol
    if e.dtype.kind in "biu" and a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=label)
        return
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=label)


def assert_same_dtype(actual: nerve.Tensor, expected: torch.Tensor):
    name = str(expected.dtype).replace("torch.", "")
    assert actual.dtype.name == name, f"dtype {actual.dtype} != torch's {expected.dtype}"
