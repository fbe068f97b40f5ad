"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool2d.

For x (N, C, H, W), kernel k, stride s (default k), padding p, dilation d:

    max_pool2d(x)[n, c, y, x] = max_{i, j} xpad[n, c, s y + d i, s x + d j]      (xpad: -inf border)
    avg_pool2d(x)[n, c, y, x] = sum_{i, j} xpad[n, c, s y + i, s x + j] / count   (xpad: 0 border)

with OH = floor((H + 2p - d (k - 1) - 1) / s) + 1 (ceil with ``ceil_mode``, dropping a last window
that would start in the right padding). ``count`` is k*k, or with ``count_include_pad=False`` the
number of real input pixels under the window.

Max and average pooling are fused primitives: one vectorized pass per kernel offset (k*k passes
over the output, never a loop over pixels). Max pooling remembers which offset won (the first
maximum, as PyTorch) and routes the gradient there; NaN wins over any number. Adaptive pooling
with sizes that divide evenly is a plain pooling; otherwise the average is two matrix products
(rows, then columns) and the maximum a gather of the padded windows.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function, once_differentiable
from nerve.device import array_module
from nerve.nn.functional._window import (
    alloc,
    offset_view,
    pad2d,
    physical_order,
    same_layout,
)
from nerve.tensor import Tensor


def _offsets(kernel):
    return [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]


class MaxPool2dFn(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, out_hw, return_indices):
        xd = x._data
        xp = array_module(xd)
        xpad = pad2d(xd, pads, -xp.inf)
        views = [offset_view(xpad, i, j, out_hw, stride, dilation) for i, j in _offsets(kernel)]
        best, arg = _max_and_arg(xp, views, catch_nan=False)
        if best.size and xp.isnan(best.max()):  # NaN wins (and keeps its index), as PyTorch
            best, arg = _max_and_arg(xp, views, catch_nan=True)
        if ctx.needs_input_grad:
            ctx.save_for_backward(Tensor._wrap(arg))  # freed once backward has run
            ctx.meta = (
                xd.shape,
                xpad.shape,
                physical_order(xpad),
                kernel,
                stride,
                pads,
                dilation,
                out_hw,
            )
        if not return_indices:
            return best
        return best, _flat_indices(xp, arg, kernel, stride, pads, dilation, out_hw, xd.shape[3])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, *unused):
        x_shape, pad_shape, order, kernel, stride, pads, dilation, out_hw = ctx.meta
        arg = ctx.saved_tensors[0]._data
        g = _in_order(grad._data, physical_order(arg))
        xp = array_module(g)
        disjoint = all(
            s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel, strict=False)
        )
        covered = disjoint and all(
            s == k and o * s == n
            for s, k, o, n in zip(stride, kernel, out_hw, pad_shape[2:], strict=False)
        )
        dx = alloc(pad_shape, g.dtype, xp, order, fill=None if covered else 0)
        for k, (i, j) in enumerate(_offsets(kernel)):
            view = offset_view(dx, i, j, out_hw, stride, dilation)
            if disjoint:  # each input pixel is read by one window at most: write, don't add
                xp.multiply(g, arg == k, out=view)
            else:
                view += g * (arg == k)
        h, w = x_shape[2:]
        return Tensor._wrap(dx[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + w]), *[None] * 6


def _max_and_arg(xp, views, catch_nan):
    """Elementwise max over the offset views, and the index of the first view that holds it."""
    best = views[0].copy(order="K")
    index_dtype = xp.uint8 if len(views) < 256 else xp.int32
    arg = xp.zeros_like(best, dtype=index_dtype)
    for k, view in enumerate(views[1:], start=1):
        better = view > best  # strictly: the first maximum keeps the index, as PyTorch
        if catch_nan:
            better |= xp.isnan(view)
        xp.maximum(best, view, out=best)
        # NOTE: k grows through the loop, so max(arg, k * better) sets arg = k where better;
        # this is ~100x faster than where(better, k, arg) in NumPy.
        xp.maximum(arg, better.astype(index_dtype) * index_dtype(k), out=arg)
    return best, arg


