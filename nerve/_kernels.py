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

import os

import numpy as np

try:  # pragma: no branch
    import numba
except ImportError:  # pragma: no cover - Numba is an optional extra
    numba = None

enabled = numba is not None and os.environ.get("NERVE_NUMBA", "1") != "0"


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


def _jit(fn):
    if numba is None:
        return fn
    return numba.njit(cache=True, error_model="numpy", fastmath=_FASTMATH)(fn)


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
def lstm_step_forward(pre, t, product, c_prev, acts, c_new, tanh_c, h_new):
    """Step t of an LSTM on transposed (feature, batch) arrays, gates stacked as rows i, f, g, o:
    z = pre[:, t] + product (4H, N), pre: (4H, T, N); i, f, o = sigma(z); g = tanh(z);
    c = f c_prev + i g; h = o tanh(c). Writes the activations, c, tanh(c) and h.

    NOTE: ``pre`` comes whole with the step index (not as the strided view ``pre[:, t]``), so
    the compiled loop knows its layout: several times faster."""
    hidden, n = c_prev.shape
    for j in range(hidden):
        for b in range(n):
            i = _sigmoid(pre[j, t, b] + product[j, b])
            f = _sigmoid(pre[hidden + j, t, b] + product[hidden + j, b])
            g = _tanh(pre[2 * hidden + j, t, b] + product[2 * hidden + j, b])
            o = _sigmoid(pre[3 * hidden + j, t, b] + product[3 * hidden + j, b])
            acts[j, b] = i
            acts[hidden + j, b] = f
            acts[2 * hidden + j, b] = g
            acts[3 * hidden + j, b] = o
            c = f * c_prev[j, b] + i * g
            c_new[j, b] = c
            tc = _tanh(c)
            tanh_c[j, b] = tc
            h_new[j, b] = o * tc


@_jit
def lstm_step_backward(acts, tanh_c, c_prev, dh, d_out, dc, d):
    """The gradients of one LSTM step (see ``lstm_step_forward``): with dh += d_out and
    dc += dh o (1 - tanh(c)^2), the gate gradients d = (dc g, dc c_prev, dc i, dh tanh(c)) times
    each activation's slope (sigma' = s (1 - s), tanh' = 1 - g^2); then dc = dc f."""
    hidden, n = dc.shape
    for j in range(hidden):
        for b in range(n):
            i = acts[j, b]
            f = acts[hidden + j, b]
            g = acts[2 * hidden + j, b]
            o = acts[3 * hidden + j, b]
            tc = tanh_c[j, b]
            h_grad = dh[j, b] + d_out[j, b]
            c_grad = dc[j, b] + h_grad * o * (_ONE - tc * tc)
            d[j, b] = c_grad * g * (i * (_ONE - i))
            d[hidden + j, b] = c_grad * c_prev[j, b] * (f * (_ONE - f))
            d[2 * hidden + j, b] = c_grad * i * (_ONE - g * g)
            d[3 * hidden + j, b] = h_grad * tc * (o * (_ONE - o))
            dc[j, b] = c_grad * f


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


@_jit
def softmax_rows_(x):
    """Softmax over the last axis of a C-contiguous array, in place: e^(x - max) / sum. A row
    with every entry -inf (all keys masked) becomes 0, as PyTorch's safe softmax."""
    cols = x.shape[-1]
    rows = x.reshape(-1, cols)
    for r in range(rows.shape[0]):
        row = rows[r]
        top = -np.inf
        for j in range(cols):
            if row[j] > top or row[j] != row[j]:
                top = row[j]
        if top == -np.inf:
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
