"""Elementwise ops: arithmetic with broadcasting, math functions, comparisons.

Binary ops first bring both operands to PyTorch's promoted dtype (``_operands``), then the
primitive works on one dtype. Every backward reduces a broadcast gradient to its input's shape
with ``sum_to`` (the one place where broadcasting is undone).
"""

from __future__ import annotations

import math

import numpy as np

from nerve import _dtype
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _enabled
from nerve.device import array_module, device_of, move
from nerve.tensor import Tensor

_SCALARS = (int, float, bool)


# ---------------------------------------------------------------------------- operand handling
def _scalar(value, op):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        return Tensor._wrap(np.asarray(value))
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(value).__name__}")


def _operands(a, b, op):
    """Return ``(a, b)`` with tensors cast to PyTorch's result dtype; numbers stay numbers."""
    if not isinstance(a, Tensor):
        a = _scalar(a, op)
    if not isinstance(b, Tensor):
        b = _scalar(b, op)
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da != db:
                dt = _dtype.promote(da, a._data.ndim, db, b._data.ndim)
                a = a if da == dt else cast(a, dt)
                b = b if db == dt else cast(b, dt)
            if type(a._data) is not type(b._data):
                raise RuntimeError(
                    f"{op}: expected all tensors on the same device, got {a.device} and {b.device}"
                )
        else:
            dt = _dtype.promote_with_scalar(a._data.dtype, b)
            if dt != a._data.dtype:
                a = cast(a, dt)
    elif isinstance(b, Tensor):
        dt = _dtype.promote_with_scalar(b._data.dtype, a)
        if dt != b._data.dtype:
            b = cast(b, dt)
    else:
        a = Tensor._wrap(np.asarray(a, dtype=_dtype.promote_with_scalar(np.dtype(np.bool_), a)))
    return a, b


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _shape(x):
    return x._data.shape if isinstance(x, Tensor) else ()


def _binary(fn_class, a, b, op):
    a, b = _operands(a, b, op)
    try:
        return fn_class.apply(a, b)
    except ValueError as err:
        if "broadcast" not in str(err):
            raise
        raise ValueError(
            f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be broadcast together"
        ) from None


