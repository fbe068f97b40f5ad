"""``nerve.nn.functional``: the math of the layers, as functions (state lives in the modules)."""

from nerve.nn.functional.activation import *  # noqa: F401,F403
from nerve.nn.functional.attention import scaled_dot_product_attention  # noqa: F401,E402
from nerve.nn.functional.conv import *  # noqa: F401,F403,E402
from nerve.nn.functional.dropout import *  # noqa: F401,F403,E402
from nerve.nn.functional.embedding import *  # noqa: F401,F403,E402
from nerve.nn.functional.linear import *  # noqa: F401,F403,E402
from nerve.nn.functional.loss import *  # noqa: F401,F403,E402
from nerve.nn.functional.normalization import *  # noqa: F401,F403,E402
from nerve.nn.functional.pooling import *  # noqa: F401,F403,E402
from nerve.nn.functional.upsampling import *  # noqa: F401,F403,E402
from nerve.ops.index import one_hot  # noqa: F401
from nerve.ops.linalg import linear  # noqa: F401
from nerve.ops.shape import pad  # noqa: F401
