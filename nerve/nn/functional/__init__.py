"""``nerve.nn.functional``: the math of the layers, as functions (state lives in the modules)."""

from nerve.nn.functional.activation import *  # noqa: F401,F403
from nerve.ops.index import one_hot  # noqa: F401
from nerve.ops.linalg import linear  # noqa: F401
from nerve.ops.shape import pad  # noqa: F401
