"""``nn.Parameter``: a tensor that a Module registers as learnable (``requires_grad=True``)."""

from __future__ import annotations

from nerve.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that ``Module.parameters()`` finds. ``Parameter(t)`` shares ``t``'s array."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            import numpy as np

            data = np.zeros((0,), dtype=np.float32)
        arr = data._data if isinstance(data, Tensor) else data
        Tensor.__init__(self, arr, requires_grad=False)
        if isinstance(data, Tensor):
            self._data = data._data  # share, as torch.nn.Parameter does
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self._data), self.requires_grad))


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    __slots__ = ("persistent",)

    def __init__(self, data, persistent: bool = True):
        Tensor.__init__(self, data._data if isinstance(data, Tensor) else data)
        self.persistent = persistent
