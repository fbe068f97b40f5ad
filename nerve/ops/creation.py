"""Creating tensors: tensor, as_tensor, from_numpy, zeros/ones/full/empty (and _like), arange,
linspace, eye.

Python data takes PyTorch's dtypes: floats -> float32, ints -> int64, bools -> bool. NumPy arrays
keep their dtype (a float64 array gives a float64 tensor).
"""

from __future__ import annotations

import numpy as np

from nerve import _dtype
from nerve.device import ARRAY_TYPES, device_of, module_for, move
from nerve.tensor import Tensor


def _infer_np_dtype(data):
    """float32 if any element is a Python float, else int64 for ints, bool for bools."""
    kinds = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Tensor):
            kinds.add(item._data.dtype.kind)
        elif isinstance(item, bool) or isinstance(item, np.bool_):
            kinds.add("b")
        elif isinstance(item, (int, np.integer)):
            kinds.add("i")
        elif isinstance(item, (float, np.floating)):
            kinds.add("f")
        else:
            raise TypeError(f"tensor: cannot make a tensor from an element of type {type(item).__name__}")
    if "f" in kinds:
        return _dtype.default_float.np
    if "i" in kinds or "u" in kinds:
        return np.dtype(np.int64)
    if "b" in kinds:
        return np.dtype(np.bool_)
    return _dtype.default_float.np  # empty list


def _to_array(data, dtype=None, device=None, copy=True):
    np_dtype = None if dtype is None else _dtype.to_np(dtype)
    if isinstance(data, Tensor):
        arr = data._data
        if np_dtype is not None and arr.dtype != np_dtype:
            arr = arr.astype(np_dtype)
        elif copy:
            arr = arr.copy()
    elif isinstance(data, ARRAY_TYPES):
        arr = data
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: unsupported array dtype {arr.dtype}")
        if np_dtype is not None and arr.dtype != np_dtype:
            arr = arr.astype(np_dtype)
        elif copy:
            arr = arr.copy()
        if arr.dtype not in _dtype._FROM_NP:
            arr = arr.astype(np.float32 if arr.dtype.kind == "f" else np.int64)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.tolist() if isinstance(d, Tensor) else d for d in data]
        inferred = np_dtype if np_dtype is not None else _infer_np_dtype(data)
        try:
            arr = np.array(data, dtype=inferred)
        except (ValueError, TypeError) as err:
            raise ValueError(f"tensor: could not convert the data to a tensor ({err})") from None
    if device is not None:
        arr = move(arr, device)
    return arr


def _grad_check(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested list, NumPy array or Tensor)."""
    return _grad_check(Tensor._wrap(_to_array(data, dtype, device)), requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or Tensor when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor._wrap(_to_array(data, dtype, device, copy=False))


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype in _dtype._FROM_NP:  # the common case: wrap as it is
        return Tensor._wrap(array)
    return Tensor._wrap(_to_array(array, copy=False))


def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{op}: size must be ints, got {size!r}")
        if s < 0:
            raise ValueError(f"{op}: negative dimension {s} in size {tuple(size)}")
    return tuple(int(s) for s in size)


def _np_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _dtype.default_float.np
    return _dtype.to_np(dtype)


def _xp(device):
    return np if device is None else module_for(device)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = _xp(device).zeros(_size(size, "zeros"), dtype=_np_dtype(dtype))
    return _grad_check(Tensor._wrap(arr), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = _xp(device).ones(_size(size, "ones"), dtype=_np_dtype(dtype))
    return _grad_check(Tensor._wrap(arr), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """NOTE: unlike PyTorch's, nerve's ``empty`` is zero-filled (uninitialized memory helps nobody)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    default = _infer_np_dtype(fill_value)
    arr = _xp(device).full(_size((size,), "full"), fill_value, dtype=_np_dtype(dtype, default))
    return _grad_check(Tensor._wrap(arr), requires_grad)


def _like(x, dtype, device):
    return (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def zeros_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return zeros(*x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return ones(*x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros_like(x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return full(tuple(x.shape), fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    all_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = np.dtype(np.int64) if all_int else _dtype.default_float.np
    arr = _xp(device).arange(start, end, step, dtype=np.float64 if not all_int else np.int64)
    return _grad_check(Tensor._wrap(arr.astype(_np_dtype(dtype, default))), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    arr = _xp(device).linspace(start, end, steps, dtype=np.float64).astype(_np_dtype(dtype))
    return _grad_check(Tensor._wrap(arr), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    arr = _xp(device).eye(n, n if m is None else m, dtype=_np_dtype(dtype))
    return _grad_check(Tensor._wrap(arr), requires_grad)


__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
           "ones_like", "empty_like", "full_like", "arange", "linspace", "eye", "device_of"]
