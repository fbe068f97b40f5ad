"""Normalization layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm.

The math is in ``nerve.nn.functional.normalization``; these modules hold the learnable affine
parameters (weight = 1, bias = 0 at the start, as in PyTorch) and BatchNorm's running statistics.
"""

from __future__ import annotations

from nerve.nn.functional.normalization import batch_norm, group_norm, layer_norm, rms_norm
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops import creation
from nerve.tensor import Tensor


def _check_positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


def _check_eps(layer, eps):
    if not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"{layer}: eps must be a non-negative number, got {eps!r}")


def _make_affine(module, shape, affine, bias, device, dtype):
    """weight = 1 (when ``affine``) and bias = 0 (when ``affine`` and ``bias``), else None."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if affine:
        module.weight = Parameter(creation.ones(*shape, device=device, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(creation.zeros(*shape, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def _dims_text(shape):
    return ", ".join(map(str, shape))


def _reset_affine(module):
    if module.weight is not None:
        module.weight._data[...] = 1
    if module.bias is not None:
        module.bias._data[...] = 0


class _BatchNorm(Module):
    _expected_dims: tuple = ()
    _shape_text = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "num_features", num_features)
        _check_eps(name, eps)
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _make_affine(self, num_features, affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer(
                "running_mean", creation.zeros(num_features, device=device, dtype=dtype)
            )
            self.register_buffer(
                "running_var", creation.ones(num_features, device=device, dtype=dtype)
            )
            self.register_buffer("num_batches_tracked", creation.tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got {type(x).__name__}")
        if x.ndim not in self._expected_dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected input of shape {self._shape_text.format(self.num_features)}, "
                f"got {tuple(x.shape)}"
            )
        update = self.training and self.track_running_stats
        if update:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version += 1
        # NOTE: PyTorch's semantics: in eval mode, running statistics are used only if tracked.
        use_running = not self.training and self.track_running_stats
        try:
            return batch_norm(
                x,
                self.running_mean if (update or use_running) else None,
                self.running_var if (update or use_running) else None,
                self.weight,
                self.bias,
                not use_running,
                self.momentum,
                self.eps,
                self.num_batches_tracked,
            )
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: {err}") from None

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization (Ioffe & Szegedy, 2015) of x: (N, C) or (N, C, L), per channel C:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    Training: mean/var of the batch (over N and L); running_mean/running_var are updated with
    ``momentum`` (PyTorch's convention: new = (1 - momentum) * old + momentum * batch, with the
    unbiased batch variance). Eval: the running statistics. ``track_running_stats=False``
    always uses batch statistics. Defaults: weight = 1, bias = 0, running_mean = 0,
    running_var = 1.
    """

    _expected_dims = (2, 3)
    _shape_text = "(N, {0}) or (N, {0}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of x: (N, C, H, W) per channel, over N, H and W (see BatchNorm1d)."""

    _expected_dims = (4,)
    _shape_text = "(N, {0}, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of x: (N, C, D, H, W) per channel (see BatchNorm1d)."""

    _expected_dims = (5,)
    _shape_text = "(N, {0}, D, H, W)"


class LayerNorm(Module):
    """Layer normalization (Ba et al., 2016) over the trailing ``normalized_shape`` dims:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    x: (*, *normalized_shape); weight, bias: normalized_shape (1 and 0 at the start), present
    when ``elementwise_affine`` (bias only if ``bias``). Statistics are per sample, so train and
    eval behave the same.

        >>> ln = nn.LayerNorm(64)
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(
                f"LayerNorm: normalized_shape must be a positive int or a tuple of positive ints, "
                f"got {normalized_shape!r}"
            )
        _check_eps("LayerNorm", eps)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _make_affine(self, shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"LayerNorm: expected a Tensor, got {type(x).__name__}")
        k = len(self.normalized_shape)
        if x._data.shape[x._data.ndim - k :] != self.normalized_shape or x._data.ndim < k:
            raise ValueError(
                f"{self!r}: expected input of shape (*, {_dims_text(self.normalized_shape)}), "
                f"got {tuple(x.shape)}"
            )
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalization (Wu & He, 2018): channels are split into ``num_groups`` groups and
    each sample is normalized over each group's channels and spatial positions.

    x: (N, C, *); weight, bias: (C,) (1 and 0 at the start) when ``affine``.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        _check_positive_int("GroupNorm", "num_groups", num_groups)
        _check_positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_groups must divide num_channels, got num_groups={num_groups} "
                f"and num_channels={num_channels}"
            )
        _check_eps("GroupNorm", eps)
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _make_affine(self, num_channels, affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"GroupNorm: expected a Tensor, got {type(x).__name__}")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.num_channels}, *), "
                f"got {tuple(x.shape)}"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """RMS normalization (Zhang & Sennrich, 2019): y = x / sqrt(mean(x^2) + eps) * weight over
    the trailing ``normalized_shape``. weight starts at 1; ``eps=None`` uses the dtype's
    machine epsilon, as PyTorch does."""

    def __init__(
        self,
        normalized_shape,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(
                f"RMSNorm: normalized_shape must be a positive int or a tuple of positive ints, "
                f"got {normalized_shape!r}"
            )
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        k = len(self.normalized_shape)
        if not isinstance(x, Tensor) or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"{self!r}: expected input of shape (*, {_dims_text(self.normalized_shape)}), "
                f"got {tuple(getattr(x, 'shape', ()))}"
            )
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
