"""Shape ops: reshape, permute, expand, cat, split, flip, roll, pad, tril/triu, repeat.

Each backward is the inverse movement of the gradient (reshape back, inverse permutation, sum over
expanded dims, slice the concatenation apart), itself made of these ops, so it differentiates again.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.device import array_module
from nerve.tensor import Tensor, _norm_dim


def _shape_arg(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
        out.append(int(s))
    return tuple(out)


# ---------------------------------------------------------------------------- primitives
class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return array_module(x._data).transpose(x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(*np.argsort(ctx.dims).tolist()), None


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return array_module(x._data).broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape), None


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *tensors):
        ctx.axis = axis
        ctx.sizes = [t._data.shape[axis] for t in tensors]
        return array_module(tensors[0]._data).concatenate([t._data for t in tensors], axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(grad.split(ctx.sizes, ctx.axis))


class Split(Function):
    @staticmethod
    def forward(ctx, x, sizes, axis):
        ctx.axis = axis
        bounds = np.cumsum(sizes)[:-1].tolist()
        return tuple(array_module(x._data).split(x._data, bounds, axis=axis))

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.axis), None, None


class Flip(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return array_module(x._data).flip(x._data, axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.axes), None


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.meta = (shifts, axes)
        return array_module(x._data).roll(x._data, shifts, axes)

    @staticmethod
    def backward(ctx, grad):
        shifts, axes = ctx.meta
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return grad.roll(neg, axes), None, None


class ConstantPad(Function):
    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x._data.shape))
        return array_module(x._data).pad(x._data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.slices], None, None


class Triangle(Function):
    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.meta = (diagonal, upper)
        xp = array_module(x._data)
        return (xp.triu if upper else xp.tril)(x._data, diagonal)

    @staticmethod
    def backward(ctx, grad):
        diagonal, upper = ctx.meta
        return (grad.triu(diagonal) if upper else grad.tril(diagonal)), None, None


# ---------------------------------------------------------------------------- public functions
def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (undo broadcasting): the one place gradients are un-broadcast."""
    shape = tuple(shape)
    xs = x._data.shape
    if xs == shape:
        return x
    lead = len(xs) - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {xs} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and xs[i + lead] != 1
    )
    out = x.sum(axes, keepdim=True) if axes else x
    return out.reshape(shape) if out._data.shape != shape else out


def reshape(x, *shape):
    shape = _shape_arg(shape, "reshape")
    if x._data.shape == shape:
        return x
    size = x._data.size
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    if shape.count(-1) > 1 or (-1 not in shape and known != size) or (
        -1 in shape and (known == 0 or size % known)
    ) or any(s < -1 for s in shape):
        raise RuntimeError(
            f"reshape: shape {list(shape)} is invalid for a tensor of shape {tuple(x.shape)} "
            f"({size} elements)"
        )
    return Reshape.apply(x, shape)


def view(x, *shape):
    """Like reshape; NOTE: where PyTorch refuses a view of non-contiguous memory, nerve copies."""
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    nd = x._data.ndim
    if nd == 0:
        return x.reshape(1)
    s, e = _norm_dim(start_dim, nd, "flatten"), _norm_dim(end_dim, nd, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x._data.shape
    return x.reshape(shape[:s] + (-1 if 0 not in shape else int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def unflatten(x, dim, sizes):
    d = _norm_dim(dim, x._data.ndim, "unflatten")
    shape = x._data.shape
    return x.reshape(shape[:d] + tuple(sizes) + shape[d + 1:])


def squeeze(x, dim=None):
    shape = x._data.shape
    if dim is None:
        return x.reshape(tuple(s for s in shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = {_norm_dim(d, x._data.ndim, "squeeze") for d in dims}
    return x.reshape(tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1)))


def unsqueeze(x, dim):
    nd = x._data.ndim + 1
    d = _norm_dim(dim, nd, "unsqueeze")
    shape = x._data.shape
    return x.reshape(shape[:d] + (1,) + shape[d:])


def permute(x, *dims):
    dims = _shape_arg(dims, "permute")
    nd = x._data.ndim
    if len(dims) != nd:
        raise ValueError(f"permute: expected {nd} dims for a tensor of shape {tuple(x.shape)}, got {dims}")
    dims = tuple(_norm_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise ValueError(f"permute: dims {dims} repeat a dimension")
    if dims == tuple(range(nd)):
        return x
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    nd = x._data.ndim
    if nd < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = _norm_dim(dim0, nd, "transpose"), _norm_dim(dim1, nd, "transpose")
    dims = list(range(nd))
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, *dims)


def t(x):
    if x._data.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}; use .mT")
    return transpose(x, 0, 1) if x._data.ndim == 2 else x


def expand(x, *sizes):
    sizes = _shape_arg(sizes, "expand")
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor with {len(shape)} dims")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        old = shape[i - lead] if i >= lead else None
        if s == -1:
            if old is None:
                raise ValueError("expand: -1 is not allowed for a new leading dim")
            s = old
        if old is not None and old != 1 and old != s:
            raise ValueError(
                f"expand: the size {old} of dim {i - lead} of shape {tuple(shape)} cannot be "
                f"expanded to {s} (target {tuple(sizes)}): only size-1 dims expand"
            )
        target.append(s)
    target = tuple(target)
    if target == shape:
        return x
    return Expand.apply(x, target)


def broadcast_to(x, shape):
    return expand(x, *shape)


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, *shape) for t in tensors)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    if any(not isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: expected a list of Tensors")
    ref = max(tensors, key=lambda t: t._data.ndim)
    axis = _norm_dim(dim, ref._data.ndim, "cat")
    # PyTorch skips 1-D empty tensors in cat (legacy behaviour).
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    for i, t in enumerate(tensors):
        if t._data.ndim != ref._data.ndim or any(
            a != b for k, (a, b) in enumerate(zip(t._data.shape, ref._data.shape)) if k != axis
        ):
            raise ValueError(
                f"cat: tensor {i} has shape {tuple(t.shape)}, which does not match "
                f"{tuple(ref.shape)} outside dim {axis}"
            )
    if len({t._data.dtype for t in tensors}) > 1:
        from nerve import _dtype
        from nerve.ops.elementwise import cast

        dt = tensors[0]._data.dtype  # PyTorch's promotion (int64 + float32 -> float32)
        for t in tensors[1:]:
            dt = _dtype.promote(dt, 1, t._data.dtype, 1)
        tensors = [t if t._data.dtype == dt else cast(t, dt) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return Cat.apply(axis, *tensors)


concatenate = concat = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: expects tensors of one shape, got {sorted(shapes)}")
    axis = _norm_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(axis) for t in tensors], axis)


