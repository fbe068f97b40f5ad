"""PyTorch-like printing: ``tensor([[1., 2.], [3., 4.]], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from nerve import _dtype
from nerve.device import move

_DEFAULT_SHOWN = {np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_)}


def _format(arr: np.ndarray) -> str:
    if arr.dtype.kind == "f" and arr.size:
        finite = arr[np.isfinite(arr)]
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        big = finite.size and (np.abs(finite).max() >= 1e8 or 0 < np.abs(finite[finite != 0]).min(initial=1) < 1e-4)
        if integral and not big:
            fmt = {"float_kind": lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)}
        elif big:
            fmt = {"float_kind": lambda v: f"{v:.4e}"}
        else:
            fmt = {"float_kind": lambda v: f"{v:.4f}"}
        return np.array2string(arr, separator=", ", prefix="tensor(", formatter=fmt, threshold=1000,
                               edgeitems=3, max_line_width=100)
    return np.array2string(arr, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3,
                           max_line_width=100)


def tensor_repr(t) -> str:
    arr = move(t._data, "cpu")
    body = _format(arr) if arr.size or arr.ndim <= 1 else "[]"
    extras = []
    if arr.size == 0 and arr.ndim > 1:
        extras.append(f"size={tuple(arr.shape)}")
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    if arr.dtype not in _DEFAULT_SHOWN:
        extras.append(f"dtype={_dtype.from_np(arr.dtype)!r}")
    if t._ctx is not None:
        extras.append(f"grad_fn={t._ctx!r}")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
