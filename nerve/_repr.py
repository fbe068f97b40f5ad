"""PyTorch-like printing: ``tensor([[1., 2.], [3., 4.]], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from nerve import _dtype
from nerve.device import move

_DEFAULT_SHOWN = {np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_)}


def _float_formatter(arr: np.ndarray):
    """PyTorch's choice: integral values as ``1.``, scientific notation when the nonzero finite
    magnitudes span more than 1000x, exceed 1e8 or go below 1e-4, else 4 decimals; every element
    right-aligned to the widest nonzero finite value (nan and inf just fit in)."""
    values = arr.astype(np.float64).reshape(-1)
    if values.size > _THRESHOLD:
        values = np.concatenate([values[:_EDGE], values[-_EDGE:]])
    finite = values[np.isfinite(values)]
    nonzero = finite[finite != 0]
    integral = bool(np.all(finite == np.round(finite)))
    sci = False
    if nonzero.size:
        lo, hi = np.abs(nonzero).min(), np.abs(nonzero).max()
        sci = bool(hi / lo > 1000.0 or hi > 1.0e8 or (not integral and lo < 1.0e-4))

    def text(v) -> str:
        v = float(v)
        if not np.isfinite(v):
            return str(v)
        if sci:
            return f"{v:.4e}"
        return f"{v:.0f}." if integral else f"{v:.4f}"

    width = max([1] + [len(text(v)) for v in nonzero])
    return lambda v: text(v).rjust(width)


_THRESHOLD, _EDGE = 1000, 3


def _format(arr: np.ndarray) -> str:
    options = dict(separator=", ", prefix="tensor(", threshold=_THRESHOLD, edgeitems=_EDGE,
                   max_line_width=80)
    if arr.dtype.kind == "f" and arr.size:
        options["formatter"] = {"float_kind": _float_formatter(arr)}
    return np.array2string(arr, **options).replace(", ...,", ",  ...,")  # PyTorch's spacing


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
