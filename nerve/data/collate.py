"""Collating samples into a batch, with PyTorch's ``default_collate`` rules.

=====================  =========================================================
sample element         batch element
=====================  =========================================================
Tensor ``(*S)``        Tensor ``(B, *S)`` (stacked along a new dim 0)
numpy array ``(*S)``   Tensor ``(B, *S)``
numpy scalar           Tensor ``(B,)`` of its dtype
Python ``float``       float64 Tensor ``(B,)``
Python ``int``         int64 Tensor ``(B,)``
``str`` / ``bytes``    the ``B`` values as given (list or tuple)
dict                   dict with each value collated
namedtuple             the same namedtuple with each field collated
tuple / list           list with each position collated (tuples become lists, as in PyTorch)
=====================  =========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["default_collate", "default_convert"]


def _stack(tensors: list):
    """Stack tensors along a new dim 0; the differentiable op only when a sample needs grad."""
    from nerve.tensor import Tensor

    first = tensors[0]
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: element {i} is a {type(t).__name__}, not a Tensor")
        if t.shape != first.shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{tuple(first.shape)} at entry 0 and {tuple(t.shape)} at entry {i}"
            )
    if any(t.requires_grad for t in tensors):
        import nerve

        return nerve.stack(tensors, 0)
    from nerve.device import array_module

    xp = array_module(first._data)
    return Tensor._wrap(xp.stack([t._data for t in tensors]))


def default_collate(batch: list):
    """Merge a list of samples into a batch (see the module table)."""
    from nerve.tensor import Tensor

    if not isinstance(batch, Sequence) or len(batch) == 0:
        raise ValueError("default_collate: batch must be a non-empty list of samples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUSV":
            raise TypeError(
                f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                f"lists; found numpy array of dtype {elem.dtype}"
            )
        return _stack([Tensor._wrap(np.asarray(b)) for b in batch])
    if isinstance(elem, np.generic) and elem.dtype.kind not in "OUSV":
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: the list (or tuple) of strings itself
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        return [default_collate(position) for position in zip(*batch, strict=True)]
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem)}"
    )


def default_convert(data):
    """Without batching (``batch_size=None``): NumPy arrays become Tensors, recursively."""
    from nerve.tensor import Tensor

    if isinstance(data, np.ndarray) and data.dtype.kind not in "OUSV":
        return Tensor._wrap(data)
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return (
            [default_convert(d) for d in data]
            if isinstance(data, list)
            else tuple(default_convert(d) for d in data)
        )
    return data
