"""``nn.init``: fill a tensor in place with the values a layer starts from.

Every function writes into ``tensor._data`` without recording a graph (as ``torch.no_grad()``),
takes an optional ``generator=`` (default: the one ``nerve.manual_seed`` seeds) and returns the
tensor. Scales follow PyTorch, so the same layer starts from the same distribution:

    xavier (Glorot & Bengio, 2010):  Var(w) = gain^2 * 2 / (fan_in + fan_out)
    kaiming (He et al., 2015):       Var(w) = gain^2 / fan      (fan = fan_in or fan_out)
    uniform on [-a, a] has Var = a^2 / 3, hence a = sqrt(3) * std.

For a weight of shape (out, in, *kernel), fan_in = in * prod(kernel), fan_out = out * prod(kernel).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.device import move
from nerve.random import _generator
from nerve.tensor import Tensor

_LINEAR_LIKE = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def _check(tensor, fn):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{fn}: expected a Tensor, got {type(tensor).__name__}")


def _write(tensor, values):
    """Store ``values`` (a NumPy array or number) into the tensor's array, keeping its dtype."""
    arr = np.asarray(values, dtype=tensor._data.dtype)
    tensor._data[...] = move(arr, tensor.device)
    tensor._version += 1
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain that keeps activations' variance stable through ``nonlinearity``:
    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_LINEAR_LIKE + ('tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel)."""
    _check(tensor, "_calculate_fan_in_and_fan_out")
    if tensor.ndim < 2:
        raise ValueError(
            "init: fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions, got shape {tuple(tensor.shape)}"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """w ~ U(a, b)."""
    _check(tensor, "uniform_")
    if b < a:
        raise ValueError(f"init.uniform_: expected a <= b, got a={a}, b={b}")
    return _write(tensor, _generator(generator).uniform(a, b, tensor._data.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """w ~ N(mean, std^2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"init.normal_: std must be non-negative, got {std}")
    return _write(tensor, _generator(generator).normal(mean, std, tensor._data.shape))


def trunc_normal_(
    tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
):
    """w ~ N(mean, std^2) restricted to [a, b] (absolute bounds, as in PyTorch): values outside
    are redrawn."""
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"init.trunc_normal_: expected a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"init.trunc_normal_: std must be positive, got {std}")
    mass = 0.5 * (
        math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))
    )
    if mass < 1e-4:
        raise ValueError(
            f"init.trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); "
            "widen the bounds or move the mean"
        )
    rng = _generator(generator)
    n = tensor._data.size
    out = np.empty(n)
    filled = 0
    while filled < n:
        draw = rng.normal(mean, std, int((n - filled) / mass) + 16)
        draw = draw[(draw >= a) & (draw <= b)][: n - filled]
        out[filled : filled + draw.size] = draw
        filled += draw.size
    return _write(tensor, out.reshape(tensor._data.shape))


def constant_(tensor, val: float):
    """w = val."""
    _check(tensor, "constant_")
    return _write(tensor, np.full(tensor._data.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """The identity matrix (a 2-D tensor); it keeps a linear layer's input unchanged."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"init.eye_: expected a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups: int = 1):
    """A convolution kernel (out, in, *k) that passes each input channel through unchanged."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"init.dirac_: expected a 3-, 4- or 5-D tensor, got {tuple(tensor.shape)}")
    out_per_group = tensor.shape[0] // groups
    if out_per_group * groups != tensor.shape[0]:
        raise ValueError(
            f"init.dirac_: dim 0 ({tensor.shape[0]}) is not divisible by groups={groups}"
        )
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            values[(g * out_per_group + d, d) + centre] = 1.0
    return _write(tensor, values)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """w ~ U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """w ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """w ~ U(-bound, bound), bound = gain * sqrt(3 / fan)  (He et al., 2015).

    ``a`` is the negative slope of the leaky_relu that follows; ``mode`` chooses fan_in
    (preserves the forward variance) or fan_out (preserves the backward variance)."""
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(
    tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
):
    """w ~ N(0, std^2), std = gain / sqrt(fan)."""
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator=generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013): the QR factor Q of a Gaussian
    matrix, with the signs of R's diagonal folded in so Q is uniformly distributed. Tensors with
    more than 2 dims are treated as (shape[0], prod(shape[1:]))."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(
            f"init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
            f"{tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor._data.shape))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """A 2-D weight ~ N(0, std^2) with a fraction ``sparsity`` of each column set to zero."""
    _check(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"init.sparse_: expected a 2-D tensor, got shape {tuple(tensor.shape)}")
    rng = _generator(generator)
    rows, cols = tensor.shape
    values = rng.normal(0.0, std, (rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        values[rng.np_rng.permutation(rows)[:zeros], c] = 0.0
    return _write(tensor, values)


__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
]
