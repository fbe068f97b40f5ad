"""``nn.utils``: helpers around parameters and their gradients (clipping, flattening)."""

from nerve.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from nerve.nn.utils.convert_parameters import (  # noqa: F401
    parameters_to_vector,
    vector_to_parameters,
)
