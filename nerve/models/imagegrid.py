"""A grid of small images, for looking at what a generative model draws.

``image_grid(images, nrow)`` tiles ``(N, 1, H, W)`` or ``(N, H, W)`` images in [0, 1] into one
array; ``save_image_grid(images, path)`` writes it as a grey-scale PNG (needs matplotlib).
"""

from __future__ import annotations

import numpy as np

from nerve.datasets.common import require


def image_grid(images, nrow: int = 8, pad: int = 1, upscale: int = 1) -> np.ndarray:
    """images: (N, 1, H, W) or (N, H, W), values in [0, 1] -> (rows*(H+pad)+pad, ...) array."""
    arr = np.asarray(images.detach().numpy() if hasattr(images, "detach") else images)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(f"image_grid: expected 1 channel, got shape {arr.shape}")
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(f"image_grid: images must be (N, 1, H, W) or (N, H, W), got {arr.shape}")
    if upscale > 1:
        arr = arr.repeat(upscale, axis=1).repeat(upscale, axis=2)
    n, h, w = arr.shape
    rows = -(-n // nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), 0.3, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top:top + h, left:left + w] = np.clip(arr[k], 0.0, 1.0)
    return grid


def save_image_grid(images, path, nrow: int = 8, upscale: int = 4) -> str:
    """Write ``image_grid(images)`` as a PNG (ink dark on white) and return the path."""
    require("matplotlib", "nerve.models.imagegrid.save_image_grid", extra="train")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = image_grid(images, nrow, pad=1, upscale=upscale)
    plt.imsave(str(path), grid, cmap="gray_r", vmin=0.0, vmax=1.0)
    return str(path)
