"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

Each holds ``weight`` and ``bias`` and calls ``nerve.nn.functional`` (see
``nerve/nn/functional/conv.py`` for the math and the sizes).

Default initialization (PyTorch's): weight ~ ``kaiming_uniform_(a=sqrt(5))``, which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where
fan_in = weight.shape[1] * prod(kernel_size) (in_channels/groups * kH * kW for a convolution).
"""

from __future__ import annotations

import math

from nerve.nn import init
from nerve.nn.functional import conv as F
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.shape import pad as _pad
from nerve.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ints(layer, name, value, n, minimum):
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    ok = isinstance(items, (tuple, list)) and len(items) == n
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if not ok or any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{layer}: {name} must be a {what} int or a tuple of {n} {what} ints, got {value!r}"
        )
    return tuple(items)


def _channels(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        output_padding=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        layer, nd = type(self).__name__, self._nd
        _channels(layer, "in_channels", in_channels)
        _channels(layer, "out_channels", out_channels)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive int, got {groups!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise ValueError(
                    f"{layer}: {name} ({value}) must be divisible by groups ({groups})"
                )
        self.kernel_size = _ints(layer, "kernel_size", kernel_size, nd, 1)
        self.stride = _ints(layer, "stride", stride, nd, 1)
        self.dilation = _ints(layer, "dilation", dilation, nd, 1)
        if isinstance(padding, str) and not self._transposed:
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{layer}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{layer}: padding='same' needs stride 1, got stride {self.stride}"
                )
        else:
            padding = _ints(layer, "padding", padding, nd, 0)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{layer}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(
                f"{layer}: only padding_mode='zeros' is supported, got {padding_mode!r}"
            )
        self.output_padding = _ints(layer, "output_padding", output_padding, nd, 0)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.padding, self.groups, self.padding_mode = padding, groups, padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(_empty(shape, device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        nd = self._nd
        spatial = "L" if nd == 1 else "H, W"
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{type(self).__name__}: expected a Tensor input, got {type(x).__name__}"
            )
        if x.ndim not in (nd + 1, nd + 2) or x.shape[-nd - 1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape (N, {self.in_channels}, {spatial})"
                f" or ({self.in_channels}, {spatial}), got {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


def _empty(shape, device, dtype):
    from nerve.ops.creation import empty

    return empty(*shape, device=device, dtype=dtype)


class _Conv(_ConvNd):
    def forward(self, x):
        self._check_input(x)
        name, nd, padding = type(self).__name__, self._nd, self.padding
        if self.padding_mode != "zeros":
            x, padding = self._pad_explicitly(x), 0
        return F._conv(
            name, nd, x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups
        )

    def forward_pooled(self, x, pool):
        """pool(self(x)) for a MaxPool2d(2) ``pool`` (kernel 2, stride 2): one op where the
        compiled direct kernel takes this convolution (``nerve/nn/functional/conv.py``), the two
        layers in turn otherwise. ``nn.Sequential`` calls it for a Conv2d followed by such a pool."""
        self._check_input(x)
        if self.padding_mode == "zeros" and self._nd == 2:
            fused = F._conv(
                type(self).__name__, 2, x, self.weight, self.bias, self.stride, self.padding,
                self.dilation, self.groups, pool2=True,
            )
            if fused is not None:
                return fused
        return pool(self.forward(x))

    def _pad_explicitly(self, x):
        """reflect/replicate/circular padding as a separate op, before an unpadded convolution."""
        if self.padding == "valid":
            return x
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size, strict=False)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        widths = [w for pair in reversed(pairs) for w in pair]  # last dim first, as F.pad
        return _pad(x, widths, mode=self.padding_mode)


class Conv1d(_Conv):
    """1-D convolution: (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/groups, K).

    L_out = floor((L + 2 padding - dilation (K - 1) - 1) / stride) + 1; padding may be 'same'
    (L_out = L, stride 1) or 'valid' (0). Initialization: see the module docstring.

        >>> nn.Conv1d(4, 8, 3, padding=1)(nerve.randn(2, 4, 10)).shape
        nerve.Size([2, 8, 10])
    """

    _nd = 1

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )


class Conv2d(_Conv):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight
    (C_out, C_in/groups, kH, kW), bias (C_out,).

    H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1; padding may be 'same'
    (H_out = H, stride 1) or 'valid' (0). padding_mode: zeros, reflect, replicate or circular.
    Initialization: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
    C_in/groups * kH * kW (PyTorch's kaiming_uniform_(a=sqrt(5))).

        >>> nn.Conv2d(3, 16, 3, padding=1)(nerve.randn(8, 3, 32, 32)).shape
        nerve.Size([8, 16, 32, 32])
    """

    _nd = 2

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device=device,
            dtype=dtype,
        )


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            device,
            dtype,
        )

    def forward(self, x):
        self._check_input(x)
        return F._conv_transpose(
            type(self).__name__,
            self._nd,
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution: (N, C_in, L) -> (N, C_out, L_out), the gradient of Conv1d
    with respect to its input; weight (C_in, C_out/groups, K).
    L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"): (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    the gradient of Conv2d with respect to its input; weight (C_in, C_out/groups, kH, kW).

    H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    Initialization: as Conv2d with fan_in = C_out/groups * kH * kW (PyTorch's).

        >>> nn.ConvTranspose2d(16, 8, 2, stride=2)(nerve.randn(1, 16, 7, 7)).shape
        nerve.Size([1, 8, 14, 14])
    """

    _nd = 2
