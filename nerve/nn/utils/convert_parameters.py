"""Flatten parameters into one vector and back (for second-order methods, evolution strategies,
or inspecting a model as one point in weight space)."""

from __future__ import annotations

from nerve.tensor import Tensor


def _check_tensors(parameters, op: str) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    devices = set()
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors (parameters), got {type(p).__name__}")
        devices.add(p.device.type)
    if len(devices) > 1:
        raise TypeError(f"{op}: found parameters on different devices: {sorted(devices)}")
    return parameters


def parameters_to_vector(parameters) -> Tensor:
    """All parameters, flattened and concatenated in order: shape (sum of numel,).

    Differentiable (a ``cat`` of reshapes), as in PyTorch.

    Example::

        >>> vec = nerve.nn.utils.parameters_to_vector(model.parameters())
    """
    from nerve.ops.shape import cat

    parameters = _check_tensors(parameters, "parameters_to_vector")
    if not parameters:
        raise ValueError("parameters_to_vector: expected at least one parameter, got none")
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Set the parameters' values from one vector (the inverse of ``parameters_to_vector``).

    As in PyTorch, each parameter's data becomes a view into ``vec`` (no copy).

    Args:
        vec: a 1-D tensor with as many entries as the parameters have together.
        parameters: the tensors to overwrite, in the order ``parameters_to_vector`` used.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got {type(vec).__name__}")
    parameters = _check_tensors(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: expected a 1-D vector of {total} entries (the parameters' "
            f"total), got shape {tuple(vec.shape)}"
        )
    if parameters and vec.device != parameters[0].device:
        raise TypeError(
            f"vector_to_parameters: vec is on {vec.device} but the parameters on "
            f"{parameters[0].device}"
        )
    start = 0
    for p in parameters:
        n = p.numel()
        p._data = vec._data[start : start + n].reshape(p._data.shape)
        p._version += 1
        start += n