def _in_order(a, order):
    """``a`` stored in physical ``order``: the k*k passes of a backward then read and write
    memory in the same order (mixed orders make each pass several times slower)."""
    if same_layout(a, order):
        return a
    out = alloc(a.shape, a.dtype, array_module(a), order)
    out[...] = a
    return out


def _flat_indices(xp, arg, kernel, stride, pads, dilation, out_hw, width):
    """PyTorch's ``return_indices``: the winner's position as a flat index into its H*W plane."""
    rows = np.arange(out_hw[0]) * stride[0] - pads[0]
    cols = np.arange(out_hw[1]) * stride[1] - pads[2]
    base = xp.asarray(rows[:, None] * width + cols[None, :])
    arg = arg.astype(np.int64)
    return base + (arg // kernel[1]) * (dilation[0] * width) + (arg % kernel[1]) * dilation[1]


class AvgPool2dFn(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, pads, out_hw, divisor):
        xd = x._data
        xp = array_module(xd)
        xpad = pad2d(xd, pads, 0)
        views = [offset_view(xpad, i, j, out_hw, stride, (1, 1)) for i, j in _offsets(kernel)]
        total = views[0].copy(order="K")
        for view in views[1:]:
            total += view
        scale = xp.asarray(1.0 / divisor, dtype=xd.dtype)
        total *= scale
        if ctx.needs_input_grad:
            ctx.scale = scale
            ctx.meta = (xd.shape, xpad.shape, physical_order(xpad), kernel, stride, pads, out_hw)
        return total

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x_shape, pad_shape, order, kernel, stride, pads, out_hw = ctx.meta
        xp = array_module(grad._data)
        g = _in_order(grad._data, order) * ctx.scale
        dx = alloc(pad_shape, g.dtype, xp, order, fill=0)
        for i, j in _offsets(kernel):
            view = offset_view(dx, i, j, out_hw, stride, (1, 1))
            view += g
        h, w = x_shape[2:]
        return Tensor._wrap(dx[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + w]), *[None] * 5


# ---------------------------------------------------------------------------- argument handling
def _tuple(value, n, name, op, minimum):
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    ok = isinstance(items, (tuple, list)) and len(items) == n
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if not ok or any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{op}: {name} must be a {what} int or a tuple of {n} {what} ints, got {value!r}"
        )
    return tuple(items)


def _check_input(op, x, nd):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    spatial = "L" if nd == 1 else "H, W"
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected input of shape (N, C, {spatial}) or (C, {spatial}), "
            f"got {tuple(x.shape)}"
        )
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")


def _out_size(op, size, pad, kernel, stride, dilation, ceil_mode):
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the right padding
    if out < 1:
        raise ValueError(
            f"{op}: kernel size {dilation * (kernel - 1) + 1} (after dilation) is larger than the "
            f"padded input {size + 2 * pad} (input {size} + padding)"
        )
    return out


def _geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, dilation, pads (top, bottom, left, right), out_hw, all as 2-D."""
    kernel = _tuple(kernel_size, nd, "kernel_size", op, 1)
    stride = kernel if stride is None or stride == () else _tuple(stride, nd, "stride", op, 1)
    padding = _tuple(padding, nd, "padding", op, 0)
    dilation = _tuple(dilation, nd, "dilation", op, 1)
    for p, k, d in zip(padding, kernel, dilation, strict=False):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(
                f"{op}: padding must be at most half of the (dilated) kernel size, got padding "
                f"{padding} for kernel_size {kernel}"
            )
    sizes = tuple(x.shape[-nd:])
    out = tuple(
        _out_size(op, *a, ceil_mode)
        for a in zip(sizes, padding, kernel, stride, dilation, strict=False)
    )
    if nd == 1:
        kernel, stride, padding, dilation, sizes, out = (
            (1,) + kernel,
            (1,) + stride,
            (0,) + padding,
            (1,) + dilation,
            (1,) + sizes,
            (1,) + out,
        )
    # With ceil_mode the last window may reach past the padding: pad further on the right.
    pads = []
    for n, p, k, s, d, o in zip(sizes, padding, kernel, stride, dilation, out, strict=False):
        pads += [p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)]
    return kernel, stride, dilation, tuple(pads), out, sizes, padding


def _lift(x, nd):
    batched = x.ndim == nd + 2
    x = x if batched else x.unsqueeze(0)
    return (x.unsqueeze(2) if nd == 1 else x), batched


def _lower(t, nd, batched):
    t = t.squeeze(2) if nd == 1 else t
    return t if batched else t.squeeze(0)


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(op, x, nd)
    kernel, stride, dilation, pads, out_hw, _, _ = _geometry(
        op, x, nd, kernel_size, stride, padding, dilation, ceil_mode
    )
    x4, batched = _lift(x, nd)
    result = MaxPool2dFn.apply(x4, kernel, stride, pads, dilation, out_hw, bool(return_indices))
    if return_indices:
        return _lower(result[0], nd, batched), _lower(result[1], nd, batched)
    return _lower(result, nd, batched)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max pooling over L of input (N, C, L) or (C, L)."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max pooling over (H, W) of input (N, C, H, W) or (C, H, W); with ``return_indices`` also
    the flat H*W index of each maximum (int64)."""
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_divisor(sizes, padding, kernel, stride, pads, out_hw, count_include_pad):
    """(OH, OW) numbers each window's sum is divided by, as PyTorch counts them."""
    counts = []
    for n, p, k, s, o in zip(sizes, padding, kernel, stride, out_hw, strict=False):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1])


