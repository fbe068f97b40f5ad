"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool2d.

No parameters; each calls its function in ``nerve.nn.functional`` (see
``nerve/nn/functional/pooling.py`` for the math and the output sizes).
"""

from __future__ import annotations

from nerve.nn.functional import pooling as F
from nerve.nn.module import Module


def _ints(layer, name, value, n, minimum):
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    ok = isinstance(items, (tuple, list)) and len(items) == n
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    if not ok or any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{layer}: {name} must be a {what} int or a tuple of {n} {what} ints, got {value!r}"
        )
    return value


class _Pool(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        layer, nd = type(self).__name__, self._nd
        kernel = _ints(layer, "kernel_size", kernel_size, nd, 1)
        self.kernel_size = kernel
        self.stride = kernel if stride is None else _ints(layer, "stride", stride, nd, 1)
        self.padding = _ints(layer, "padding", padding, nd, 0)
        self.dilation = _ints(layer, "dilation", dilation, nd, 1)
        self.ceil_mode = bool(ceil_mode)

        def as_tuple(v):
            return (v,) * nd if isinstance(v, int) else tuple(v)

        for p, k, d in zip(
            as_tuple(self.padding), as_tuple(kernel), as_tuple(self.dilation), strict=False
        ):
            if p > (d * (k - 1) + 1) // 2:
                raise ValueError(
                    f"{layer}: padding must be at most half of the (dilated) kernel size, got "
                    f"padding={padding} for kernel_size={kernel_size}"
                )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_Pool):
    """Max over windows of L: (N, C, L) -> (N, C, L_out),
    L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1 (ceil with
    ``ceil_mode``); stride defaults to kernel_size."""

    _nd = 1

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = return_indices

    def forward(self, x):
        return F._max_pool(
            type(self).__name__,
            1,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxPool2d(_Pool):
    """Max over windows of (H, W): (N, C, H, W) -> (N, C, H_out, W_out),
    H_out = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1 (ceil with
    ``ceil_mode``); stride defaults to kernel_size. With ``return_indices`` it also returns each
    maximum's flat index into its H*W plane.

        >>> nn.MaxPool2d(2)(nerve.randn(1, 6, 28, 28)).shape
        nerve.Size([1, 6, 14, 14])
    """

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = return_indices

    def forward(self, x):
        return F._max_pool(
            type(self).__name__,
            2,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class AvgPool1d(_Pool):
    """Average over windows of L: (N, C, L) -> (N, C, L_out). ``count_include_pad=False``
    divides by the number of real (unpadded) inputs under each window."""

    _nd = 1

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F._avg_pool(
            type(self).__name__,
            1,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class AvgPool2d(_Pool):
    """Average over windows of (H, W): (N, C, H, W) -> (N, C, H_out, W_out), sizes as MaxPool2d.
    ``count_include_pad=False`` divides by the number of real inputs under each window;
    ``divisor_override`` replaces the divisor."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F._avg_pool(
            type(self).__name__,
            2,
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class _Adaptive(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """Average over ``output_size`` adaptive bins of L: (N, C, L) -> (N, C, output_size)."""

    def forward(self, x):
        return F._adaptive_avg(type(self).__name__, 1, x, self.output_size)


class AdaptiveAvgPool2d(_Adaptive):
    """Average over adaptive bins: (N, C, H, W) -> (N, C, *output_size); bin i of H covers
    [floor(i H / OH), ceil((i + 1) H / OH)). ``AdaptiveAvgPool2d(1)`` is global average pooling.
    """

    def forward(self, x):
        return F._adaptive_avg(type(self).__name__, 2, x, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max over adaptive bins (as AdaptiveAvgPool2d): (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x):
        return F._adaptive_max(type(self).__name__, x, self.output_size, self.return_indices)
