"""``nerve.nn``: layers, losses and initializers built on nerve's autograd."""

from nerve.nn import functional  # noqa: F401
from nerve.nn.container import Identity, ModuleDict, ModuleList, Residual, Sequential  # noqa: F401
from nerve.nn.module import Module  # noqa: F401
from nerve.nn.parameter import Buffer, Parameter  # noqa: F401