def _avg_pool(
    op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=None
):
    _check_input(op, x, nd)
    kernel, stride, _, pads, out_hw, sizes, padding = _geometry(
        op, x, nd, kernel_size, stride, padding, 1, ceil_mode
    )
    if divisor_override is not None:
        if (
            isinstance(divisor_override, bool)
            or not isinstance(divisor_override, int)
            or (divisor_override <= 0)
        ):
            raise ValueError(
                f"{op}: divisor_override must be a positive int, got {divisor_override!r}"
            )
        divisor = float(divisor_override)
    else:
        divisor = _avg_divisor(sizes, padding, kernel, stride, pads, out_hw, count_include_pad)
        divisor = (
            float(divisor.flat[0])
            if (divisor == divisor.flat[0]).all()
            else (array_module(x._data).asarray(divisor, dtype=x._data.dtype))
        )
    x4, batched = _lift(x, nd)
    return _lower(AvgPool2dFn.apply(x4, kernel, stride, pads, out_hw, divisor), nd, batched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling over L of input (N, C, L) or (C, L)."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad
    )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Average pooling over (H, W) of input (N, C, H, W) or (C, H, W)."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


# ---------------------------------------------------------------------------- adaptive pooling
def _adaptive_sizes(op, x, nd, output_size):
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        output_size = (output_size,) * nd
    if not isinstance(output_size, (tuple, list)) or len(output_size) != nd:
        raise ValueError(
            f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}"
        )
    sizes = tuple(x.shape[-nd:])
    out = tuple(n if o is None else o for o, n in zip(output_size, sizes, strict=False))
    if any(isinstance(o, bool) or not isinstance(o, int) or o <= 0 for o in out):
        raise ValueError(
            f"{op}: output_size must hold positive ints (or None), got {output_size!r}"
        )
    return sizes, out


