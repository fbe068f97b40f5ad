"""``detect_anomaly``: find the op that first produced NaN or Inf, forward or backward.

With anomaly detection on, every op checks its floating outputs; if its inputs were finite and an
output is not, it raises an error naming the op. Each node also remembers where in the user's code
it was created, so a NaN that appears in backward is reported with the forward line that made it.
"""

from __future__ import annotations

import sys
import traceback

_enabled = [False]


class detect_anomaly:
    """Context manager (and decorator) that turns NaN/Inf detection on."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = _enabled[0]
        _enabled[0] = self.check_nan
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False


def is_anomaly_enabled() -> bool:
    return _enabled[0]


def _nonfinite(arr) -> bool:
    if arr is None or getattr(arr, "dtype", None) is None or arr.dtype.kind != "f":
        return False
    from nerve.device import array_module

    return not bool(array_module(arr).isfinite(arr).all())


def _arrays(values):
    from nerve.tensor import Tensor

    for v in values if isinstance(values, tuple) else (values,):
        yield v._data if isinstance(v, Tensor) else v


def _in_backward() -> bool:
    """Whether the engine's backward pass is on the call stack."""
    from nerve.autograd.engine import run_backward

    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is run_backward.__code__:
            return True
        frame = frame.f_back
    return False


def check_forward(cls, args, out) -> None:
    if any(_nonfinite(a) for a in _arrays(tuple(args))):
        return  # not the first op to produce it
    if any(_nonfinite(o) for o in _arrays(out)) and _in_backward():
        return  # an op inside a node's backward: check_backward names that node instead
    if any(_nonfinite(o) for o in _arrays(out)):
        raise RuntimeError(
            f"anomaly detected: {cls.__name__} produced NaN or Inf in its forward pass "
            "from finite inputs"
        )


def record_trace(ctx) -> None:
    ctx._trace = "".join(traceback.format_stack(limit=12)[:-3])


def check_backward(node, grads) -> None:
    if any(_nonfinite(g) for g in _arrays(tuple(grads))):
        where = getattr(node, "_trace", "")
        raise RuntimeError(
            f"anomaly detected: {node.name()} returned NaN or Inf gradients in the backward pass."
            + (f"\nThe forward call that created it:\n{where}" if where else "")
        )
