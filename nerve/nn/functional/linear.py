"""Dense maps: ``linear`` (y = x W^T + b, the fused op of nerve.ops.linalg, re-exported here so
that ``F.linear`` is the function, not this module) and ``bilinear`` (y_k = x1^T A_k x2 + b_k)."""

from __future__ import annotations

from nerve.ops.linalg import einsum, linear


def bilinear(x1, x2, weight, bias=None):
    """x1: (*, in1), x2: (*, in2), weight: (out, in1, in2), bias: (out,) -> (*, out)."""
    if tuple(x1.shape[:-1]) != tuple(x2.shape[:-1]):
        raise ValueError(
            f"bilinear: x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} must have the same "
            "leading (batch) dims"
        )
    lead = tuple(x1.shape[:-1])
    a = x1.reshape(-1, x1.shape[-1])  # (B, in1)
    b = x2.reshape(-1, x2.shape[-1])  # (B, in2)
    out = einsum("bi,oij,bj->bo", a, weight, b)  # (B, out)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, weight.shape[0])


__all__ = ["linear", "bilinear"]