def split(x, split_size_or_sections, dim=0):
    axis = _norm_dim(dim, x._data.ndim, "split")
    n = x._data.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [step] * (n // step) + ([n % step] if n % step else [])
        sizes = sizes or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to the dim's size {n}")
    if len(sizes) == 1:
        return (x,)
    return Split.apply(x, sizes, axis)


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = _norm_dim(dim, x._data.ndim, "chunk")
    n = x._data.shape[axis]
    step = -(-n // chunks) if n else 1
    return split(x, step, axis)


def unbind(x, dim=0):
    axis = _norm_dim(dim, x._data.ndim, "unbind")
    return tuple(p.squeeze(axis) for p in split(x, 1, axis))


def flip(x, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(_norm_dim(d, x._data.ndim, "flip") for d in dims)
    return Flip.apply(x, axes)


def roll(x, shifts, dims=None):
    if dims is None:
        return Roll.apply(x.reshape(-1), shifts, None).reshape(x.shape)
    if isinstance(dims, int):
        dims, shifts = (dims,), (shifts,)
    axes = tuple(_norm_dim(d, x._data.ndim, "roll") for d in dims)
    return Roll.apply(x, tuple(shifts), axes)


def tril(x, diagonal=0):
    if x._data.ndim < 2:
        raise ValueError(f"tril: expects at least 2 dims, got shape {tuple(x.shape)}")
    return Triangle.apply(x, diagonal, False)


def triu(x, diagonal=0):
    if x._data.ndim < 2:
        raise ValueError(f"triu: expects at least 2 dims, got shape {tuple(x.shape)}")
    return Triangle.apply(x, diagonal, True)


def repeat(x, *sizes):
    """Tile ``x`` ``sizes[i]`` times along dim i (PyTorch's ``repeat``, NumPy's ``tile``)."""
    sizes = _shape_arg(sizes, "repeat")
    if len(sizes) < x._data.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes given for a tensor with {x.ndim} dims")
    shape = (1,) * (len(sizes) - x._data.ndim) + x._data.shape
    # (s0, s1) -> (1, s0, 1, s1) -> expand to (r0, s0, r1, s1) -> (r0*s0, r1*s1)
    inter = [d for s in shape for d in (1, s)]
    target = [d for r, s in zip(sizes, shape) for d in (r, s)]
    return x.reshape(inter).expand(*target).reshape([r * s for r, s in zip(sizes, shape)])


def tile(x, *dims):
    dims = _shape_arg(dims, "tile")
    dims = (1,) * (x._data.ndim - len(dims)) + dims
    return repeat(x, *dims)


def pad(x, pad, mode="constant", value=0.0):
    """Pad the last dims: ``pad = (left, right)`` for the last dim, then ``(top, bottom)``, ...
    Modes: ``constant`` (with ``value``), ``reflect``, ``replicate``, ``circular``."""
    if len(pad) % 2 or len(pad) // 2 > x._data.ndim:
        raise ValueError(
            f"pad: expected pairs of widths for at most {x.ndim} dims, got {tuple(pad)}"
        )
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative widths are not supported, got {tuple(pad)}")
    nd = x._data.ndim
    widths = [(0, 0)] * nd
    for i in range(len(pad) // 2):
        widths[nd - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        return ConstantPad.apply(x, tuple(widths), value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular, got {mode!r}")
    out = x
    for axis, (lo, hi) in enumerate(widths):
        if lo == hi == 0:
            continue
        n = x._data.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(
                f"pad: reflect padding ({lo}, {hi}) must be smaller than the dim's size {n}"
            )
        positions = np.arange(-lo, n + hi)
        if mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            positions = np.abs(positions) % period
            positions = np.where(positions >= n, period - positions, positions)
        elif mode == "replicate":
            positions = np.clip(positions, 0, n - 1)
        else:
            positions = positions % n
        index = Tensor._wrap(array_module(x._data).asarray(positions.astype(np.int64)))
        out = out.index_select(axis, index)
    return out
