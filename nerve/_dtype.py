"""dtypes: ``nerve.float32`` and friends, and PyTorch's type-promotion rules.

A nerve dtype is a thin named wrapper around a NumPy dtype. Promotion follows PyTorch, not NumPy:

- categories are ordered bool < integer < floating;
- two tensors of one category promote to the wider type (int32 + int64 -> int64);
- across categories the higher category's dtype wins (int64 + float16 -> float16);
- a Python scalar, or a 0-dim tensor beside a dimensioned one, only changes the category:
  float32 tensor * 2.5 -> float32, int64 tensor * 2.5 -> float32 (the default float dtype).
"""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, e.g. ``nerve.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = category == 2 or (category == 1 and self.np.kind == "i")
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"nerve.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(
    {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
     "short": int16, "bool_": bool_}
)

default_float = float32


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_np(np_dtype) -> dtype:
    """The nerve dtype of a NumPy dtype; a clear error for unsupported ones."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"unsupported dtype {np_dtype!r}; nerve supports "
            + ", ".join(d.name for d in ALL)
        ) from None


def to_np(d) -> np.dtype:
    """Accept a nerve dtype, a NumPy dtype, a Python type or a name; return the NumPy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return default_float.np
    if d is int:
        return int64.np
    if d is bool:
        return bool_.np
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d].np
    return from_np(d).np


def category(np_dtype: np.dtype) -> int:
    kind = np_dtype.kind
    return 2 if kind == "f" else (0 if kind == "b" else 1)


def scalar_category(value) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    return 2


def promote_with_scalar(tensor_dtype: np.dtype, value) -> np.dtype:
    """Result dtype of ``tensor op python_scalar``."""
    cat_s = scalar_category(value)
    if cat_s <= category(tensor_dtype):
        return tensor_dtype
    return default_float.np if cat_s == 2 else int64.np


def promote(a_dtype: np.dtype, a_ndim: int, b_dtype: np.dtype, b_ndim: int) -> np.dtype:
    """Result dtype of ``tensor_a op tensor_b`` (PyTorch's rules, 0-dim tensors act like scalars)."""
    if a_dtype == b_dtype:
        return a_dtype
    cat_a, cat_b = category(a_dtype), category(b_dtype)
    if (a_ndim == 0) != (b_ndim == 0):
        # A 0-dim tensor beside a dimensioned one only decides the category.
        dimmed, zero_d = (a_dtype, b_dtype) if b_ndim == 0 else (b_dtype, a_dtype)
        if category(zero_d) > category(dimmed):
            return zero_d
        return dimmed
    if cat_a == cat_b:
        return np.promote_types(a_dtype, b_dtype)
    return a_dtype if cat_a > cat_b else b_dtype
