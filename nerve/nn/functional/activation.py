"""Activation functions, f in a neuron's y = f(w.x + b).

    sigmoid(x)    = 1 / (1 + e^-x)
    tanh(x)       = (e^x - e^-x) / (e^x + e^-x)
    relu(x)       = max(0, x)
    leaky_relu(x) = x if x > 0 else slope * x
    elu(x)        = x if x > 0 else alpha (e^x - 1)
    gelu(x)       = x Phi(x) = x/2 (1 + erf(x / sqrt 2)); 'tanh' form:
                    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    silu(x)       = x sigmoid(x)
    softplus(x)   = log(1 + e^(beta x)) / beta
    softmax(x)_i  = e^(x_i) / sum_j e^(x_j);  log_softmax = x_i - logsumexp(x)
"""

from __future__ import annotations

import math

import numpy as np

from nerve import _kernels
from nerve.autograd import grad_mode
from nerve.autograd.function import Function
from nerve.device import array_module, quiet_overflow
from nerve.ops import elementwise as E
from nerve.tensor import Tensor, _norm_dim

sigmoid = E.sigmoid
tanh = E.tanh
softplus = E.softplus


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got {x.dtype}")


def relu(x, inplace=False):
    return x.relu_() if inplace else E.relu(x)


def relu6(x):
    return hardtanh(x, 0.0, 6.0)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    _check(x, "leaky_relu")
    # NOTE: multiplying by a constant slope mask keeps the op one Mul, exact to any order
    # (the second derivative is zero almost everywhere).
    slope = array_module(x._data).where(x._data > 0, 1.0, negative_slope).astype(x._data.dtype)
    return x * Tensor._wrap(slope)


def elu(x, alpha=1.0, inplace=False):
    _check(x, "elu")
    negative = x.clamp(max=0.0).expm1() * alpha  # clamp first: no overflow in the unused branch
    return E.where(x > 0, x, negative)


def gelu(x, approximate="none"):
    _check(x, "gelu")
    if approximate == "tanh":
        return GeluTanh.apply(x)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * 0.5 * (1.0 + E.erf(x * (1.0 / math.sqrt(2.0))))


class GeluTanh(Function):
    """The tanh approximation of GELU as one op (the MLP activation of GPT-style models).

    y = x (1 + tanh(u)) / 2 with u = c (x + a x^3), c = sqrt(2/pi), a = 0.044715. Since
    (1 + tanh(u)) / 2 = s = sigma(2u), y = x s and dy/dx = s + 2 c x s (1 - s) (1 + 3 a x^2).

    NOTE: computed through exp (sigma(2u) = 1 / (1 + e^(-2u))), which NumPy runs about twice as
    fast as tanh on float32.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xd = x._data
        xp = array_module(xd)
        if _kernels.usable(xd) and xd.flags.c_contiguous:  # one compiled pass
            y, s = np.empty_like(xd), np.empty_like(xd)
            _kernels.gelu_tanh_forward(xd, y, s)
            ctx.s = s
            return y
        s = xp.multiply(xd, xd, out=xp.empty_like(xd))  # out=: stays an array at 0-dim
        s *= _GELU_A
        s += 1.0
        s *= xd
        s *= -2.0 * _GELU_C  # -2u
        with quiet_overflow(xp):  # e^(-2u) = inf gives s = 0, the right limit
            xp.exp(s, out=s)
        s += 1.0
        xp.reciprocal(s, out=s)  # s = sigma(2u)
        ctx.s = s
        return xp.multiply(xd, s, out=xp.empty_like(xd))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not grad_mode._enabled[0]:  # not recording (create_graph=False): plain arrays
            xd, s, g = x._data, ctx.s, grad._data
            if _kernels.usable(xd, s, g) and xd.flags.c_contiguous and g.flags.c_contiguous:
                d = np.empty_like(xd)
                _kernels.gelu_tanh_backward(xd, s, g, d)
                return Tensor._wrap(d)
            xp = array_module(xd)
            d = xp.multiply(xd, xd, out=xp.empty_like(xd))
            d *= 3 * _GELU_A
            d += 1.0
            d *= xd
            d *= 2.0 * _GELU_C
            d *= xp.subtract(1.0, s, out=xp.empty_like(s))
            d += 1.0
            d *= s
            d *= grad._data
            return Tensor._wrap(d)
        t = ((x + _GELU_A * x * x * x) * _GELU_C).tanh()
        d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * _GELU_A * x * x)
        return grad * d


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def silu(x, inplace=False):
    _check(x, "silu")
    return x * x.sigmoid()


def mish(x):
    return x * softplus(x).tanh()


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """clamp(x, min_val, max_val), with PyTorch's gradient: 1 strictly inside, 0 at the bounds."""
    _check(x, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    xd = x._data
    xp = array_module(xd)
    inside = (xd > min_val) & (xd < max_val)
    # NOTE: x * mask + constant: the value is the clamp, the gradient the strict mask.
    outside = xp.where(inside, 0, xp.clip(xd, min_val, max_val)).astype(xd.dtype)
    return x * Tensor._wrap(inside.astype(xd.dtype)) + Tensor._wrap(outside)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_output()
        xd = x._data
        xp = array_module(xd)
        e = xp.exp(xd - xd.max(axis=axis, keepdims=True)) if xd.size else xd.copy()
        e /= e.sum(axis=axis, keepdims=True)
        return e

    @staticmethod
    def backward(ctx, grad):
        # dL/dx = y * (g - sum(g * y))
        y = ctx.output
        return y * (grad - (grad * y).sum(ctx.axis, keepdim=True)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        ctx.save_output()
        xd = x._data
        if not xd.size:
            return xd.copy()
        xp = array_module(xd)
        shifted = xd - xd.max(axis=axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, grad):
        # dL/dx = g - softmax(x) * sum(g)
        y = ctx.output
        return grad - y.exp() * grad.sum(ctx.axis, keepdim=True), None


def _softmax_dim(x, dim, op):
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return _norm_dim(dim, x.ndim, op)


def softmax(x, dim=None, temperature=1.0, dtype=None):
    """softmax(x / temperature) along ``dim``."""
    _check(x, "softmax") if dtype is None else None
    if dtype is not None:
        x = x.to(dtype)
    if temperature != 1.0:
        if temperature <= 0:
            raise ValueError(f"softmax: temperature must be positive, got {temperature}")
        x = x / temperature
    return Softmax.apply(x, _softmax_dim(x, dim, "softmax"))


def log_softmax(x, dim=None, dtype=None):
    _check(x, "log_softmax") if dtype is None else None
    if dtype is not None:
        x = x.to(dtype)
    return LogSoftmax.apply(x, _softmax_dim(x, dim, "log_softmax"))


__all__ = ["sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "mish",
           "softplus", "hardtanh", "softmax", "log_softmax"]
