"""``Flatten`` and ``Unflatten``: reshape between a feature map and a feature vector."""

from __future__ import annotations

from nerve.nn.module import Module
from nerve.tensor import Tensor


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Flatten: expected a Tensor, got {type(x).__name__}")
        nd = max(x.ndim, 1)
        for d in (self.start_dim, self.end_dim):
            if not -nd <= d < nd:
                raise ValueError(
                    f"{self!r}: dim {d} is out of range for an input of shape {tuple(x.shape)}"
                )
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 12) -> (N, 3, 4) with
    ``Unflatten(1, (3, 4))``. One entry may be -1 (inferred)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        sizes = tuple(unflattened_size)
        if (
            not sizes
            or sizes.count(-1) > 1
            or any(
                isinstance(s, bool) or not isinstance(s, int) or (s <= 0 and s != -1) for s in sizes
            )
        ):
            raise ValueError(
                f"Unflatten: unflattened_size must be a tuple of positive ints (one may be -1), "
                f"got {unflattened_size!r}"
            )
        self.dim, self.unflattened_size = dim, sizes

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Unflatten: expected a Tensor, got {type(x).__name__}")
        if not -max(x.ndim, 1) <= self.dim < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(
                f"{self!r}: dim {self.dim} is out of range for an input of shape {tuple(x.shape)}"
            )
        n = x.shape[self.dim]
        known = 1
        for s in self.unflattened_size:
            known *= s if s != -1 else 1
        if (-1 in self.unflattened_size and n % known) or (
            -1 not in self.unflattened_size and known != n
        ):
            raise ValueError(
                f"{self!r}: dim {self.dim} of the input has size {n}, which cannot be split into "
                f"{self.unflattened_size} (input shape {tuple(x.shape)})"
            )
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
