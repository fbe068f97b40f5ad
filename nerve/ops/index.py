"""Indexing: x[...], gather/scatter, index_select/index_add, masked_fill, topk, sort.

``x[idx]``'s backward puts the gradient back at ``idx`` in a zero tensor (adding where an advanced
index repeats an element); that op's backward is ``g[idx]`` again, so indexing differentiates to
any order. gather and scatter_add are each other's backward in the same way.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.device import array_module
from nerve.tensor import Tensor, _inplace, _norm_dim

_BASIC = (int, slice, type(None), type(Ellipsis), np.integer)


def _index_array(value, where):
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind == "f":
        raise IndexError(
            f"{where}: tensors used as indices must be integer or bool, got {arr.dtype} "
            "(convert with .long())"
        )
    if arr.dtype.kind not in "biu":
        raise IndexError(f"{where}: unsupported index of dtype {arr.dtype}")
    return arr


def _normalize_index(index):
    """Turn Tensors and lists inside an index into arrays; report whether it is basic slicing."""
    items = index if isinstance(index, tuple) else (index,)
    out, basic = [], True
    for item in items:
        if isinstance(item, bool):
            item = np.asarray(item)
            basic = False
        elif isinstance(item, _BASIC):
            pass
        elif isinstance(item, Tensor) or isinstance(item, (list, np.ndarray)):
            item = _index_array(item, "indexing")
            basic = False
        else:
            raise IndexError(f"indexing: unsupported index {item!r}")
        out.append(item)
    return tuple(out), basic


def _add_at(xp, out, index, values):
    if xp is np:
        np.add.at(out, index, values)
    else:  # pragma: no cover - CuPy
        import cupyx  # type: ignore[import-not-found]

        cupyx.scatter_add(out, index, values)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index, basic):
        ctx.meta = (x._data.shape, index, basic)
        return x._data[index]

    @staticmethod
    def backward(ctx, grad):
        shape, index, basic = ctx.meta
        return IndexBackward.apply(grad, shape, index, basic), None, None


class IndexBackward(Function):
    """Scatter ``grad`` into zeros of ``shape`` at ``index`` (the backward of ``x[index]``)."""

    @staticmethod
    def forward(ctx, grad, shape, index, basic):
        ctx.meta = (index, basic)
        xp = array_module(grad._data)
        out = xp.zeros(shape, dtype=grad._data.dtype)
        if basic:
            out[index] = grad._data
        else:
            _add_at(xp, out, index, grad._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, basic = ctx.meta
        return GetItem.apply(grad, index, basic), None, None, None


class IndexPut(Function):
    """out = x with out[index] = value (the graph form of ``x[index] = value``)."""

    @staticmethod
    def forward(ctx, x, value, index):
        out = x._data.copy()
        out[index] = value._data if isinstance(value, Tensor) else value
        ctx.meta = (index, value._data.shape if isinstance(value, Tensor) else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, value_shape = ctx.meta
        need_x, need_v = ctx.needs_input_grad[:2]
        grad_x = grad_v = None
        if need_x:
            mask = array_module(grad._data).ones(grad._data.shape, dtype=grad._data.dtype)
            mask[index] = 0
            grad_x = grad * Tensor._wrap(mask)
        if need_v:
            grad_v = grad[index].sum_to_size(value_shape)
        return grad_x, grad_v, None


def getitem(x, index):
    idx, basic = _normalize_index(index)
    if len(idx) == 1:
        idx = idx[0]
    try:
        return GetItem.apply(x, idx, basic)
    except IndexError as err:
        raise IndexError(f"indexing a tensor of shape {tuple(x.shape)}: {err}") from None


def setitem(x, index, value):
    idx, _ = _normalize_index(index)
    if len(idx) == 1:
        idx = idx[0]
    if not isinstance(value, Tensor):
        value = Tensor._wrap(array_module(x._data).asarray(value, dtype=x._data.dtype))
    elif value._data.dtype != x._data.dtype:
        value = value.to(x.dtype)
    _inplace(x, lambda t, v: IndexPut.apply(t, v, idx), value)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, axis, index):
        ctx.meta = (x._data.shape, axis, index)
        return array_module(x._data).take_along_axis(x._data, index._data, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        shape, axis, index = ctx.meta
        zeros = Tensor._wrap(array_module(grad._data).zeros(shape, dtype=grad._data.dtype))
        return scatter_add(zeros, axis, index, grad), None, None


class ScatterAdd(Function):
    @staticmethod
    def forward(ctx, x, axis, index, src):
        ctx.meta = (axis, index)
        xp = array_module(x._data)
        out = x._data.copy()
        _add_at(xp, out, _full_index(xp, index._data, axis), src._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        axis, index = ctx.meta
        need_x = ctx.needs_input_grad[0]
        need_src = ctx.needs_input_grad[3]
        return (grad if need_x else None, None, None,
                grad.gather(axis, index) if need_src else None)


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, axis, index, src):
        ctx.meta = (axis, index)
        xp = array_module(x._data)
        out = x._data.copy()
        out[_full_index(xp, index._data, axis)] = src._data if isinstance(src, Tensor) else src
        return out

    @staticmethod
    def backward(ctx, grad):
        axis, index = ctx.meta
        xp = array_module(grad._data)
        mask = xp.ones(grad._data.shape, dtype=grad._data.dtype)
        mask[_full_index(xp, index._data, axis)] = 0
        need_src = ctx.needs_input_grad[3]
        return (grad * Tensor._wrap(mask), None, None,
                grad.gather(axis, index) if need_src else None)


def _full_index(xp, index, axis):
    """An index tuple addressing ``out[..., index[i, j, ...], ...]`` along ``axis``."""
    grids = list(xp.indices(index.shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


def _check_index_tensor(x, dim, index, op):
    if not isinstance(index, Tensor):
        index = Tensor._wrap(np.asarray(index))
    if index._data.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    axis = _norm_dim(dim, x._data.ndim, op)
    if index._data.ndim != x._data.ndim:
        raise ValueError(
            f"{op}: index has {index.ndim} dims but the input has {x.ndim} (shape {tuple(x.shape)})"
        )
    n = x._data.shape[axis]
    if index._data.size and (index._data.min() < -n or index._data.max() >= n):
        raise IndexError(f"{op}: index out of range for dim {dim} of size {n}")
    return axis, index


def gather(x, dim, index):
    """out[i][j] = x[i][index[i][j]] (for dim=1)."""
    axis, index = _check_index_tensor(x, dim, index, "gather")
    ishape = index._data.shape
    if any(s > t for k, (s, t) in enumerate(zip(ishape, x._data.shape)) if k != axis):
        raise ValueError(f"gather: index shape {tuple(ishape)} exceeds input shape {tuple(x.shape)}")
    if any(s != t for k, (s, t) in enumerate(zip(ishape, x._data.shape)) if k != axis):
        x = x[tuple(slice(0, s) if k != axis else slice(None) for k, s in enumerate(ishape))]
    return Gather.apply(x, axis, index)


def scatter_add(x, dim, index, src):
    axis, index = _check_index_tensor(x, dim, index, "scatter_add")
    if tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, s) for s in index.shape)]
    return ScatterAdd.apply(x, axis, index, src)


def scatter(x, dim, index, src):
    axis, index = _check_index_tensor(x, dim, index, "scatter")
    if isinstance(src, Tensor) and tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, s) for s in index.shape)]
    return Scatter.apply(x, axis, index, src)


class IndexAdd(Function):
    @staticmethod
    def forward(ctx, x, axis, index, source):
        ctx.meta = (axis, index)
        xp = array_module(x._data)
        out = x._data.copy()
        _add_at(xp, out, (slice(None),) * axis + (index._data,), source._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        axis, index = ctx.meta
        need_x, need_src = ctx.needs_input_grad[0], ctx.needs_input_grad[3]
        return (grad if need_x else None, None, None,
                grad.index_select(axis, index) if need_src else None)


def index_select(x, dim, index):
    axis = _norm_dim(dim, x._data.ndim, "index_select")
    arr = _index_array(index, "index_select")
    if arr.ndim != 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {arr.shape}")
    return GetItem.apply(x, (slice(None),) * axis + (arr,), False)


def index_add(x, dim, index, source):
    axis = _norm_dim(dim, x._data.ndim, "index_add")
    if not isinstance(index, Tensor):
        index = Tensor._wrap(np.asarray(index))
    _index_array(index, "index_add")
    expected = x.shape[:axis] + (index.numel(),) + x.shape[axis + 1:]
    if tuple(source.shape) != tuple(expected):
        raise ValueError(f"index_add: source must have shape {tuple(expected)}, got {tuple(source.shape)}")
    return IndexAdd.apply(x, axis, index, source)


def masked_fill(x, mask, value):
    from nerve.ops.elementwise import where

    if not isinstance(mask, Tensor) or mask._data.dtype.kind != "b":
        raise TypeError("masked_fill: mask must be a bool tensor")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise ValueError("masked_fill: value must be a number or a 0-dim tensor")
        value = value.to(x.dtype)
    else:
        value = Tensor._wrap(array_module(x._data).asarray(value, dtype=x._data.dtype))
    return where(mask, value, x)


def one_hot(tensor, num_classes=-1):
    """(*,) int64 class indices -> (*, num_classes) int64 one-hot."""
    if not isinstance(tensor, Tensor) or tensor._data.dtype.kind not in "iu":
        raise TypeError("one_hot: expected an integer tensor of class indices")
    data = tensor._data
    xp = array_module(data)
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got {int(data.min())}..{int(data.max())}")
    return Tensor._wrap((data[..., None] == xp.arange(num_classes)).astype(np.int64))


def take_along_dim(x, indices, dim=None):
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    axis = _norm_dim(dim, x._data.ndim, "take_along_dim")
    shape_x = list(x.shape)
    shape_i = list(indices.shape)
    shape_x[axis] = shape_i[axis] = 1
    common = list(np.broadcast_shapes(tuple(shape_x), tuple(shape_i)))
    x_target, i_target = list(common), list(common)
    x_target[axis], i_target[axis] = x.shape[axis], indices.shape[axis]
    return gather(x.expand(*x_target), axis, indices.expand(*i_target))


def argsort(x, dim=-1, descending=False):
    axis = _norm_dim(dim, x._data.ndim, "argsort")
    xp = array_module(x._data)
    data = -x._data if descending and x._data.dtype.kind != "b" else x._data
    idx = xp.argsort(data, axis=axis, kind="stable")
    if descending and x._data.dtype.kind == "b":
        idx = xp.flip(idx, axis)
    return Tensor._wrap(idx.astype(np.int64))


def sort(x, dim=-1, descending=False):
    from nerve.ops.reduce import values_indices

    indices = argsort(x, dim, descending)
    return values_indices(gather(x, _norm_dim(dim, x._data.ndim, "sort"), indices), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):
    from nerve.ops.reduce import values_indices

    axis = _norm_dim(dim, x._data.ndim, "topk")
    n = x._data.shape[axis] if x._data.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for a dim of size {n}")
    order = argsort(x, axis, descending=largest)
    indices = order[(slice(None),) * axis + (slice(0, k),)]
    return values_indices(gather(x, axis, indices), indices)


def nonzero(x, as_tuple=False):
    xp = array_module(x._data)
    idx = xp.nonzero(x._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(xp.stack(idx, axis=1).astype(np.int64))
