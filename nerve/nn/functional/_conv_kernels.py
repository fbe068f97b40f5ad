"""Array kernels of 2-D convolution: im2col through a strided view, then one (batched) GEMM.

Convolution with weight w: (O, C/G, KH, KW), G groups, is, for each group g,

    out[n, o, y, x] = sum_{c, i, j} w[o, c, i, j] xpad[n, c, s y + d i, s x + d j]

Unfolding every window into a column of ``cols`` turns this into a matrix product. Two layouts:

- K-major: cols (G, C/G*KH*KW, N*OH*OW), out = w (G, O/G, K) @ cols. Its copy runs along an output
  row (OW numbers at a time) and its result is stored channels-first (O, N, OH, OW).
- M-major: cols (G, N*OH*OW, KH*KW*C/G), out = cols @ w^T. Its copy runs along KW*C/G numbers of a
  channels-last input and its result is stored channels-last (N, OH, OW, O).

NumPy's copy costs about one inner loop per run, so the layout with the longer runs wins:
K-major when C/G * KW < OW (a first layer on images), M-major otherwise. The result is returned as a
(N, O, OH, OW) view of whichever storage the GEMM produced (no transpose copy).

Backward: dw = g^T @ cols (the same GEMM, transposed); dx scatters g @ w back through the windows,
one strided add per kernel offset ("col2im"), which is KH*KW vectorized adds.

NOTE (measured on LeNet-5, batch 64, one core): a loop of KH*KW small GEMMs instead of im2col is
slower (K = C/G is tiny for early layers); for dx, KH*KW offset-major GEMMs + contiguous adds beat
one GEMM + adds that run C/G numbers at a time by ~3x.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nerve import _kernels, threads
from nerve.device import array_module
from nerve.nn.functional._window import alloc, offset_view, pad2d, physical_order, windows
from nerve.ops.linalg import sum_rows

NCHW, NHWC = [0, 1, 2, 3], [0, 2, 3, 1]
# The direct kernel beats im2col + GEMM where BLAS's side of the product is thin: up to 16 output
# channels per group, C/G * KH * KW up to 300, a kernel wider than 1x1. Measured f+b on the 2-core
# machine (the GEMM on two threads, the kernel on one), batch 8-64: 1.7x-2.2x on LeNet's first
# layer, 1.1x-1.4x at 16 output channels (LeNet's second layer: 1.1x alone, even within a whole
# training step), 2.6x-2.8x depthwise, 0.86x at worst (2 channels in, 14x14); at 32 output
# channels the two come out even, so the GEMM keeps them.
DIRECT_MAX_OUT, DIRECT_MAX_K = 16, 300


def use_kmajor(channels_per_group, kernel_w, out_w) -> bool:
    return channels_per_group * kernel_w < out_w


def _bmm(a, b):
    """a @ b for (G, m, k) @ (G, k, n); one plain GEMM when G == 1."""
    if a.shape[0] == 1 and b.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def im2col(xpad, kernel, out_hw, stride, dilation, groups, kmajor):
    """Columns of padded ``xpad`` (N, C, Hp, Wp): (G, K, M) if ``kmajor`` else (G, M, K)."""
    xp = array_module(xpad)
    n, c = xpad.shape[:2]
    kh, kw = kernel
    oh, ow = out_hw
    win = windows(xpad, kernel, out_hw, stride, dilation)  # (N, C, KH, KW, OH, OW)
    win = win.reshape(n, groups, c // groups, kh, kw, oh, ow)
    k = c // groups * kh * kw
    if kmajor:
        # (G, Cg, KH, KW, N, OH, OW)
        cols = xp.ascontiguousarray(win.transpose(1, 2, 3, 4, 0, 5, 6))
        return cols.reshape(groups, k, n * oh * ow)
    cols = xp.ascontiguousarray(win.transpose(1, 0, 5, 6, 3, 4, 2))  # (G, N, OH, OW, KH, KW, Cg)
    return cols.reshape(groups, n * oh * ow, k)  # sizes spelled out: N may be 0


def _input_layout(x, kmajor):
    """The physical order to unfold ``x`` from: a contiguous output row for K-major, channels-last
    for M-major. Keeps ``x``'s own order when it already suits."""
    order = physical_order(x)
    if kmajor:
        return order if order[-1] == 3 else NCHW
    return NHWC