def _float_operand(x, op):
    """Float math on an integer or bool tensor promotes it to float32, as PyTorch does."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        return cast(x, _dtype.default_float.np)
    return x


def _zeros_like(grad):
    return Tensor._wrap(array_module(grad._data).zeros_like(grad._data))


def _sum_to(g, shape):
    from nerve.ops.shape import sum_to

    return sum_to(g, shape)


# ---------------------------------------------------------------------------- primitives
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _arr(a) + _arr(b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (_sum_to(grad, ctx.shapes[0]) if need_a else None,
                _sum_to(grad, ctx.shapes[1]) if need_b else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _arr(a) - _arr(b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (_sum_to(grad, ctx.shapes[0]) if need_a else None,
                _sum_to(-grad, ctx.shapes[1]) if need_b else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        return _arr(a) * _arr(b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        need_a, need_b = ctx.needs_input_grad
        return (_sum_to(grad * b, _shape(a)) if need_a else None,
                _sum_to(grad * a, _shape(b)) if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        return _arr(a) / _arr(b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        need_a, need_b = ctx.needs_input_grad
        grad_a = _sum_to(grad / b, _shape(a)) if need_a else None
        grad_b = _sum_to(-grad * a / (b * b), _shape(b)) if need_b else None
        return grad_a, grad_b


class Pow(Function):
    """``a ** b``. d/da = b a^(b-1); d/db = a^b log a (taken as 0 where a = 0, as PyTorch does)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(a, Tensor) else None, b if isinstance(b, Tensor) else None)
        ctx.scalars = (a, b)
        return _arr(a) ** _arr(b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a = ctx.scalars[0] if a is None else a
        b = ctx.scalars[1] if b is None else b
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if not isinstance(b, Tensor) and b == 0:
                grad_a = _zeros_like(grad)
            else:
                grad_a = _sum_to(grad * b * a ** (b - 1), _shape(a))
        if need_b:
            if isinstance(a, Tensor):
                safe_log = where(a > 0, a, 1).log()
                grad_b = _sum_to(grad * a**b * safe_log, _shape(b))
            else:
                if a > 0:
                    grad_b = _sum_to(grad * a**b * math.log(a), _shape(b))
                else:
                    grad_b = _zeros_like(grad)
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x._data

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return array_module(x._data).exp(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.output


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x._data).log(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x._data).log1p(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return array_module(x._data).expm1(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad * (ctx.output + 1)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return array_module(x._data).sqrt(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad / (ctx.output * 2)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x._data).sin(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x._data).cos(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


_CONSTANTS: dict = {}


def _constant(xp, dtype, value):
    """A cached 0-d array holding ``value`` in ``dtype``.

    NOTE: NumPy combines an array with a Python scalar through its scalar-promotion path, about
    1 us slower per call than with a 0-d array of the same dtype; on the small arrays of a
    training step that is a large share of an op's time.
    """
    key = (xp, dtype, value)
    c = _CONSTANTS.get(key)
    if c is None:
        c = _CONSTANTS[key] = xp.full((), value, dtype)
    return c


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return array_module(x._data).tanh(x._data)

    @staticmethod
    def backward(ctx, grad):
        if not _enabled[0]:  # no graph recorded: plain arrays
            yd = ctx._output_array()
            one = _constant(array_module(yd), yd.dtype, 1)
            return Tensor._wrap(grad._data * (one - yd * yd))
        y = ctx.output
        return grad * (1 - y * y)


def sigmoid_array(x, out=None):
    """sigma(x) on an array as (1 + tanh(x/2)) / 2, which never overflows; into ``out`` if given
    (``out=x`` works in place)."""
    xp = array_module(x)
    half = _constant(xp, x.dtype, 0.5)
    z = xp.multiply(x, half, out=xp.empty_like(x) if out is None else out)
    xp.tanh(z, out=z)
    z += _constant(xp, z.dtype, 1)
    z *= half
    return z


class Sigmoid(Function):
    """sigma(x) = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return sigmoid_array(x._data)

    @staticmethod
    def backward(ctx, grad):
        if not _enabled[0]:  # no graph recorded: plain arrays
            yd = ctx._output_array()
            one = _constant(array_module(yd), yd.dtype, 1)
            return Tensor._wrap(grad._data * yd * (one - yd))
        y = ctx.output
        return grad * y * (1 - y)


_ZEROS: dict = {}
_ZEROS_MIN, _ZEROS_MAX = 1 << 12, 1 << 24


def _zeros_in_layout(x):
    """A read-only NumPy array of zeros with the shape and strides of ``x``, or None where ``x``
    does not fill its memory densely (a slice with gaps). Views one cached buffer per dtype."""
    n = x.size
    buffer = _ZEROS.get(x.dtype)
    if buffer is None or buffer.size < n:
        buffer = _ZEROS[x.dtype] = np.zeros(n, x.dtype)
        buffer.flags.writeable = False
    if x.flags.c_contiguous:
        return buffer[:n].reshape(x.shape)
    order = sorted(range(x.ndim), key=lambda i: -x.strides[i])
    step = x.itemsize
    for axis in reversed(order):
        if x.shape[axis] > 1 and x.strides[axis] != step:
            return None
        step *= x.shape[axis]
    inverse = sorted(range(x.ndim), key=order.__getitem__)
    return buffer[:n].reshape([x.shape[i] for i in order]).transpose(inverse)


def relu_array(xd, out=None):
    """max(x, 0) on an array.

    NOTE: NumPy (2.4) vectorizes ``maximum`` of two arrays but not of an array and a scalar: on
    (64, 6, 28, 28) float32 that is 80 us against 350 us. So a large NumPy input is compared with
    a cached array of zeros laid out like it.
    """
    xp = array_module(xd)
    zero = None
    if xp is np and _ZEROS_MIN <= xd.size <= _ZEROS_MAX:
        zero = _zeros_in_layout(xd)
    if zero is None:
        zero = _constant(xp, xd.dtype, 0)
    return xp.maximum(xd, zero, out=out)


def relu_slope(y):
    """ReLU's derivative from its output y, as a boolean mask: true unless y <= 0. This is
    PyTorch's rule: the slope at 0 is 0, and a NaN passes its gradient on."""
    return ~(y <= 0)


class Relu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_output()
        return relu_array(x._data)

    @staticmethod
    def backward(ctx, grad):
        y = ctx._output_array()
        if not _enabled[0]:
            return Tensor._wrap(grad._data * relu_slope(y))
        return grad * Tensor._wrap(relu_slope(y).astype(y.dtype))


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return array_module(x._data).abs(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Tensor._wrap(array_module(x._data).sign(x._data))


class Erf(Function):
    """erf(x); d/dx = 2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_array(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp()


def _erf_array(arr):
    xp = array_module(arr)
    if xp is not np:
        import cupyx.scipy.special  # type: ignore[import-not-found]

        return cupyx.scipy.special.erf(arr)
    try:
        from scipy.special import erf  # NOTE: exact and fast when SciPy is present

        return erf(arr).astype(arr.dtype, copy=False)
    except ImportError:
        return np.frompyfunc(math.erf, 1, 1)(arr).astype(arr.dtype)


class Maximum(Function):
    """max(a, b) elementwise; at ties each side gets half the gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a._data).maximum(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(a._data)
        wa = xp.where(a._data > b._data, 1.0, xp.where(a._data == b._data, 0.5, 0.0))
        wa = Tensor._wrap(wa.astype(a._data.dtype))
        need_a, need_b = ctx.needs_input_grad
        return (_sum_to(grad * wa, a._data.shape) if need_a else None,
                _sum_to(grad * (1 - wa), b._data.shape) if need_b else None)


class Clamp(Function):
    """clamp(x, lo, hi) with number bounds; the gradient passes where lo <= x <= hi."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return array_module(x._data).clip(x._data, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        xd = x._data
        mask = np.ones((), dtype=bool) if lo is None else (xd >= lo)
        if hi is not None:
            mask = mask & (xd <= hi)
        return grad * Tensor._wrap(mask.astype(xd.dtype)), None, None


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond._data
        ctx.shapes = (_shape(a), _shape(b))
        return array_module(cond._data).where(cond._data, _arr(a), _arr(b))

    @staticmethod
    def backward(ctx, grad):
        cond = Tensor._wrap(ctx.cond)
        _, need_a, need_b = ctx.needs_input_grad
        zero = _zeros_like(grad)  # NOTE: not grad * 0, which keeps a NaN of the other branch
        return (None,
                _sum_to(where(cond, grad, zero), ctx.shapes[0]) if need_a else None,
                _sum_to(where(cond, zero, grad), ctx.shapes[1]) if need_b else None)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x._data.dtype
        return x._data.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return (cast(grad, ctx.src) if ctx.src.kind == "f" else None), None


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, dev):
        ctx.src = device_of(x._data)
        return move(x._data, dev)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.src), None


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class ZeroGradient(Function):
    """A step function (floor, ceil, round, trunc, sign): its derivative is zero where defined."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x._data)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), None


# ---------------------------------------------------------------------------- public functions
def add(a, b, alpha=1):
    return _binary(Add, a, b if alpha == 1 else b * alpha, "add")


def sub(a, b, alpha=1):
    return _binary(Sub, a, b if alpha == 1 else b * alpha, "sub")


subtract = sub


def mul(a, b):
    return _binary(Mul, a, b, "mul")


multiply = mul


def div(a, b):
    """True division; integer operands give float32, as in PyTorch."""
    a, b = _operands(a, b, "div")
    if isinstance(a, Tensor) and a._data.dtype.kind != "f":
        a = cast(a, _dtype.default_float.np)
    elif isinstance(b, Tensor) and b._data.dtype.kind != "f":
        b = cast(b, _dtype.default_float.np)
    return _binary(Div, a, b, "div")


divide = true_divide = div


def pow(a, b):
    a, b = _operands(a, b, "pow")
    return _binary(Pow, a, b, "pow")


def floor_divide(a, b):
    a, b = _operands(a, b, "floor_divide")
    return Tensor._wrap(array_module(_arr(a if isinstance(a, Tensor) else b)).floor_divide(_arr(a), _arr(b)))


def remainder(a, b):
    a, b = _operands(a, b, "remainder")
    return Tensor._wrap(array_module(_arr(a if isinstance(a, Tensor) else b)).remainder(_arr(a), _arr(b)))


def neg(x):
    return Neg.apply(x)


negative = neg


def _unary(fn_class, x, op):
    return fn_class.apply(_float_operand(x, op))


def exp(x):
    return _unary(Exp, x, "exp")


def log(x):
    return _unary(Log, x, "log")


def log1p(x):
    return _unary(Log1p, x, "log1p")


def expm1(x):
    return _unary(Expm1, x, "expm1")


def sqrt(x):
    return _unary(Sqrt, x, "sqrt")


def rsqrt(x):
    return pow(_float_operand(x, "rsqrt"), -0.5)


def sin(x):
    return _unary(Sin, x, "sin")


def cos(x):
    return _unary(Cos, x, "cos")


def tanh(x):
    return _unary(Tanh, x, "tanh")


def sigmoid(x):
    return _unary(Sigmoid, x, "sigmoid")


def relu(x):
    if not isinstance(x, Tensor):
        raise TypeError(f"relu: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind == "b":
        raise TypeError("relu: expected a numeric tensor, got nerve.bool")
    return Relu.apply(x)


def erf(x):
    return _unary(Erf, x, "erf")


def abs(x):
    return Abs.apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, linear above ``threshold`` for stability (PyTorch's form)."""
    x = _float_operand(x, "softplus")
    scaled = x * beta
    soft = scaled.clamp(max=threshold).exp().log1p() / beta
    return where(scaled > threshold, x, soft)


def maximum(a, b):
    a, b = _operands(a, b, "maximum")
    if not isinstance(b, Tensor):
        b = Tensor._wrap(array_module(a._data).asarray(b, dtype=a._data.dtype))
    if not isinstance(a, Tensor):
        a = Tensor._wrap(array_module(b._data).asarray(a, dtype=b._data.dtype))
    return _binary(Maximum, a, b, "maximum")


def minimum(a, b):
    return -maximum(-a if isinstance(a, Tensor) else -_scalar(a, "minimum"),
                    -b if isinstance(b, Tensor) else -_scalar(b, "minimum"))


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # NOTE: PyTorch's gradient: x gets it where min <= x <= max (ties included), a bound
        # only where it is strictly the one taken; maximum() would split ties in half.
        out = x
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    if not isinstance(x, Tensor):
        raise TypeError(f"clamp: expected a Tensor, got {type(x).__name__}")
    dt = x._data.dtype
    for bound in (min, max):
        if bound is not None:
            dt = _dtype.promote_with_scalar(dt, _scalar(bound, "clamp"))
    if dt != x._data.dtype:  # an integer tensor clamped to a float bound becomes float32
        x = cast(x, dt)
    return Clamp.apply(x, min, max)


clip = clamp


def where(condition, a, b):
    if not isinstance(condition, Tensor):
        condition = Tensor._wrap(np.asarray(condition))
    if condition._data.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    a, b = _operands(a, b, "where")
    try:
        return Where.apply(condition, a, b)
    except ValueError as err:
        if "broadcast" not in str(err) and "shape" not in str(err):
            raise
        raise ValueError(
            f"where: shapes {tuple(condition.shape)}, {tuple(_shape(a))} and "
            f"{tuple(_shape(b))} cannot be broadcast together"
        ) from None


def cast(x, np_dtype):
    return Cast.apply(x, np.dtype(np_dtype))


def to_device(x, dev):
    return ToDevice.apply(x, dev)


def clone(x):
    return Clone.apply(x)


def floor(x):
    return ZeroGradient.apply(x, array_module(x._data).floor)


def ceil(x):
    return ZeroGradient.apply(x, array_module(x._data).ceil)


def trunc(x):
    return ZeroGradient.apply(x, array_module(x._data).trunc)


def round(x, decimals=0):
    xp = array_module(x._data)
    return ZeroGradient.apply(x, lambda a: xp.round(a, decimals))


def sign(x):
    return ZeroGradient.apply(x, array_module(x._data).sign)


# comparisons and logic: no gradient
def _compare(a, b, ufunc_name, op):
    a, b = _operands(a, b, op)
    xp = array_module(_arr(a if isinstance(a, Tensor) else b))
    try:
        return Tensor._wrap(getattr(xp, ufunc_name)(_arr(a), _arr(b)))
    except ValueError:
        raise ValueError(
            f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be broadcast together"
        ) from None


def eq(a, b):
    return _compare(a, b, "equal", "eq")


def ne(a, b):
    return _compare(a, b, "not_equal", "ne")


def lt(a, b):
    return _compare(a, b, "less", "lt")


def le(a, b):
    return _compare(a, b, "less_equal", "le")


def gt(a, b):
    return _compare(a, b, "greater", "gt")


def ge(a, b):
    return _compare(a, b, "greater_equal", "ge")


def logical_and(a, b):
    return _compare(a, b, "logical_and", "logical_and")


def logical_or(a, b):
    return _compare(a, b, "logical_or", "logical_or")


def logical_xor(a, b):
    return _compare(a, b, "logical_xor", "logical_xor")


def bitwise_and(a, b):
    return _compare(a, b, "bitwise_and", "bitwise_and")


def bitwise_or(a, b):
    return _compare(a, b, "bitwise_or", "bitwise_or")


def logical_not(x):
    return Tensor._wrap(array_module(x._data).logical_not(x._data))


def isnan(x):
    return Tensor._wrap(array_module(x._data).isnan(x._data))


def isinf(x):
    return Tensor._wrap(array_module(x._data).isinf(x._data))


def isfinite(x):
    return Tensor._wrap(array_module(x._data).isfinite(x._data))


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    xp = array_module(a._data)
    return bool(xp.allclose(a._data, _arr(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    xp = array_module(a._data)
    return Tensor._wrap(xp.isclose(a._data, _arr(b), rtol=rtol, atol=atol, equal_nan=equal_nan))
