"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d.

conv2d: x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) -> (N, O, OH, OW),

    out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c0 + c, s y + d i, s x + d j]

(c0 = the first input channel of o's group)

with OH = floor((H + 2p - d (KH - 1) - 1) / s) + 1. conv_transpose2d is the gradient of conv2d
with respect to its input (weight (C_in, C_out/groups, KH, KW)):
OH = (H - 1) s - 2p + d (KH - 1) + output_padding + 1. The 1-D forms are the 2-D ones with H = 1.

Both are fused primitives (im2col + GEMM, see ``_conv_kernels``); their backward is written on
arrays, so a second derivative through them raises an error.

NOTE: the output is a (N, O, OH, OW) view of the GEMM's result, which may be stored channels-last;
``is_contiguous()`` is then False where PyTorch says True. Every op accepts it; ``.contiguous()``
copies.

    >>> F.conv2d(nerve.randn(8, 3, 32, 32), nerve.randn(16, 3, 3, 3), padding=1).shape
    nerve.Size([8, 16, 32, 32])
"""

from __future__ import annotations

from nerve.autograd.function import Function, once_differentiable
from nerve.nn.functional import _conv_kernels as K
from nerve.tensor import Tensor


class Conv2dFn(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, dilation, groups):
        xd, w = x._data, weight._data
        b = None if bias is None else bias._data
        if K.use_direct(xd, w, stride, b):
            out, planes, _ = K.direct_forward(xd, w, b, pads, dilation, groups)
            if ctx.needs_input_grad:
                ctx.save_for_backward(weight, Tensor._wrap(planes))
                ctx.meta = (xd.shape, pads, dilation, groups, "direct")
            return out
        out, cols, kmajor = K.conv_forward(xd, w, b, stride, pads, dilation, groups)
        if ctx.needs_input_grad:
            # The columns are saved like a tensor, so they are freed once backward has run.
            ctx.save_for_backward(weight, Tensor._wrap(cols) if ctx.needs_input_grad[1] else None)
            ctx.meta = (xd.shape, out.shape[2:], stride, pads, dilation, groups, kmajor)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        weight, saved = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if ctx.meta[-1] == "direct":
            return _direct_grads(ctx, weight, saved, grad, None) + (None,) * 4
        x_shape, out_hw, stride, pads, dilation, groups, kmajor = ctx.meta
        gm = K.grad_matrix(grad._data, groups, kmajor)
        w = weight._data
        dx = dw = db = None
        if need_x:
            dx = K.input_grad(gm, w, x_shape, out_hw, stride, pads, dilation, groups, kmajor)
            dx = Tensor._wrap(dx)
        if need_w:
            dw = Tensor._wrap(K.weight_grad(gm, saved._data, w.shape, groups, kmajor))
        if need_b:
            db = Tensor._wrap(K.bias_grad(gm, kmajor))
        return dx, dw, db, None, None, None, None


class Conv2dMaxPool2Fn(Function):
    """max_pool2d(conv2d(x), 2) as one op, for convolutions that the direct kernel takes: each
    output row is pooled while it is still in cache, so the full-size output is never stored, and
    the backward sends each pooled gradient to its window's maximum inside the same kernels. The
    numbers are those of the two ops in turn."""

    @staticmethod
    def forward(ctx, x, weight, bias, pads, dilation, groups):
        xd, w = x._data, weight._data
        b = None if bias is None else bias._data
        out, planes, arg = K.direct_forward(xd, w, b, pads, dilation, groups, pool=True)
        if ctx.needs_input_grad:
            ctx.save_for_backward(weight, Tensor._wrap(planes), Tensor._wrap(arg))
            ctx.meta = (xd.shape, pads, dilation, groups)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        weight, planes, arg = ctx.saved_tensors
        return _direct_grads(ctx, weight, planes, grad, arg._data) + (None,) * 3


def _direct_grads(ctx, weight, planes, grad, arg):
    """(dx, dw, db), each None where not needed, of a convolution run by the direct kernel
    (pooled by 2 where ``arg`` is given); ctx.meta starts with (x shape, pads, dilation, groups)."""
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    x_shape, pads, dilation, groups = ctx.meta[:4]
    g, w = grad._data, weight._data
    dx = dw = db = None
    if need_x:
        dx = Tensor._wrap(K.direct_input_grad(g, w, x_shape, pads, dilation, groups, arg))
    if need_w or need_b:
        dw, db = K.direct_weight_grad(
            planes._data, g, x_shape, w.shape, pads, dilation, groups, need_b, arg
        )
        dw, db = (Tensor._wrap(dw) if need_w else None), (Tensor._wrap(db) if need_b else None)
    return dx, dw, db


class ConvTranspose2dFn(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, pads, out_hw, dilation, groups):
        xd, w = x._data, weight._data
        n = xd.shape[0]
        kmajor = K.use_kmajor(w.shape[1], w.shape[3], xd.shape[3])
        out_shape = (n, w.shape[1] * groups) + tuple(out_hw)
        gm = K.grad_matrix(xd, groups, kmajor)
        out = K.input_grad(gm, w, out_shape, xd.shape[2:], stride, pads, dilation, groups, kmajor)
        if bias is not None:
            out += bias._data[:, None, None]
        if ctx.needs_input_grad:
            ctx.save_for_backward(x, weight)
            ctx.meta = (stride, pads, dilation, groups)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        stride, pads, dilation, groups = ctx.meta
        xd, w, g = x._data, weight._data, grad._data
        # The backward of a transposed convolution is a convolution of grad_output.
        dx, cols, kmajor = K.conv_forward(g, w, None, stride, pads, dilation, groups, xd.shape[2:])
        dw = db = None
        if need_w:
            gm = K.grad_matrix(xd, groups, kmajor)
            dw = Tensor._wrap(K.weight_grad(gm, cols, w.shape, groups, kmajor))
        if need_b:
            db = Tensor._wrap(g.sum(axis=(0, 2, 3)))
        return (Tensor._wrap(dx) if need_x else None), dw, db, None, None, None, None, None


# ---------------------------------------------------------------------------- argument checks
def _tuple(value, n, name, op, minimum):
    """An int or a sequence of ``n`` ints, each >= ``minimum``, as an ``n``-tuple."""
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    ok = isinstance(items, (tuple, list)) and len(items) == n
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if not ok or any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{op}: {name} must be a {what} int or a tuple of {n} {what} ints, got {value!r}"
        )
    return tuple(items)


def _shape_names(nd):
    return ("L",) if nd == 1 else ("H", "W")


def _check_tensors(op, x, weight, bias, nd, in_channels, out_channels, weight_doc):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{op}: expected weight of shape {weight_doc}, got {got}")
    spatial = ", ".join(_shape_names(nd))
    if x.ndim not in (nd + 1, nd + 2) or x.shape[-nd - 1] != in_channels:
        raise ValueError(
            f"{op}: expected input of shape (N, {in_channels}, {spatial}) or "
            f"({in_channels}, {spatial}), got {tuple(x.shape)}"
        )
    if x._data.dtype.kind != "f" or x._data.dtype != weight._data.dtype:
        raise TypeError(
            f"{op}: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
            "convert the input with .to(weight.dtype)"
        )
    if type(x._data) is not type(weight._data):
        raise RuntimeError(f"{op}: input is on {x.device} but weight is on {weight.device}")
    if bias is not None:
        if not isinstance(bias, Tensor) or tuple(bias.shape) != (out_channels,):
            got = tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__
            raise ValueError(f"{op}: expected bias of shape ({out_channels},), got {got}")
        if bias._data.dtype != weight._data.dtype:
            raise TypeError(f"{op}: bias dtype {bias.dtype} does not match weight {weight.dtype}")


def _check_groups(op, groups, channels, name):
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels % groups:
        raise ValueError(f"{op}: {name} ({channels}) must be divisible by groups ({groups})")


def _pads(op, padding, nd, kernel, stride, dilation):
    """(top, bottom, left, right) from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            per_dim = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=False)]
            per_dim = [(t // 2, t - t // 2) for t in totals]  # extra on the right, as PyTorch
        else:
            raise ValueError(
                f"{op}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}"
            )
    else:
        per_dim = [(p, p) for p in _tuple(padding, nd, "padding", op, 0)]
    if nd == 1:
        per_dim = [(0, 0)] + per_dim
    return per_dim[0] + per_dim[1]


def _lift(x, nd, batched):
    """x as (N, C, H, W): a batch dim for unbatched input, H = 1 for 1-D."""
    if not batched:
        x = x.unsqueeze(0)
    return x.unsqueeze(2) if nd == 1 else x


def _lower(out, nd, batched):
    if nd == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


# ---------------------------------------------------------------------------- public functions
def _conv(op, nd, x, weight, bias, stride, padding, dilation, groups, pool2=False):
    """The checked convolution; with ``pool2`` (2-D), max_pool2d(conv2d(x), 2) as one fused op
    where the direct kernel takes the convolution, and None where it does not."""
    _check_groups(op, groups, weight.shape[0] if isinstance(weight, Tensor) else 0, "out_channels")
    in_channels = weight.shape[1] * groups if isinstance(weight, Tensor) else 0
    names = ", ".join(f"k{n}" for n in _shape_names(nd))
    _check_tensors(
        op,
        x,
        weight,
        bias,
        nd,
        in_channels,
        weight.shape[0] if isinstance(weight, Tensor) else 0,
        f"(out_channels, in_channels/groups, {names})",
    )
    stride = _tuple(stride, nd, "stride", op, 1)
    dilation = _tuple(dilation, nd, "dilation", op, 1)
    kernel = tuple(weight.shape[2:])
    pads = _pads(op, padding, nd, kernel, stride, dilation)
    spatial = tuple(x.shape[-nd:])
    pad_pairs = (pads[0:2], pads[2:4])[-nd:]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pad_pairs, strict=False))
    dilated = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=False))
    if any(k > p for k, p in zip(dilated, padded, strict=False)):
        raise ValueError(
            f"{op}: kernel size {dilated} (after dilation) is larger than the padded input "
            f"{padded} (input {spatial} + padding)"
        )
    batched = x.ndim == nd + 2
    x4, w4 = _lift(x, nd, batched), (weight.unsqueeze(2) if nd == 1 else weight)
    if nd == 1:
        stride, dilation = (1,) + stride, (1,) + dilation
    if pool2:
        fits = batched and K.use_direct(x4._data, w4._data, stride, _data(bias))
        if fits and min(K.full_out_hw(x4.shape, w4.shape, stride, pads, dilation)) >= 2:
            return Conv2dMaxPool2Fn.apply(x4, w4, bias, pads, dilation, groups)
        return None
    return _lower(Conv2dFn.apply(x4, w4, bias, stride, pads, dilation, groups), nd, batched)