def full_out_hw(x_shape, w_shape, stride, pads, dilation):
    """(OH, OW): every full window of the padded input."""
    h, w = x_shape[2:]
    kh, kw = w_shape[2:]
    return (
        (h + pads[0] + pads[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1,
        (w + pads[2] + pads[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1,
    )


def conv_forward(x, w, bias, stride, pads, dilation, groups, out_hw=None):
    """out (N, O, OH, OW) of x (N, C, H, W) and w (O, C/G, KH, KW); also the cols and layout that
    the weight gradient needs. ``out_hw`` crops the output (default: every full window)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if out_hw is None:
        out_hw = full_out_hw(x.shape, w.shape, stride, pads, dilation)
    oh, ow = out_hw
    kmajor = use_kmajor(cg, kw, ow)
    xpad = pad2d(x, pads, 0, _input_layout(x, kmajor))
    cols = im2col(xpad, (kh, kw), (oh, ow), stride, dilation, groups, kmajor)
    og = o // groups
    if kmajor:
        out = _bmm(w.reshape(groups, og, -1), cols).reshape(o, n * oh * ow)  # (O, M)
        if bias is not None:
            out += bias[:, None]
        return out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3), cols, kmajor
    w_cols = w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, -1, og)
    out = _bmm(cols, w_cols)  # (G, M, O/G)
    out = out[0] if groups == 1 else out.transpose(1, 0, 2).reshape(n * oh * ow, o)
    if bias is not None:
        out += bias
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2), cols, kmajor


def grad_matrix(g, groups, kmajor):
    """grad_output (N, O, OH, OW) as (G, O/G, M) for K-major or (G, M, O/G) for M-major."""
    n, o, oh, ow = g.shape
    if kmajor:
        return g.transpose(1, 0, 2, 3).reshape(groups, o // groups, n * oh * ow)
    g2 = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, groups, o // groups)
    return g2.transpose(1, 0, 2)


def weight_grad(gm, cols, w_shape, groups, kmajor):
    """dL/dw (O, C/G, KH, KW) from the gradient matrix and the forward's cols."""
    o, cg, kh, kw = w_shape
    if kmajor:
        # NOTE: (cols @ g^T)^T runs ~20% faster in OpenBLAS than g @ cols^T for these thin shapes.
        return _bmm(cols, gm.transpose(0, 2, 1)).transpose(0, 2, 1).reshape(w_shape)
    dw = _bmm(cols.transpose(0, 2, 1), gm)  # (G, KH*KW*Cg, O/G)
    return dw.reshape(groups, kh, kw, cg, o // groups).transpose(0, 4, 3, 1, 2).reshape(w_shape)


def bias_grad(gm, kmajor):
    if kmajor:
        return gm.sum(axis=2).reshape(-1)
    return sum_rows(gm).reshape(-1)  # (G, M, O/G): a sum over the long M axis, as a GEMV


def input_grad(gm, w, in_shape, out_hw, stride, pads, dilation, groups, kmajor):
    """dL/dx (N, C, H, W): the columns g @ w scattered back through the windows (col2im)."""
    xp = array_module(gm)
    n, c, h, wd = in_shape
    o, cg, kh, kw = w.shape
    og = o // groups
    oh, ow = out_hw
    hp, wp = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    if kmajor:
        w_t = w.reshape(groups, og, -1).transpose(0, 2, 1)  # (G, K, O/G)
        dcols = _bmm(w_t, gm).reshape(groups, cg, kh, kw, n, oh, ow)
        dx = alloc((n, groups, cg, hp, wp), gm.dtype, xp, [1, 2, 0, 3, 4], fill=0)
        for i in range(kh):
            for j in range(kw):
                view = offset_view(dx, i, j, out_hw, stride, dilation)  # (N, G, Cg, OH, OW)
                view += dcols[:, :, i, j].transpose(2, 0, 1, 3, 4)
    else:
        # Offset-major columns (KH*KW, G, M, Cg): each kernel offset's slab is contiguous.
        w_k = w.reshape(groups, og, cg, kh * kw).transpose(3, 0, 1, 2)  # (KH*KW, G, O/G, Cg)
        dcols = (gm[None] @ w_k).reshape(kh, kw, groups, n, oh, ow, cg)
        dx = alloc((n, groups, cg, hp, wp), gm.dtype, xp, [0, 3, 4, 1, 2], fill=0)
        for i in range(kh):
            for j in range(kw):
                view = offset_view(dx, i, j, out_hw, stride, dilation)
                view += dcols[i, j].transpose(1, 0, 4, 2, 3)
    dx = dx.reshape(n, c, hp, wp)
    return dx[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + wd]


# ---------------------------------------------------------------- direct convolution (stride 1)
def use_direct(x, w, stride, bias=None) -> bool:
    """Whether the compiled direct convolution (``nerve._kernels``) takes this convolution:
    float32 NumPy arrays with Numba, stride 1, and few channels per group (a first layer on
    images), where im2col would copy each pixel KH*KW times into a thin matrix that BLAS
    multiplies slowly."""
    o, cg, kh, kw = w.shape
    groups = x.shape[1] // cg if cg else 1
    thin = o // groups <= DIRECT_MAX_OUT and cg * kh * kw <= DIRECT_MAX_K
    if stride != (1, 1) or not thin or kh * kw == 1 or not _kernels.usable(x, w):
        return False
    return bias is None or _kernels.usable(bias)


def _round_up(n, block):
    return -(-n // block) * block


def flat_planes(x, pads, kernel_w, dilation_w):
    """``x`` (N, C, H, W) zero-padded by ``pads`` and flattened to planes (N, C, Hp*Wp + tail),
    the tail of (KW - 1) dw zeros letting the last kernel offset read a full row."""
    n, c, h, w = x.shape
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    flat = np.zeros((n, c, hp * wp + (kernel_w - 1) * dilation_w), np.float32)
    planes = flat[:, :, : hp * wp].reshape(n, c, hp, wp)
    planes[:, :, pads[0] : pads[0] + h, pads[2] : pads[2] + w] = x
    return flat


@functools.lru_cache(maxsize=64)
def _tap_offsets(w_shape, dilation, wp, plane):
    """(T,) where tap (c, i, j) of a group starts reading its flat planes, T padded to a multiple
    of 4 with taps at 0 (their weights are 0). Cached: it depends on the sizes alone."""
    cg, kh, kw = w_shape[1:]
    c, i, j = np.meshgrid(np.arange(cg), np.arange(kh), np.arange(kw), indexing="ij")
    offsets = (c * plane + i * dilation[0] * wp + j * dilation[1]).reshape(-1)
    padded = np.zeros(_round_up(offsets.size, 4), np.int64)
    padded[: offsets.size] = offsets
    padded.flags.writeable = False
    return padded


@functools.lru_cache(maxsize=64)
def _kernel_offsets(kernel, dilation, wp):
    """(KH*KW,) = i dh Wp + j dw: where kernel offset (i, j) starts in a flat plane. Cached."""
    i, j = np.meshgrid(np.arange(kernel[0]), np.arange(kernel[1]), indexing="ij")
    offsets = (i * dilation[0] * wp + j * dilation[1]).reshape(-1).astype(np.int64)
    offsets.flags.writeable = False
    return offsets


def _blocked(a, groups, block_out, block_in):
    """(O, T) per-output-channel rows as (G, OGp, Tp): grouped, zero-padded to whole blocks."""
    o, t = a.shape
    og = o // groups
    out = np.zeros((groups, _round_up(og, block_out), _round_up(t, block_in)), np.float32)
    out[:, :og, :t] = a.reshape(groups, og, t)
    return out


_NOT_POOLED = np.zeros((0, 0, 0, 0), np.uint8)


def _run(serial, parallel, batch, *args):
    """A direct-convolution kernel, its images on Numba's threads where there are several and
    another core is free (``nerve.threads.spare_core``); both give the same bits."""
    if batch > 1 and threads.spare_core():
        parallel(*args)
    else:
        serial(*args)


def direct_forward(x, w, bias, pads, dilation, groups, pool=False):
    """out (N, O, OH, OW) of a stride-1 convolution, the flat padded planes that the weight
    gradient reads, and None; or, with ``pool``, out max-pooled by 2 (N, O, OH // 2, OW // 2),
    the planes, and the offset 2 i + j of each window's maximum (uint8)."""
    xflat = flat_planes(x, pads, w.shape[3], dilation[1])
    wp = x.shape[3] + pads[2] + pads[3]
    oh, ow = full_out_hw(x.shape, w.shape, (1, 1), pads, dilation)
    out_hw = (oh // 2, ow // 2) if pool else (oh, ow)
    out = np.empty((x.shape[0], w.shape[0]) + out_hw, np.float32)
    arg = np.empty(out.shape, np.uint8) if pool else _NOT_POOLED
    wq = _blocked(w.reshape(w.shape[0], -1), groups, 2, 4)
    b = np.zeros(w.shape[0], np.float32) if bias is None else bias
    bq = _blocked(b.reshape(-1, 1), groups, 2, 1)[:, :, 0]
    offsets = _tap_offsets(tuple(w.shape), tuple(dilation), wp, xflat.shape[2])
    _run(_kernels.conv_direct_forward, _kernels.conv_direct_forward_parallel, x.shape[0],
         xflat, wq, offsets, bq, wp, oh, out, arg)
    return out, xflat, (arg if pool else None)


def direct_weight_grad(xflat, g, in_shape, w_shape, pads, dilation, groups, need_b, arg=None):
    """(dw, db or None) of ``direct_forward``, from g = dL/dout (N, O, OH, OW), or from the
    gradient of the pooled output and its ``arg``."""
    wp = in_shape[3] + pads[2] + pads[3]
    out_hw = full_out_hw(in_shape, w_shape, (1, 1), pads, dilation)
    o, taps = w_shape[0], math.prod(w_shape[1:])
    dwq = _blocked(np.zeros((o, taps), np.float32), groups, 2, 4)
    db = np.zeros(o if need_b else 0, np.float32)
    offsets = _tap_offsets(tuple(w_shape), tuple(dilation), wp, xflat.shape[2])
    arg = _NOT_POOLED if arg is None else arg
    _run(_kernels.conv_direct_weight_grad, _kernels.conv_direct_weight_grad_parallel, g.shape[0],
         xflat, g, arg, out_hw, offsets, wp, dwq, db)
    dw = dwq[:, : o // groups, :taps].reshape(w_shape)
    return dw, (db if need_b else None)


def direct_input_grad(g, w, in_shape, pads, dilation, groups, arg=None):
    """dL/dx (N, C, H, W) of a stride-1 convolution, from g = dL/dout (N, O, OH, OW), or from
    the gradient of its pooling by 2 and the ``arg`` of ``direct_forward``."""
    n, c, h, wd = in_shape
    o, cg, kh, kw = w.shape
    og = o // groups
    hp, wp = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    out_hw = full_out_hw(in_shape, w.shape, (1, 1), pads, dilation)
    # (G, CGp, KH*KW, OGq): by group, input channel, kernel offset, output channel
    wt = np.zeros((groups, _round_up(cg, 2), kh * kw, _round_up(og, 4)), np.float32)
    wt[:, :cg, :, :og] = w.reshape(groups, og, cg, kh * kw).transpose(0, 2, 3, 1)
    dx = np.empty(in_shape, np.float32)
    plane = hp * wp + (kw - 1) * dilation[1]
    offsets = _kernel_offsets((kh, kw), tuple(dilation), wp)
    arg = _NOT_POOLED if arg is None else arg
    _run(_kernels.conv_direct_input_grad, _kernels.conv_direct_input_grad_parallel, n,
         g, arg, out_hw, wt, offsets, wp, plane, pads[0], pads[2], dx)
    return dx
