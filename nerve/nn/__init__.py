"""``nerve.nn``: layers, losses and initializers built on nerve's autograd."""

from nerve.nn import functional  # noqa: F401
