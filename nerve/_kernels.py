"""Compiled CPU kernels for the elementwise hot spots that NumPy runs slowest (optional: Numba).

NumPy's float32 ``exp`` and ``tanh`` cost about 3.6 and 7 ns per element on the 2-core machine
the benchmarks run on (a vectorized exp costs a fraction of a nanosecond), and a cell of gate math
written as NumPy calls makes ten or more passes over memory. These kernels do the same math in one
loop per element, with ``exp`` written out as the classic range reduction (Cody and Waite):

    e^v = 2^k e^r,   k = round(v / ln 2),   r = v - k ln 2 (|r| <= ln 2 / 2),

e^r by its degree-6 Taylor polynomial and 2^k put into the exponent bits: relative error below
1e-6 over float32's range (a few ulps; up to about 8 near e^-87). sigma(z) = 1 / (1 + e^-z) and tanh(z) = 2 sigma(2z) - 1 follow.

They run when Numba is installed (``pip install nerve[fast]``; ``make`` installs it) on float32
NumPy arrays; everything else (float64, CuPy arrays, no Numba, or ``NERVE_NUMBA=0`` in the
environment) takes the NumPy code beside each call, which is also what the tests compare with.
"""

from __future__ import annotations

import ctypes
import os
import types

import numpy as np

try:  # pragma: no branch
    import numba
except ImportError:  # pragma: no cover - Numba is an optional extra
    numba = None

enabled = numba is not None and os.environ.get("NERVE_NUMBA", "1") != "0"

# The files whose compiled kernels Numba caches (in __pycache__ beside them).
_KERNEL_FILES = ("_kernels.py", "_lstm_kernels.py", "_lstm_tasks.py")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _forget_stale_compiled_code(folder=_HERE):
    """Numba's cache knows a compiled function by its own file's time stamp, not by the files of
    the functions it calls: an LSTM kernel (``_lstm_kernels.py``) that calls ``_sigmoid`` (here)
    would keep the old ``_sigmoid`` after an edit of this file. So when any of the kernel files
    changes, the cached code of all of them is deleted (and compiled again on use). Where the
    folder is read-only (an installed package), Numba caches elsewhere, and an install rewrites
    all the files at once."""
    cache = os.path.join(folder, "__pycache__")
    marker = os.path.join(cache, "nerve-kernels.stamp")
    try:
        stamp = ";".join(f"{name}:{os.stat(os.path.join(folder, name)).st_mtime_ns}"
                         for name in _KERNEL_FILES)
        if _read_text(marker) == stamp:
            return
        prefixes = tuple(name[:-2] for name in _KERNEL_FILES)  # "_kernels." ...
        for name in os.listdir(cache):
            if name.startswith(prefixes) and name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(cache, name))
        with open(marker, "w") as f:
            f.write(stamp)
    except OSError:
        return  # no __pycache__ yet (nothing cached), read-only, or raced by another process


