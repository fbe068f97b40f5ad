"""Gradient mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

NOTE: the flag is a one-element list so the hot path reads it with one index, no attribute lookup.
It is process-global (PyTorch's is thread-local); nerve's background threads never build graphs.
"""

from __future__ import annotations

import functools

_enabled = [True]


def is_grad_enabled() -> bool:
    return _enabled[0]


class set_grad_enabled:
    """Turn graph recording on or off, as a call, a context manager or a decorator."""

    def __init__(self, mode: bool):
        self.prev = _enabled[0]
        self.mode = bool(mode)
        _enabled[0] = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False


class _GradModeContext:
    mode = True

    def __enter__(self):
        self.prev = _enabled[0]
        _enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Inside ``with nerve.no_grad():`` ops record no graph (inference, optimizer updates)."""

    mode = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


inference_mode = no_grad
