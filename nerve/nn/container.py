"""Containers: Sequential, ModuleList, ModuleDict, Identity, and the Residual pattern."""

from __future__ import annotations

from collections import OrderedDict

from nerve.nn.activation import ReLU, Sigmoid, Tanh
from nerve.nn.linear import Linear
from nerve.nn.module import Module
from nerve.nn.pooling import MaxPool2d

_FUSED_ACTIVATIONS = {Tanh: "tanh", ReLU: "relu", Sigmoid: "sigmoid"}


def _hooked(module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


class Identity(Module):
    """y = x."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Sequential(Module):
    """Layers applied in order: y = f_n(... f_2(f_1(x))).

        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))

    NOTE: a ``Linear`` directly followed by a ``Tanh``, ``ReLU`` or ``Sigmoid`` runs as one op
    (``Linear.forward_activated``): the same numbers, one graph node instead of two, which is a
    large share of a small network's time. The output's ``grad_fn`` is then a
    ``LinearActivationBackward`` where PyTorch shows the activation's node.

    NOTE: a ``ReLU`` directly followed by a ``MaxPool2d`` runs after it instead: max(0, .) is
    increasing, so relu(maxpool(x)) = maxpool(relu(x)), and the gradient reaches the same input
    (the window's first maximum, or none when it is <= 0). The ReLU then touches a quarter of the
    numbers. The output's ``grad_fn`` is the ReLU's node where PyTorch shows the pooling's.

    A layer with a forward hook, or a subclass of these layers, is never fused or moved.
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for name, layer in layers[0].items():
                self.add_module(name, layer)
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), layer)

    def forward(self, x):
        held = None  # a Linear layer not run yet: the next layer may be its activation
        relu = None  # a ReLU not run yet: if a MaxPool2d follows, the ReLU runs after it
        for layer in self._modules.values():
            if held is not None:
                activation = _FUSED_ACTIVATIONS.get(type(layer))
                if activation is not None and not _hooked(layer):
                    x, held = held.forward_activated(x, activation), None
                    continue
                x, held = held(x), None
            elif relu is not None:
                if type(layer) is MaxPool2d and not layer.return_indices and not _hooked(layer):
                    x, relu = relu(layer(x)), None
                    continue
                x, relu = relu(x), None
            if type(layer) is Linear and not _hooked(layer):
                held = layer
            elif type(layer) is ReLU and not _hooked(layer):
                relu = layer
            else:
                x = layer(x)
        if held is not None:
            return held(x)
        return x if relu is None else relu(x)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        if not -len(keys) <= idx < len(keys):
            raise IndexError(f"Sequential: index {idx} is out of range for {len(keys)} layers")
        return self._modules[keys[idx]]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of Modules whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        for key in list(self._modules):
            self._remove(key)
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def __getitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(items[idx])
        return items[idx]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[idx]
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of Modules whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (dict(modules) if modules else {}).items():
            self.add_module(name, m)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        self._remove(key)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        for name, m in dict(modules).items():
            self.add_module(name, m)


class Residual(Module):
    """A residual connection (He et al., 2015): y = x + f(x).

        block = nn.Residual(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64)))

    The identity path lets the gradient reach early layers undiminished: dy/dx = I + df/dx.
    """

    def __init__(self, fn: Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)