def _read_text(path):
    """The file's text, or None where it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


if numba is not None:
    _forget_stale_compiled_code()


def usable(*arrays) -> bool:
    """Whether the kernels can take these arrays: Numba present and enabled, float32 NumPy."""
    if not enabled:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != np.float32:
            return False
    return True


# Floating-point freedoms LLVM may take: fused multiply-add, reassociation, reciprocals. Not
# "no NaNs / no infs": a NaN must come out as NaN (anomaly detection looks for it).
_FASTMATH = {"contract", "afn", "arcp", "nsz", "reassoc"}


def _jit(fn, fastmath=_FASTMATH):
    if numba is None:
        return fn
    return numba.njit(cache=True, error_model="numpy", fastmath=fastmath)(fn)


def _jit_serial_and_parallel(fn):
    """``fn`` compiled twice: as it reads, and with its ``prange`` loops run on Numba's threads.
    Both do the same arithmetic in the same order, so they give the same bits."""
    if numba is None:
        return fn, fn
    # NOTE: a copy under its own name, or Numba's cache (keyed by name and line) mixes the two up
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel")
    twin.__qualname__ = twin.__name__
    parallel = numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH, parallel=True)
    return _jit(fn), parallel(twin)


prange = range if numba is None else numba.prange


try:
    _gettid = ctypes.CDLL(None).gettid  # glibc 2.30 on
    _gettid.restype, _gettid.argtypes = ctypes.c_int, []
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _gettid = None


def _thread_ids(out):
    for i in prange(out.size):
        out[i] = _gettid()


# Not cached: Numba cannot cache a call through a ctypes pointer (it compiles once a process).
_thread_ids_parallel = (
    None if numba is None else numba.njit(parallel=True, error_model="numpy")(_thread_ids)
)


def pool_thread_ids() -> set[int]:
    """The system ids of the threads that run Numba's parallel loops (starting them if need be);
    empty where they cannot be known (no Numba, or a C library without ``gettid``)."""
    if numba is None or _gettid is None:
        return set()
    out = np.zeros(64 * numba.get_num_threads(), np.int64)
    _thread_ids_parallel(out)
    return {int(t) for t in np.unique(out)}


_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.4426950408889634), _F(0.693145751953125), _F(1.428606765330187e-06)
_C2, _C3, _C4, _C5, _C6 = _F(1 / 2), _F(1 / 6), _F(1 / 24), _F(1 / 120), _F(1 / 720)
_ONE, _TWO = _F(1.0), _F(2.0)
_LO, _HI = _F(-87.0), _F(88.0)
_GELU_C2 = _F(2.0 * 0.7978845608028654)  # 2 sqrt(2 / pi)
_GELU_A, _GELU_3A = _F(0.044715), _F(3 * 0.044715)


@_jit
def _exp(v):
    """e^v for a float32 v: 0 below -87 (where e^v leaves float32's normal range), e^88 from 88
    up (so sigma and tanh saturate cleanly); NaN stays NaN. Branch-free, so loops vectorize."""
    w = min(max(v, _LO), _HI)
    k = np.floor(w * _LOG2E + _F(0.5))
    r = (w - k * _LN2_HI) - k * _LN2_LO
    p = _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + _ONE
    p = p * r + _ONE
    scale = np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)
    e = p * scale
    e = _F(0.0) if v < _LO else e
    return v if v != v else e


@_jit
def _sigmoid(z):
    return _ONE / (_ONE + _exp(-z))


@_jit
def _tanh(z):
    return _TWO / (_ONE + _exp(-_TWO * z)) - _ONE


@_jit
def exp_(x):
    """x = e^x in place, for a contiguous float32 array."""
    flat = x.reshape(-1)
    for j in range(flat.size):
        flat[j] = _exp(flat[j])


@_jit
def lstm_step_forward(z, bias, product, c_prev, c_new, tanh_c, h_new, out, t, batch_first):
    """Step t of an LSTM on transposed (feature, batch) arrays, gates stacked as rows i, f, g, o:
    z += bias + product (4H, N); i, f, o = sigma(z); g = tanh(z); c = f c_prev + i g;
    h = o tanh(c). ``z`` comes in holding the step's input projections and leaves holding the
    activations (in place: one array, not two, passes through the cache). Writes c, tanh(c) and
    h, and h^T into the layer's output ``out`` at step t: out[:, t] (batch_first, (N, T, H)) or
    out[t] ((T, N, H))."""
    hidden, n = c_prev.shape
    for j in range(hidden):
        b_i, b_f = bias[j], bias[hidden + j]
        b_g, b_o = bias[2 * hidden + j], bias[3 * hidden + j]
        for b in range(n):
            i = _sigmoid(z[j, b] + b_i + product[j, b])
            f = _sigmoid(z[hidden + j, b] + b_f + product[hidden + j, b])
            g = _tanh(z[2 * hidden + j, b] + b_g + product[2 * hidden + j, b])
            o = _sigmoid(z[3 * hidden + j, b] + b_o + product[3 * hidden + j, b])
            z[j, b] = i
            z[hidden + j, b] = f
            z[2 * hidden + j, b] = g
            z[3 * hidden + j, b] = o
            c = f * c_prev[j, b] + i * g
            c_new[j, b] = c
            tc = _tanh(c)
            tanh_c[j, b] = tc
            h_new[j, b] = o * tc
    # NOTE: a second loop, so the one above stays contiguous (vectorized); h_new is in L1 here.
    for b in range(n):
        row = out[b, t] if batch_first else out[t, b]
        for j in range(hidden):
            row[j] = h_new[j, b]


@_jit
def lstm_step_backward(z, tanh_c, c_prev, dh, d_out, dc, db, t, batch_first):
    """The gradients of step t of an LSTM (see ``lstm_step_forward``): with dh += d_out[t]^T
    (``d_out`` the layer's output gradient, laid out as its output) and dc += dh o (1 - tanh(c)^2),
    the gate gradients (dc g, dc c_prev, dc i, dh tanh(c)) times each activation's slope
    (sigma' = s (1 - s), tanh' = 1 - g^2), summed over the batch into db (4H,); then dc = dc f.
    ``z`` (4H, N) comes in holding the activations i, f, g, o and leaves holding their gradients."""
    hidden, n = dc.shape
    for b in range(n):
        row = d_out[b, t] if batch_first else d_out[t, b]
        for j in range(hidden):
            dh[j, b] += row[j]
    for j in range(hidden):
        s_i = s_f = s_g = s_o = _F(0.0)
        for b in range(n):
            i = z[j, b]
            f = z[hidden + j, b]
            g = z[2 * hidden + j, b]
            o = z[3 * hidden + j, b]
            tc = tanh_c[j, b]
            h_grad = dh[j, b]
            c_grad = dc[j, b] + h_grad * o * (_ONE - tc * tc)
            d_i = c_grad * g * (i * (_ONE - i))
            d_f = c_grad * c_prev[j, b] * (f * (_ONE - f))
            d_g = c_grad * i * (_ONE - g * g)
            d_o = h_grad * tc * (o * (_ONE - o))
            z[j, b] = d_i
            z[hidden + j, b] = d_f
            z[2 * hidden + j, b] = d_g
            z[3 * hidden + j, b] = d_o
            s_i += d_i
            s_f += d_f
            s_g += d_g
            s_o += d_o
            dc[j, b] = c_grad * f
        db[j] += s_i
        db[hidden + j] += s_f
        db[2 * hidden + j] += s_g
        db[3 * hidden + j] += s_o


@_jit
def swap_leading_axes(src, dst):
    """dst[j, i] = src[i, j] for src (A, B, C) and dst (B, A, C): a transposing copy that moves
    whole rows of C. NumPy's copy of the transposed view reads src in dst's order (A streams at
    once) and took about twice as long on the LSTM's (64, 1024, 32); this one reads src in order."""
    a, b, c = src.shape
    for i in range(a):
        for j in range(b):
            for k in range(c):
                dst[j, i, k] = src[i, j, k]


@_jit
def layer_norm_rows_forward(x, weight, bias, eps, y, xhat, mean, rstd):
    """Layer norm of each row of x (R, D): mean, biased variance (two passes, summed in float64),
    rstd = 1 / sqrt(var + eps), xhat = (x - mean) rstd and y = xhat weight + bias (weight, bias:
    (D,)). Writes y, xhat (R, D) and mean, rstd (R,)."""
    rows, d = x.shape
    for r in range(rows):
        total = 0.0
        for j in range(d):
            total += x[r, j]
        m = _F(total / d)
        square = 0.0
        for j in range(d):
            c = x[r, j] - m
            square += c * c
        rs = _F(1.0 / np.sqrt(square / d + eps))
        mean[r] = m
        rstd[r] = rs
        for j in range(d):
            h = (x[r, j] - m) * rs
            xhat[r, j] = h
            y[r, j] = h * weight[j] + bias[j]


@_jit
def layer_norm_rows_backward(g, xhat, rstd, weight, dx, dw, db):
    """The gradients of ``layer_norm_rows_forward``, row by row: with dxh = g weight,
    dx = rstd (dxh - mean(dxh) - xhat mean(dxh xhat)) (R, D); and dw += sum over rows of g xhat,
    db += sum of g (float64 accumulators, (D,))."""
    rows, d = g.shape
    for r in range(rows):
        s1 = 0.0
        s2 = 0.0
        for j in range(d):
            dxh = g[r, j] * weight[j]
            s1 += dxh
            s2 += dxh * xhat[r, j]
        m1 = _F(s1 / d)
        m2 = _F(s2 / d)
        rs = rstd[r]
        # NOTE: three loops, not one. As one loop storing to dx, dw and db, this kernel ran
        # 5-15x slower inside W4's training step than on the same arrays alone (probably LLVM's
        # overlap checks before its vector loop: Numba cannot say the arrays are distinct).
        for j in range(d):
            dx[r, j] = rs * (g[r, j] * weight[j] - m1 - xhat[r, j] * m2)
        for j in range(d):
            dw[j] += g[r, j] * xhat[r, j]
        for j in range(d):
            db[j] += g[r, j]


@_jit
def gelu_tanh_forward(x, y, s):
    """y = x s with s = sigma(2u), u = sqrt(2/pi) (x + a x^3): the tanh form of GELU."""
    xf, yf, sf = x.reshape(-1), y.reshape(-1), s.reshape(-1)
    for j in range(xf.size):
        v = xf[j]
        sv = _sigmoid(_GELU_C2 * v * (_ONE + _GELU_A * v * v))
        sf[j] = sv
        yf[j] = v * sv


@_jit
def gelu_tanh_backward(x, s, g, out):
    """out = g (s + 2 sqrt(2/pi) x s (1 - s) (1 + 3 a x^2))."""
    xf, sf, gf, of = x.reshape(-1), s.reshape(-1), g.reshape(-1), out.reshape(-1)
    for j in range(xf.size):
        v, sv = xf[j], sf[j]
        of[j] = gf[j] * sv * (_ONE + _GELU_C2 * v * (_ONE - sv) * (_ONE + _GELU_3A * v * v))


_NEG_INF = _F(-np.inf)


@_jit
def _row_max(row):
    """The largest number of a float32 row, NaNs skipped (-inf for none), in eight running maxima:
    one maximum is a chain of dependent compares that LLVM will not vectorize without assuming
    no NaNs. Measured: softmax over (64, 128, 128) 4.0 ms -> 1.6 ms, with the float32 start value
    (a float64 -inf had made the whole row's arithmetic float64)."""
    cols = row.size
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = _NEG_INF
    j = 0
    while j + 8 <= cols:
        v0, v1, v2, v3 = row[j], row[j + 1], row[j + 2], row[j + 3]
        v4, v5, v6, v7 = row[j + 4], row[j + 5], row[j + 6], row[j + 7]
        t0 = v0 if v0 > t0 else t0
        t1 = v1 if v1 > t1 else t1
        t2 = v2 if v2 > t2 else t2
        t3 = v3 if v3 > t3 else t3
        t4 = v4 if v4 > t4 else t4
        t5 = v5 if v5 > t5 else t5
        t6 = v6 if v6 > t6 else t6
        t7 = v7 if v7 > t7 else t7
        j += 8
    while j < cols:
        v = row[j]
        t0 = v if v > t0 else t0
        j += 1
    t0 = t1 if t1 > t0 else t0
    t2 = t3 if t3 > t2 else t2
    t4 = t5 if t5 > t4 else t4
    t6 = t7 if t7 > t6 else t6
    t0 = t2 if t2 > t0 else t0
    t4 = t6 if t6 > t4 else t4
    return t4 if t4 > t0 else t0


@_jit
def softmax_rows_(x):
    """Softmax over the last axis of a C-contiguous array, in place: e^(x - max) / sum. A row
    with every entry -inf (all keys masked) becomes 0, as PyTorch's safe softmax. A NaN in a row
    makes the whole row NaN (through its e^(NaN - max) in the sum), whatever the max."""
    cols = x.shape[-1]
    rows = x.reshape(-1, cols)
    for r in range(rows.shape[0]):
        row = rows[r]
        top = _row_max(row)
        if top == _NEG_INF:
            top = _F(0.0)
        total = _F(0.0)
        for j in range(cols):
            e = _exp(row[j] - top)
            row[j] = e
            total += e
        if total == 0:
            total = _ONE
        scale = _ONE / total
        for j in range(cols):
            row[j] *= scale


# ------------------------------------------------------------------ optimizer updates
# NumPy spends two passes and a temporary on theta -= lr g (a multiply, then a subtract): one
# pass is twice as fast on W1's 267k weights (72 vs 150 us a step). These are compiled without
# ``contract``, so no fused multiply-add: the same roundings as NumPy's two passes, the same bits.


def _jit_exact(fn):
    return _jit(fn, fastmath=False)


@_jit_exact
def sgd_step_(param, grad, lr):
    """theta -= lr g in place, for contiguous float32 arrays of one shape; lr: float32."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    for j in range(p.size):
        p[j] -= lr * g[j]


@_jit_exact
def sgd_momentum_step_(param, buf, grad, momentum, lr):
    """b = momentum b + g; theta -= lr b, in place (heavy ball, no dampening), as NumPy's
    ``buf *= momentum; buf += g; theta -= lr * buf``; momentum, lr: float32."""
    p = param.reshape(-1)
    b = buf.reshape(-1)
    g = grad.reshape(-1)
    for j in range(p.size):
        v = b[j] * momentum + g[j]
        b[j] = v
        p[j] -= lr * v


@_jit_exact
def adam_step_(param, grad, exp_avg, exp_avg_sq, decay, small, weight, keep, one_minus_beta2,
               beta2, bias_correction2_sqrt, eps, step_size):
    """One Adam step in place, rounded as the NumPy passes of ``optim.Adam`` (all float32):
    theta *= decay (decoupled weight decay; 1 for none); m = lerp(m, g, weight) (as PyTorch's
    lerp: m + weight (g - m) while ``small`` (weight < 1/2), else g - keep (g - m), keep = 1 - weight);
    v = beta2 v + (1 - beta2) g^2; theta -= step_size m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    p = param.reshape(-1)
    g = grad.reshape(-1)
    m = exp_avg.reshape(-1)
    v = exp_avg_sq.reshape(-1)
    for j in range(p.size):
        gj = g[j]
        diff = gj - m[j]
        mj = m[j] + diff * weight if small else gj - diff * keep
        m[j] = mj
        vj = v[j] * beta2 + (gj * gj) * one_minus_beta2
        v[j] = vj
        denom = np.sqrt(vj) / bias_correction2_sqrt + eps
        p[j] = p[j] * decay - (mj / denom) * step_size


# ------------------------------------------------------------------ direct convolution (stride 1)
# A convolution with few channels (a first layer on images) is a poor GEMM: im2col copies every
# pixel KH*KW times into a matrix too thin for BLAS to run well. At stride 1 it is instead a sum
# of shifted planes. Store each padded input plane flat, row after row (width Wp), and compute
# each output plane over the full padded width: output position p = y Wp + x reads input
# p + i dh Wp + j dw for kernel tap (c, i, j), so every tap is one long contiguous multiply-add
# that LLVM vectorizes. The Wp - OW columns past the right edge are computed and dropped (a "wide"
# row). The planes of one image stay in the core's cache.
#
# Register blocking: each pass over a row does two rows' worth (two output channels) times four
# taps, so that a load of the input feeds two multiply-adds and a load and store of an
# accumulating row feeds four (measured: 1.3x the speed of one channel per pass). The caller pads
# the weights with zeros to whole blocks (``nerve/nn/functional/_conv_kernels.py``).


@_jit
def _store_row(row, wp, out, arg, n, o):
    """out[n, o] (OH, OW) = the wide row's first OW numbers of each of its OH rows; or, where
    ``arg`` is not empty, the max pooling of those by 2 (kernel 2, stride 2): out[n, o] is then
    (OH // 2, OW // 2) and arg[n, o] the offset 2 i + j of each maximum (the first; a NaN wins)."""
    if arg.size:
        for y in range(out.shape[2]):
            for col in range(out.shape[3]):
                top = 2 * y * wp + 2 * col
                best, k = row[top], 0
                for offset in range(1, 4):
                    v = row[top + (offset // 2) * wp + offset % 2]
                    if v > best or v != v:
                        best, k = v, offset
                out[n, o, y, col] = best
                arg[n, o, y, col] = k
        return
    for y in range(out.shape[2]):
        for col in range(out.shape[3]):  # NOTE: a loop; a slice assignment costs ~50 ns in Numba
            out[n, o, y, col] = row[y * wp + col]


@_jit
def _load_wide(g, arg, n, wp, out_hw, groups, wide, db):
    """wide[grp, o] = g[n, grp og + o] (OH, OW) on rows of width Wp (zero past OW, and zero for
    the padding channels o >= og); db[channel] += its sum (db may be empty). Where ``arg`` is not
    empty, g is the gradient of the max pooling by 2 of the output, and goes to each window's
    maximum (offset arg = 2 i + j); the rest of the row is zero. The sum runs over the wide row
    in the same order either way, so fused and unfused give the same bits."""
    oh, ow = out_hw
    og = g.shape[1] // groups
    for grp in range(groups):
        for o in range(og):
            c, row = grp * og + o, wide[grp, o]
            if arg.size:
                row[:] = 0
                for y in range(g.shape[2]):
                    for col in range(g.shape[3]):
                        k = arg[n, c, y, col]
                        row[(2 * y + k // 2) * wp + 2 * col + k % 2] = g[n, c, y, col]
            else:
                for y in range(oh):
                    for col in range(ow):
                        row[y * wp + col] = g[n, c, y, col]
            if db.size:
                total = _F(0.0)
                for y in range(oh):
                    for col in range(ow):
                        total += row[y * wp + col]
                db[c] += total


def _conv_direct_forward(xflat, wq, offsets, bias, wp, oh, out, arg):
    """out (N, O, OH, OW) = a stride-1 convolution, from:

    xflat (N, C, plane): padded input planes, flat (rows of width Wp, then a zero tail);
    wq (G, OGp, T): each group's output channels' weights over its taps (c, i, j), zero-padded
    to an even OGp and T a multiple of 4; offsets (T,): where each tap starts reading its group's
    planes (c plane + i dh Wp + j dw); bias (G, OGp). With a non-empty ``arg``, out is the max
    pooling by 2 of the convolution (see ``_store_row``). The images may run in parallel."""
    n_batch, n_out = out.shape[0], out.shape[1]
    groups, og_pad, taps = wq.shape
    og, plane = n_out // groups, xflat.shape[2]
    cg = xflat.shape[1] // groups
    length = oh * wp
    for n in prange(n_batch):
        ra, rb = np.empty(length, np.float32), np.empty(length, np.float32)
        planes = xflat[n].reshape(-1)
        for grp in range(groups):
            x = planes[grp * cg * plane :]
            for o in range(0, og_pad, 2):
                wa, wb = wq[grp, o], wq[grp, o + 1]
                ba, bb = bias[grp, o], bias[grp, o + 1]
                for p in range(length):
                    ra[p] = ba
                    rb[p] = bb
                for t in range(0, taps, 4):
                    a0, a1, a2, a3 = wa[t], wa[t + 1], wa[t + 2], wa[t + 3]
                    b0, b1, b2, b3 = wb[t], wb[t + 1], wb[t + 2], wb[t + 3]
                    x0 = x[offsets[t] : offsets[t] + length]
                    x1 = x[offsets[t + 1] : offsets[t + 1] + length]
                    x2 = x[offsets[t + 2] : offsets[t + 2] + length]
                    x3 = x[offsets[t + 3] : offsets[t + 3] + length]
                    for p in range(length):
                        v0, v1, v2, v3 = x0[p], x1[p], x2[p], x3[p]
                        ra[p] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3
                        rb[p] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3
                _store_row(ra, wp, out, arg, n, grp * og + o)
                if o + 1 < og:
                    _store_row(rb, wp, out, arg, n, grp * og + o + 1)


conv_direct_forward, conv_direct_forward_parallel = _jit_serial_and_parallel(_conv_direct_forward)

# The weight gradient sums over the batch: it runs in WEIGHT_GRAD_CHUNKS fixed slices of the
# batch, each summed into its own buffer, and the buffers are added in order; the slices do not
# depend on the number of threads, so serial and parallel runs give the same bits.
WEIGHT_GRAD_CHUNKS = 8


def _conv_direct_weight_grad(xflat, g, arg, out_hw, offsets, wp, dwq, db):
    """The weight and bias gradients of ``conv_direct_forward``, from g (N, O, OH, OW) = dL/dout
    (or that of its pooling, with ``arg``: see ``_load_wide``):

        dwq[grp, o, t] += sum_{n, p} g_wide[n, grp og + o, p] x[n, group grp, offsets[t] + p]
        db[channel] += sum of g[n, channel]          (db may be empty: no bias)

    where dwq (G, OGp, T) is laid out as ``wq``. Dot products, two channels times four taps a
    pass; the slices of the batch may run in parallel."""
    n_batch = g.shape[0]
    groups, og_pad, taps = dwq.shape
    plane = xflat.shape[2]
    cg = xflat.shape[1] // groups
    length = out_hw[0] * wp
    chunks = min(n_batch, WEIGHT_GRAD_CHUNKS)
    dws = np.zeros((chunks, groups, og_pad, taps), np.float32)
    dbs = np.zeros((chunks, db.size), np.float32)
    for chunk in prange(chunks):
        wide = np.zeros((groups, og_pad, length), np.float32)
        dw = dws[chunk]
        for n in range(chunk * n_batch // chunks, (chunk + 1) * n_batch // chunks):
            _load_wide(g, arg, n, wp, out_hw, groups, wide, dbs[chunk])
            planes = xflat[n].reshape(-1)
            for grp in range(groups):
                x = planes[grp * cg * plane :]
                for o in range(0, og_pad, 2):
                    ga, gb = wide[grp, o], wide[grp, o + 1]
                    for t in range(0, taps, 4):
                        x0 = x[offsets[t] : offsets[t] + length]
                        x1 = x[offsets[t + 1] : offsets[t + 1] + length]
                        x2 = x[offsets[t + 2] : offsets[t + 2] + length]
                        x3 = x[offsets[t + 3] : offsets[t + 3] + length]
                        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = _F(0.0)
                        for p in range(length):
                            u, v = ga[p], gb[p]
                            v0, v1, v2, v3 = x0[p], x1[p], x2[p], x3[p]
                            a0 += u * v0
                            a1 += u * v1
                            a2 += u * v2
                            a3 += u * v3
                            b0 += v * v0
                            b1 += v * v1
                            b2 += v * v2
                            b3 += v * v3
                        dw[grp, o, t] += a0
                        dw[grp, o, t + 1] += a1
                        dw[grp, o, t + 2] += a2
                        dw[grp, o, t + 3] += a3
                        dw[grp, o + 1, t] += b0
                        dw[grp, o + 1, t + 1] += b1
                        dw[grp, o + 1, t + 2] += b2
                        dw[grp, o + 1, t + 3] += b3
    for chunk in range(chunks):
        dwq += dws[chunk]
        if db.size:
            db += dbs[chunk]


conv_direct_weight_grad, conv_direct_weight_grad_parallel = _jit_serial_and_parallel(
    _conv_direct_weight_grad
)


def _conv_direct_input_grad(g, arg, out_hw, wt, kernel_offsets, wp, plane, top, left, dx):
    """The input gradient of a stride-1 convolution, from g (N, O, OH, OW) = dL/dout:

        dxpad[n, c, y + i dh, x + j dw] += g[n, o, y, x] w[o, c, i, j]

    summed on flat padded planes (``plane`` numbers, rows of width Wp); dx (N, C, H, W) is each
    plane's interior from row ``top`` and column ``left``. wt (G, CGp, KH*KW, OGq) holds the
    weights by group, input channel (zero-padded to even), kernel offset and output channel
    (zero-padded to a multiple of 4); kernel_offsets (KH*KW,) = i dh Wp + j dw; g and ``arg`` as
    in ``_load_wide``. Two input channels times four output channels a pass; the images may run
    in parallel."""
    n_batch = g.shape[0]
    groups, cg_pad, n_offsets, og_pad = wt.shape
    n_in = dx.shape[1]
    cg = n_in // groups
    length = out_hw[0] * wp
    no_bias = np.empty(0, np.float32)
    for n in prange(n_batch):
        wide = np.zeros((groups, og_pad, length), np.float32)
        ta, tb = np.empty(plane, np.float32), np.empty(plane, np.float32)
        _load_wide(g, arg, n, wp, out_hw, groups, wide, no_bias)
        for grp in range(groups):
            for c in range(0, cg_pad, 2):
                for p in range(plane):
                    ta[p] = 0
                    tb[p] = 0
                for k in range(n_offsets):
                    da = ta[kernel_offsets[k] : kernel_offsets[k] + length]
                    db = tb[kernel_offsets[k] : kernel_offsets[k] + length]
                    wa, wb = wt[grp, c, k], wt[grp, c + 1, k]
                    for o in range(0, og_pad, 4):
                        a0, a1, a2, a3 = wa[o], wa[o + 1], wa[o + 2], wa[o + 3]
                        b0, b1, b2, b3 = wb[o], wb[o + 1], wb[o + 2], wb[o + 3]
                        g0, g1 = wide[grp, o], wide[grp, o + 1]
                        g2, g3 = wide[grp, o + 2], wide[grp, o + 3]
                        for p in range(length):
                            v0, v1, v2, v3 = g0[p], g1[p], g2[p], g3[p]
                            da[p] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3
                            db[p] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3
                _crop_plane(ta, wp, top, left, dx, n, grp * cg + c)
                if c + 1 < cg:
                    _crop_plane(tb, wp, top, left, dx, n, grp * cg + c + 1)


conv_direct_input_grad, conv_direct_input_grad_parallel = _jit_serial_and_parallel(
    _conv_direct_input_grad
)


@_jit
def _crop_plane(flat, wp, top, left, dx, n, c):
    """dx[n, c] (H, W) = the interior of a flat padded plane, from row ``top``, column ``left``."""
    h, width = dx.shape[2], dx.shape[3]
    for y in range(h):
        start = (y + top) * wp + left
        for col in range(width):
            dx[n, c, y, col] = flat[start + col]