def _bins(n, o):
    """PyTorch's adaptive windows: bin i covers [floor(i n / o), ceil((i + 1) n / o))."""
    start = [(i * n) // o for i in range(o)]
    end = [-((-(i + 1) * n) // o) for i in range(o)]
    return start, end


def _average_matrix(n, o, dtype):
    """(o, n) matrix whose row i averages bin i."""
    start, end = _bins(n, o)
    m = np.zeros((o, n), dtype)
    for i, (a, b) in enumerate(zip(start, end, strict=False)):
        m[i, a:b] = 1.0 / (b - a)
    return m


def _adaptive_avg(op, nd, x, output_size):
    _check_input(op, x, nd)
    sizes, out = _adaptive_sizes(op, x, nd, output_size)
    dims = tuple(range(-nd, 0))
    if all(o == 1 for o in out):
        return x.mean(dim=dims, keepdim=True)
    if all(n % o == 0 for n, o in zip(sizes, out, strict=False)):
        kernel = tuple(n // o for n, o in zip(sizes, out, strict=False))
        return _avg_pool(op, nd, x, kernel, kernel, 0, False, True)
    xp = array_module(x._data)
    dtype = x._data.dtype
    # out = A_h x A_w^T: the average over each bin, a rows pass then a columns pass.
    a_w = Tensor._wrap(xp.asarray(_average_matrix(sizes[-1], out[-1], dtype).T))
    y = x @ a_w
    if nd == 2:
        a_h = Tensor._wrap(xp.asarray(_average_matrix(sizes[0], out[0], dtype)))
        y = a_h @ y
    return y


def adaptive_avg_pool1d(input, output_size):
    """Average over PyTorch's adaptive bins of L: (N, C, L) -> (N, C, output_size)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average over adaptive bins: (N, C, H, W) -> (N, C, OH, OW); bin i of H covers
    [floor(i H / OH), ceil((i + 1) H / OH))."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


class AdaptiveMaxPool2dFn(Function):
    """Max over uneven bins: gather each bin's pixels, padded to the largest bin with -inf."""

    @staticmethod
    def forward(ctx, x, out_hw, return_indices):
        xd = x._data
        xp = array_module(xd)
        n, c, h, w = xd.shape
        rows, row_ok = _bin_table(h, out_hw[0])  # (OH, kh)
        cols, col_ok = _bin_table(w, out_hw[1])  # (OW, kw)
        flat = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(-1)  # (OH*OW*kh*kw,)
        valid = (row_ok[:, None, :, None] & col_ok[None, :, None, :]).reshape(-1)
        planes = xd.reshape(n, c, h * w)
        win = planes[:, :, xp.asarray(flat)].reshape(n, c, out_hw[0] * out_hw[1], -1)
        win = xp.where(xp.asarray(valid.reshape(win.shape[2:])), win, -xp.inf)
        nan = xp.isnan(win)
        win = xp.where(nan, xp.inf, win) if bool(nan.any()) else win  # NaN wins, as PyTorch
        arg = win.argmax(axis=-1)  # (N, C, OH*OW): the first maximum of each bin
        index = xp.asarray(flat.reshape(win.shape[2], -1))[xp.arange(win.shape[2]), arg]
        best = xp.take_along_axis(planes, index, axis=2).reshape(n, c, *out_hw)
        if ctx.needs_input_grad:
            ctx.index = index
            ctx.x_shape = xd.shape
        if not return_indices:
            return best
        return best, index.astype(np.int64).reshape(n, c, *out_hw)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, *unused):
        n, c, h, w = ctx.x_shape
        xp = array_module(grad._data)
        dx = xp.zeros((n, c, h * w), grad._data.dtype)
        g = grad._data.reshape(n, c, -1)
        # NOTE: bins of adaptive pooling overlap, so one pixel may win twice: accumulate.
        nc = xp.arange(n * c)[:, None]
        xp.add.at(
            dx.reshape(n * c, h * w), (nc, ctx.index.reshape(n * c, -1)), g.reshape(n * c, -1)
        )
        return Tensor._wrap(dx.reshape(n, c, h, w)), None, None


def _bin_table(n, o):
    """(o, kmax) pixel indices of each adaptive bin, clipped, and which of them are real."""
    start, end = _bins(n, o)
    width = max(b - a for a, b in zip(start, end, strict=False))
    idx = np.array(start)[:, None] + np.arange(width)[None, :]
    ok = idx < np.array(end)[:, None]
    return np.minimum(idx, n - 1), ok


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive bins: (N, C, H, W) -> (N, C, OH, OW) (bins as adaptive_avg_pool2d)."""
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices)


def _adaptive_max(op, input, output_size, return_indices):
    _check_input(op, input, 2)
    sizes, out = _adaptive_sizes(op, input, 2, output_size)
    if all(n % o == 0 for n, o in zip(sizes, out, strict=False)):
        kernel = tuple(n // o for n, o in zip(sizes, out, strict=False))
        return _max_pool(op, 2, input, kernel, kernel, 0, 1, False, return_indices)
    x4, batched = _lift(input, 2)
    result = AdaptiveMaxPool2dFn.apply(x4, out, bool(return_indices))
    if return_indices:
        return _lower(result[0], 2, batched), _lower(result[1], 2, batched)
    return _lower(result, 2, batched)


__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
]
