"""Data augmentation and normalization, composable and seeded.

Augmentation is a regularizer: each epoch sees slightly different inputs (shifted, flipped,
noisy), so a network cannot memorize the exact pixels. Every transform takes a Tensor or a
NumPy array and returns the same kind:

- image transforms take ``x: (..., C, H, W)`` -- one image ``(C, H, W)`` or a batch
  ``(N, C, H, W)``; in a batch, every image gets its own random draw, so applying a transform
  to a whole DataLoader batch is the fast way to augment;
- :class:`GaussianNoise` and :class:`Lambda` take any shape.

Random transforms take ``generator`` (a ``nerve.Generator`` or ``numpy.random.Generator``);
without one they draw from nerve's global generator, so ``nerve.manual_seed`` fixes them.
Transforms act on data, outside autograd: a tensor that requires grad is refused.

    >>> augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), GaussianNoise(0.1)])
    >>> for xb, yb in loader:                # xb: (B, 1, 28, 28)
    ...     xb = augment(xb)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nerve.data.sampler import numpy_generator

__all__ = [
    "Compose",
    "GaussianNoise",
    "Lambda",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomShift",
    "ToTensor",
]


def _unwrap(x, name: str):
    """(array, array module, rewrap) for a Tensor or an array."""
    from nerve.device import array_module
    from nerve.tensor import Tensor

    if isinstance(x, Tensor):
        if x.requires_grad:
            raise ValueError(f"{name}: transforms are for data; got a tensor that requires grad")
        return x._data, array_module(x._data), Tensor._wrap
    if isinstance(x, np.ndarray):
        return x, np, lambda array: array
    raise TypeError(f"{name}: expected a nerve.Tensor or numpy.ndarray, got {type(x).__name__}")


def _images(array, name: str):
    if array.ndim < 3:
        raise ValueError(f"{name}: expected images (..., C, H, W), got shape {tuple(array.shape)}")
    return array.reshape(-1, *array.shape[-3:])  # (N, C, H, W)


class Compose:
    """Apply ``transforms`` in order: ``Compose([f, g])(x) == g(f(x))``."""

    def __init__(self, transforms: Sequence[Callable]):
        if not all(callable(t) for t in transforms):
            raise TypeError("Compose: every transform must be callable")
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class ToTensor:
    """A uint8 image ``(..., H, W, C)`` in 0..255 -> float32 Tensor ``(..., C, H, W)`` in [0, 1].

    Float arrays are only moved to channels-first. A 2-D ``(H, W)`` image gets ``C = 1``.
    """

    def __call__(self, image):
        from nerve.tensor import Tensor

        array, xp, _ = _unwrap(image, "ToTensor")
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim < 3:
            raise ValueError(f"ToTensor: expected an image (H, W[, C]), got {array.shape}")
        array = xp.moveaxis(array, -1, -3)
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / 255.0
        return Tensor._wrap(xp.ascontiguousarray(array))


class Normalize:
    """``(x - mean) / std`` per channel: ``mean``, ``std`` are numbers or one value per channel
    ``C`` of ``x: (..., C, H, W)``. Floating-point input only; the dtype is kept."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-d sequences")
        if (self.std == 0).any():
            raise ValueError(
                f"Normalize: std evaluated to zero, leading to division by zero: {std}"
            )

    def __call__(self, x):
        array, xp, wrap = _unwrap(x, "Normalize")
        if array.dtype.kind != "f":
            raise TypeError(f"Normalize: expected a floating-point input, got {array.dtype}")
        mean, std = self.mean, self.std
        if mean.ndim == 1 or std.ndim == 1:
            channels = array.shape[-3] if array.ndim >= 3 else None
            for name, value in (("mean", mean), ("std", std)):
                if value.ndim == 1 and len(value) != channels:
                    raise ValueError(
                        f"Normalize: {name} has {len(value)} values but x of shape "
                        f"{tuple(array.shape)} has {channels} channels (dim -3)"
                    )
            mean = mean.reshape(-1, 1, 1) if mean.ndim == 1 else mean
            std = std.reshape(-1, 1, 1) if std.ndim == 1 else std
        mean = xp.asarray(mean, dtype=array.dtype)
        std = xp.asarray(std, dtype=array.dtype)
        return wrap((array - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints >= 0, got {value!r}")
    return int(pair[0]), int(pair[1])


class RandomCrop:
    """Pad each image by ``padding`` (with ``fill`` or the ``padding_mode``), then cut a random
    ``size = (h, w)`` window: ``x: (..., C, H, W) -> (..., C, h, w)``.

    ``padding_mode``: ``"constant"`` (``fill``), ``"edge"`` or ``"reflect"``.
    """

    def __init__(self, size, padding=0, fill=0.0, padding_mode="constant", generator=None):
        self.size = None if size is None else _pair(size, "RandomCrop: size")
        self.padding = _pair(padding, "RandomCrop: padding")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(
                f"RandomCrop: padding_mode must be 'constant', 'edge' or 'reflect', "
                f"got {padding_mode!r}"
            )
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def __call__(self, x):
        array, xp, wrap = _unwrap(x, type(self).__name__)
        images = _images(array, type(self).__name__)
        n, c, h, w = images.shape
        crop_h, crop_w = self.size if self.size is not None else (h, w)
        pad_h, pad_w = self.padding
        if crop_h > h + 2 * pad_h or crop_w > w + 2 * pad_w:
            raise ValueError(
                f"{type(self).__name__}: crop size {(crop_h, crop_w)} is larger than the padded "
                f"image {(h + 2 * pad_h, w + 2 * pad_w)}"
            )
        widths = ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w))
        if self.padding_mode == "constant":
            padded = xp.pad(images, widths, mode="constant", constant_values=self.fill)
        else:
            padded = xp.pad(images, widths, mode=self.padding_mode)
        rng = numpy_generator(self.generator)
        top = rng.integers(0, h + 2 * pad_h - crop_h + 1, size=n)
        left = rng.integers(0, w + 2 * pad_w - crop_w + 1, size=n)
        rows = xp.asarray(top[:, None] + np.arange(crop_h))  # (N, h)
        cols = xp.asarray(left[:, None] + np.arange(crop_w))  # (N, w)
        batch = xp.arange(n)[:, None, None, None]
        channel = xp.arange(c)[None, :, None, None]
        out = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, h, w)
        return wrap(out.reshape(*array.shape[:-2], crop_h, crop_w))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomShift(RandomCrop):
    """Shift each image by up to ``max_shift`` pixels in each direction, filling with ``fill``:
    a :class:`RandomCrop` back to the input size after padding by ``max_shift``."""

    def __init__(self, max_shift: int, fill=0.0, generator=None):
        super().__init__(None, padding=max_shift, fill=fill, generator=generator)


class RandomHorizontalFlip:
    """Mirror each image left-right (``x[..., ::-1]``) with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, x):
        array, xp, wrap = _unwrap(x, "RandomHorizontalFlip")
        images = _images(array, "RandomHorizontalFlip")
        flip = numpy_generator(self.generator).random(len(images)) < self.p
        mask = xp.asarray(flip)[:, None, None, None]
        out = xp.where(mask, images[..., ::-1], images)
        return wrap(out.reshape(array.shape))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise:
    """``x + mean + std * eps`` with ``eps ~ N(0, 1)`` drawn per element; any shape."""

    def __init__(self, std: float = 0.1, mean: float = 0.0, generator=None):
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std = std
        self.mean = mean
        self.generator = generator

    def __call__(self, x):
        array, xp, wrap = _unwrap(x, "GaussianNoise")
        if array.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: expected a floating-point input, got {array.dtype}")
        noise = numpy_generator(self.generator).standard_normal(array.shape)
        noise = xp.asarray(noise, dtype=array.dtype)
        return wrap(array + array.dtype.type(self.mean) + array.dtype.type(self.std) * noise)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std}, mean={self.mean})"
