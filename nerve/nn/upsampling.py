"""Upsampling layers: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d (see
``nerve/nn/functional/upsampling.py`` for the source-index rules of each mode)."""

from __future__ import annotations

from nerve.nn.functional.upsampling import _MODES, interpolate
from nerve.nn.module import Module


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) inputs to ``size`` or by ``scale_factor``.

    mode: 'nearest', 'linear' (1-D) or 'bilinear' (2-D); ``align_corners`` (linear modes only)
    maps the corner pixels of input and output onto each other.

        >>> nn.Upsample(scale_factor=2, mode="nearest")(nerve.randn(1, 1, 2, 2)).shape
        nerve.Size([1, 1, 4, 4])
    """

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__()
        name = type(self).__name__
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size and scale_factor")
        if mode not in _MODES:
            raise ValueError(f"{name}: mode must be one of {tuple(_MODES)}, got {mode!r}")
        if mode == "nearest" and align_corners is not None:
            raise ValueError(f"{name}: align_corners can only be set with mode linear or bilinear")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x):
        return interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for (N, C, H, W) inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for (N, C, H, W) inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
