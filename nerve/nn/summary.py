"""``nerve.summary(model, input_shape)``: each layer's output shape and parameter count.

It runs one forward pass on a random input of ``input_shape`` (the full shape, batch dim
included) in eval mode without recording a graph, with a hook on every submodule, then prints
and returns the table::

    >>> nerve.summary(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)), (10, 2))
    -----------------------------------------------------------------------------
    Layer (type)                               Output Shape              Param #
    =============================================================================
    0 (Linear)                                 [10, 8]                        24
    1 (Tanh)                                   [10, 8]                         0
    2 (Linear)                                 [10, 1]                         9
    =============================================================================
    Total params: 33
    Trainable params: 33
    Non-trainable params: 0
    ...

Containers get a row too, with their children indented below them; a module called twice gets
a row per call, with "--" for the parameters it already counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nerve.tensor import Tensor

_WIDTHS = (42, 20, 12)


@dataclass
class LayerRow:
    """One call of one submodule: its dotted name, type, output shape(s), parameters, depth."""

    name: str
    type: str
    depth: int
    num_params: int
    output_shape: object = None
    repeated: bool = False


@dataclass
class ModelSummary:
    """What ``summary`` found; ``str()`` is the table."""

    model_name: str
    input_shapes: list
    input_dtype: str
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        width = sum(_WIDTHS) + 3
        lines = ["-" * width, _line("Layer (type)", "Output Shape", "Param #"), "=" * width]
        if not self.rows:
            lines.append(_line(self.model_name, _format_shape(None), f"{self.total_params:,}"))
        for row in self.rows:
            label = "  " * row.depth + f"{row.name} ({row.type})"
            params = "--" if row.repeated else f"{row.num_params:,}"
            lines.append(_line(label, _format_shape(row.output_shape), params))
        mb = 1024 * 1024
        lines += [
            "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            "-" * width,
            f"Input shape: {', '.join(_format_shape(s) for s in self.input_shapes)} "
            f"({self.input_dtype})",
            f"Params size (MB): {self.param_bytes / mb:.2f}",
            f"Buffers size (MB): {self.buffer_bytes / mb:.2f}",
            "-" * width,
        ]
        return "\n".join(lines)

    __repr__ = __str__


def _line(label, shape, params):
    a, b, c = _WIDTHS
    if len(label) > a:
        label = label[: a - 3] + "..."
    return f"{label:<{a}} {shape:<{b}} {params:>{c}}"


def _shape_of(out):
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape_of(o) for o in out]
    if isinstance(out, dict):
        return {k: _shape_of(v) for k, v in out.items()}
    return None


def _format_shape(shape) -> str:
    if shape is None:
        return "--"
    return str(shape).replace("'", "")


def _normalize_shapes(input_shape):
    """One shape (ints) or a sequence of shapes (one per forward argument)."""
    if (
        isinstance(input_shape, (tuple, list))
        and input_shape
        and all(isinstance(s, (tuple, list)) for s in input_shape)
    ):
        shapes = [tuple(s) for s in input_shape]
    elif isinstance(input_shape, (tuple, list)):
        shapes = [tuple(input_shape)]
    elif isinstance(input_shape, int):
        shapes = [(input_shape,)]
    else:
        raise TypeError(
            f"summary: input_shape must be a tuple of ints (batch dim included) or a list of "
            f"them, got {input_shape!r}"
        )
    for s in shapes:
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in s):
            raise ValueError(f"summary: input_shape must hold non-negative ints, got {s}")
    return shapes


def _make_input(shape, dtype, device):
    from nerve import _dtype
    from nerve.ops.creation import zeros
    from nerve.random import Generator, randn

    np_dtype = _dtype.to_np(dtype) if dtype is not None else _dtype.default_float.np
    if np.dtype(np_dtype).kind == "f":
        # NOTE: a private generator, so a summary leaves nerve's random stream untouched.
        return randn(*shape, generator=Generator().manual_seed(0), dtype=dtype, device=device)
    return zeros(*shape, dtype=dtype, device=device)


def summary(
    model, input_shape=None, dtype=None, *, input_data=None, device=None, depth=None, print_fn=print
) -> ModelSummary:
    """Print and return a table of ``model``'s layers: output shape and parameter count of each
    submodule (indented by depth), and the totals.

    input_shape: the full input shape, batch dim included, e.g. ``(1, 1, 28, 28)``; a list of
    shapes for a model with several inputs. dtype: the input dtype (default float32; integer
    dtypes give zeros, e.g. token ids for an Embedding). input_data: a tensor (or tuple) to
    use instead. depth: show submodules only down to this depth. print_fn: where the table
    goes (``None`` to print nothing).
    """
    from nerve.autograd.grad_mode import no_grad
    from nerve.nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    if input_data is None:
        if input_shape is None:
            raise ValueError("summary: give input_shape (batch dim included) or input_data")
        shapes = _normalize_shapes(input_shape)
        inputs = [_make_input(s, dtype, device) for s in shapes]
    else:
        inputs = list(input_data) if isinstance(input_data, (tuple, list)) else [input_data]
        shapes = [tuple(t.shape) for t in inputs]
    input_dtype = inputs[0].dtype.name if inputs and isinstance(inputs[0], Tensor) else "?"

    rows: list[LayerRow] = []
    seen: set[int] = set()
    pending: dict[int, list] = {}  # id(module) -> rows whose forward has not returned yet
    handles = []
    modes = {id(m): m.training for m in model.modules()}
    for name, module in model.named_modules():
        if module is model:
            continue
        level = name.count(".")
        if depth is not None and level >= depth:
            continue
        handles.append(
            module.register_forward_pre_hook(_pre_hook(rows, seen, pending, name, level))
        )
        handles.append(module.register_forward_hook(_post_hook(pending)))
    model.eval()
    try:
        with no_grad():
            model(*inputs)
    except Exception as err:
        raise RuntimeError(
            f"summary: the forward pass of {type(model).__name__} failed on an input of shape "
            f"{', '.join(str(list(s)) for s in shapes)}: {type(err).__name__}: {err}"
        ) from err
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            object.__setattr__(m, "training", modes.get(id(m), m.training))

    params = list(model.parameters())
    result = ModelSummary(
        model_name=type(model).__name__,
        input_shapes=[list(s) for s in shapes],
        input_dtype=input_dtype,
        rows=rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        param_bytes=sum(p.nbytes for p in params),
        buffer_bytes=sum(b.nbytes for b in model.buffers()),
    )
    if print_fn is not None:
        print_fn(str(result))
    return result


def _pre_hook(rows, seen, pending, name, level):
    def hook(module, inputs):
        row = LayerRow(
            name=name.rpartition(".")[2],
            type=type(module).__name__,
            depth=level,
            num_params=sum(p.numel() for p in module.parameters()),
            repeated=id(module) in seen,
        )
        seen.add(id(module))
        rows.append(row)
        pending.setdefault(id(module), []).append(row)

    return hook


def _post_hook(pending):
    def hook(module, inputs, output):
        stack = pending.get(id(module))
        if stack:
            stack.pop().output_shape = _shape_of(output)

    return hook


__all__ = ["summary", "ModelSummary", "LayerRow"]