def _data(t):
    return None if t is None else t._data


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution. input: (N, C, L) or (C, L); weight: (O, C/groups, K); bias: (O,)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution. input: (N, C, H, W) or (C, H, W); weight: (O, C/groups, KH, KW); bias: (O,).
    ``padding``: int, pair, 'valid' (none) or 'same' (output size = input size; stride 1)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    in_channels = weight.shape[0] if isinstance(weight, Tensor) else 0
    _check_groups(op, groups, in_channels, "in_channels")
    out_channels = weight.shape[1] * groups if isinstance(weight, Tensor) else 0
    names = ", ".join(f"k{n}" for n in _shape_names(nd))
    _check_tensors(
        op,
        x,
        weight,
        bias,
        nd,
        in_channels,
        out_channels,
        f"(in_channels, out_channels/groups, {names})",
    )
    stride = _tuple(stride, nd, "stride", op, 1)
    dilation = _tuple(dilation, nd, "dilation", op, 1)
    padding = _tuple(padding, nd, "padding", op, 0)
    output_padding = _tuple(output_padding, nd, "output_padding", op, 0)
    for op_, s, d in zip(output_padding, stride, dilation, strict=False):
        if op_ >= s and op_ >= d:
            raise ValueError(
                f"{op}: output_padding must be smaller than stride or dilation, got "
                f"output_padding {output_padding}, stride {stride}, dilation {dilation}"
            )
    kernel = tuple(weight.shape[2:])
    spatial = tuple(x.shape[-nd:])
    out_hw = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            spatial, stride, padding, dilation, kernel, output_padding, strict=False
        )
    )
    if any(n <= 0 for n in out_hw):
        raise ValueError(f"{op}: the output size {out_hw} is not positive (input {spatial})")
    if nd == 1:
        stride, dilation, padding, out_hw = (
            (1,) + stride,
            (1,) + dilation,
            (0,) + padding,
            (1,) + out_hw,
        )
    pads = (padding[0], padding[0], padding[1], padding[1])
    batched = x.ndim == nd + 2
    x4, w4 = _lift(x, nd, batched), (weight.unsqueeze(2) if nd == 1 else weight)
    out = ConvTranspose2dFn.apply(x4, w4, bias, stride, pads, out_hw, dilation, groups)
    return _lower(out, nd, batched)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """1-D transposed convolution. input: (N, C_in, L); weight: (C_in, C_out/groups, K)."""
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """2-D transposed convolution (the gradient of conv2d with respect to its input).
    input: (N, C_in, H, W); weight: (C_in, C_out/groups, KH, KW); bias: (C_out,)."""
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]
