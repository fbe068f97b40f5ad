"""Containers: Sequential, ModuleList, ModuleDict, Identity, and the Residual pattern."""

from __future__ import annotations

from collections import OrderedDict

from nerve.nn.activation import ReLU, Sigmoid, Tanh
from nerve.nn.conv import Conv2d
from nerve.nn.linear import Linear
from nerve.nn.module import Module
from nerve.nn.pooling import MaxPool2d

_FUSED_ACTIVATIONS = {Tanh: "tanh", ReLU: "relu", Sigmoid: "sigmoid"}


def _hooked(module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


def _plain(module, *kinds) -> bool:
    """``module`` is one of these exact classes (not a subclass) and has no hooks."""
    return type(module) in kinds and not _hooked(module)


def _pools_by_two(layers, i) -> bool:
    """layers[i] is a plain MaxPool2d(2): kernel 2, stride 2, no padding, dilation or extras."""
    if i >= len(layers) or not _plain(layers[i], MaxPool2d):
        return False
    pool = layers[i]
    pairs = [_pair(v) for v in (pool.kernel_size, pool.stride or pool.kernel_size, pool.dilation)]
    return (
        pairs == [(2, 2), (2, 2), (1, 1)]
        and _pair(pool.padding) == (0, 0)
        and not (pool.ceil_mode or pool.return_indices)
    )


def _pooled_block(layers, i, x):
    """(output, next index) where layers[i:] start with Conv2d [ReLU] MaxPool2d(2) or with ReLU
    MaxPool2d, run as Sequential's NOTE says; None otherwise."""
    layer = layers[i]
    after = layers[i + 1] if i + 1 < len(layers) else None
    if type(layer) is ReLU:
        if _plain(after, MaxPool2d) and not after.return_indices:
            return layer(after(x)), i + 2
        return None
    if _pools_by_two(layers, i + 1):
        return layer.forward_pooled(x, after), i + 2
    if _plain(after, ReLU) and _pools_by_two(layers, i + 2):
        return after(layer.forward_pooled(x, layers[i + 2])), i + 3
    return None


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


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

    NOTE: a ``Conv2d`` followed by ``MaxPool2d(2)`` (kernel 2, stride 2; a ReLU between them
    moves after the pooling, as above) runs as ``Conv2d.forward_pooled``: one op where the direct
    convolution kernel takes the layer, which pools each output row while it is in cache. The
    numbers are those of the layers in turn.

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
        layers = tuple(self._modules.values())
        n, i = len(layers), 0
        while i < n:
            layer = layers[i]
            kind = type(layer)
            if kind is Linear and i + 1 < n:
                after = layers[i + 1]
                activation = _FUSED_ACTIVATIONS.get(type(after))
                if activation is not None and not (_hooked(layer) or _hooked(after)):
                    x, i = layer.forward_activated(x, activation), i + 2
                    continue
            elif (kind is Conv2d or kind is ReLU) and not _hooked(layer):
                ran = _pooled_block(layers, i, x)
                if ran is not None:
                    x, i = ran
                    continue
            x, i = layer(x), i + 1
        return x

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
