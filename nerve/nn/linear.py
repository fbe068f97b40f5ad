"""Dense layers: ``Linear`` (y = x W^T + b) and ``Bilinear`` (y = x1^T A x2 + b)."""

from __future__ import annotations

import math

from nerve.nn import init
from nerve.nn.functional.linear import bilinear
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.linalg import Linear as _LinearFn
from nerve.ops.linalg import LinearActivation as _LinearActivationFn
from nerve.tensor import Tensor


def _positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


def _empty(shape, device, dtype):
    from nerve.ops.creation import empty

    return empty(*shape, device=device, dtype=dtype)


class Linear(Module):
    """A fully connected layer: y = x W^T + b.

    x: (*, in_features) -> y: (*, out_features); weight: (out_features, in_features),
    bias: (out_features,).

    Default initialization (PyTorch's): weight and bias ~ U(-1/sqrt(in_features),
    1/sqrt(in_features)) (that is ``kaiming_uniform_(weight, a=sqrt(5))``).

        >>> layer = nn.Linear(2, 8)
        >>> layer(nerve.randn(4, 2)).shape
        nerve.Size([4, 8])
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        _positive_int("Linear", "in_features", in_features)
        _positive_int("Linear", "out_features", out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in_features), device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        self._check_input(x)
        return _LinearFn.apply(x, self.weight, self.bias)

    def forward_activated(self, x, activation: str):
        """activation(forward(x)) as one op, for activation in "tanh", "relu", "sigmoid":
        what ``nn.Sequential`` runs for this layer followed by that activation module."""
        self._check_input(x)
        return _LinearActivationFn.apply(x, self.weight, self.bias, activation)

    def _check_input(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(x).__name__}")
        data = x._data
        if data.ndim == 0 or data.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input of shape (*, {self.in_features}), "
                f"got {tuple(data.shape)}"
            )
        weight = self.weight
        if data.dtype != weight._data.dtype:
            raise TypeError(
                f"{self!r}: input dtype {x.dtype} does not match the weight dtype "
                f"{weight.dtype}; convert the input with .to({weight.dtype}) or the layer with "
                f".to({x.dtype})"
            )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k.

    x1: (*, in1_features), x2: (*, in2_features) -> y: (*, out_features);
    weight: (out_features, in1_features, in2_features), bias: (out_features,).

    Default initialization (PyTorch's): weight and bias ~ U(-1/sqrt(in1_features),
    1/sqrt(in1_features)).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        _positive_int("Bilinear", "in1_features", in1_features)
        _positive_int("Bilinear", "in2_features", in2_features)
        _positive_int("Bilinear", "out_features", out_features)
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in1_features, in2_features), device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        for name, x, n in (("x1", x1, self.in1_features), ("x2", x2, self.in2_features)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{self!r}: expected Tensor inputs, {name} is {type(x).__name__}")
            if x.ndim == 0 or x.shape[-1] != n:
                raise ValueError(
                    f"{self!r}: expected {name} of shape (*, {n}), got {tuple(x.shape)}"
                )
        return bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
