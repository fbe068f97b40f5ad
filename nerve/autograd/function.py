"""``Function``: one differentiable operation, and the graph node that remembers it.

A primitive op is a subclass with two static methods::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                 # x: Tensor; returns an array or a Tensor
            ctx.save_output()
            return xp.exp(x._data)

        @staticmethod
        def backward(ctx, grad_output):      # Tensors in, Tensors out (one per forward input)
            return grad_output * ctx.output

``Fn.apply(*args)`` runs ``forward`` and, when grad mode is on and an input requires grad, makes the
instance ``ctx`` a node of the graph: it keeps the edges to its inputs' nodes and whatever
``forward`` saved. ``backward`` is written with Tensor ops, so with ``create_graph=True`` the
backward pass is itself recorded and can be differentiated again.
"""

from __future__ import annotations

import functools
import itertools
import weakref

import numpy as np

from nerve.autograd import anomaly, grad_mode

_enabled = grad_mode._enabled


class _NoContext:
    """Stands in for ``ctx`` when no graph is recorded: saving is a no-op."""

    __slots__ = ("__dict__",)
    needs_input_grad = ()

    def save_for_backward(self, *tensors):
        pass

    def save_output(self):
        pass

    def mark_non_differentiable(self, *outputs):
        pass


_NO_CONTEXT = _NoContext()
_FREED = object()
_NO_EDGE = (None, -1)  # oidx -1: not a node (see next_edges below)
_new = object.__new__
_ndarray = np.ndarray  # the common output type, checked first (CuPy arrays take the general path)
_anomaly = anomaly._enabled
_sequence = itertools.count()  # creation order of nodes: the backward pass runs latest first


class Function:
    """Base class of every differentiable op (built-in and custom)."""

    # Set on the node by apply():
    #   needs_input_grad: tuple[bool], one per forward argument
    #   _seq: creation number (the engine runs nodes latest-created first)
    #   next_edges: (node, output index) | (leaf Tensor, -1) | (None, -1), one per forward argument
    #   _saved: tuple of Tensors (or _FREED after backward); _versions: their versions when saved
    #   _n_out: the number of outputs; _out_meta: (shape, dtype) of each, for multi-output ops
    #   _out_data: the output array when forward called ctx.save_output()

    # Defaults every node starts from (class attributes, so apply() need not set them).
    _saved = ()
    _versions = ()
    _save_out = False
    _out_data = None
    _non_diff = False
    _n_out = 1
    _out_hooks = None  # {output index: [hook]}, from Tensor.register_hook on a non-leaf
    _retained = None  # {output index: weakref to the Tensor}, from Tensor.retain_grad
    _grads = None  # during backward: the gradients of the outputs, summed so far
    # Set by the engine before it calls backward: True when this is the node's last backward
    # (no retain_graph), so backward may overwrite what forward left on ctx, as scratch.
    buffers_reusable = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    # --- what forward calls on ctx ---------------------------------------------------------
    def save_for_backward(self, *tensors):
        """Keep tensors for backward; an in-place change to one of them is detected later."""
        self._saved = tensors
        versions = []  # NOTE: a plain loop; a comprehension costs a function call per op
        for t in tensors:
            versions.append(t._version if t is not None else 0)
        self._versions = versions

    def save_output(self):
        """Keep the (single) output for backward, reachable as ``ctx.output``."""
        self._save_out = True

    def mark_non_differentiable(self, *outputs):
        self._non_diff = True

    # --- what backward reads ------------------------------------------------------------------
    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to read "
                "saved tensors after they were freed). Pass retain_graph=True to the first "
                "backward() if you need to backward through the graph again."
            )
        for t, version in zip(saved, self._versions):
            if t is not None and t._version != version:
                raise RuntimeError(
                    f"{self.name()}: one of the tensors needed for gradient computation has been "
                    f"modified by an in-place operation: {tuple(t.shape)} tensor is at version "
                    f"{t._version}, expected version {version}. Use an out-of-place op instead "
                    "(e.g. x = x + y instead of x += y) before backward()."
                )
        return saved

    @property
    def output(self):
        """The op's output as a Tensor. Under create_graph it is attached to this node."""
        data = self._output_array()
        if _enabled[0]:
            return Tensor._make(data, True, self, 0)
        return Tensor._wrap(data)

    def _output_array(self):
        """The saved output's array, checked as ``output`` checks it (the no-graph fast path)."""
        data = self._out_data
        if data is None:
            raise RuntimeError(f"{self.name()}: the output was freed after backward")
        out = self._out_ref()
        if out is not None and out._version != 0:
            raise RuntimeError(
                f"{self.name()}: its output, needed for gradient computation, has been modified "
                f"by an in-place operation: {tuple(out.shape)} tensor is at version "
                f"{out._version}, expected version 0. Use an out-of-place op instead "
                "(e.g. y = y + 1 instead of y += 1) before backward()."
            )
        return data

    @classmethod
    def name(cls) -> str:
        n = cls.__name__
        return n if n.endswith("Backward") else n + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    # --- running it ---------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        if _enabled[0]:
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    return _apply_with_graph(cls, args, kwargs)
        # NOTE: forwarding an empty **kwargs still copies a dict; most ops take none.
        out = cls.forward(_NO_CONTEXT, *args, **kwargs) if kwargs else cls.forward(_NO_CONTEXT, *args)
        if _anomaly[0]:
            anomaly.check_forward(cls, args, out)
        if type(out) is _ndarray:
            return _wrap(out)
        if type(out) is tuple:
            return tuple(o if isinstance(o, Tensor) else _wrap(o) for o in out)
        return out if isinstance(out, Tensor) else _wrap(out)


def _apply_with_graph(cls, args, kwargs):
    ctx = _new(cls)
    ctx._seq = next(_sequence)
    needs = []
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            needs.append(True)
            node = a._ctx
            edges.append((node, a._oidx) if node is not None else (a, -1))
        else:
            needs.append(False)
            edges.append(_NO_EDGE)
    ctx.needs_input_grad = tuple(needs)
    ctx.next_edges = edges
    _enabled[0] = False  # forward's own Tensor ops are not recorded
    try:
        out = cls.forward(ctx, *args, **kwargs) if kwargs else cls.forward(ctx, *args)
    finally:
        _enabled[0] = True
    if _anomaly[0]:
        anomaly.check_forward(cls, args, out)
        anomaly.record_trace(ctx)
    if type(out) is tuple:
        differentiable = not ctx._non_diff
        arrays = [o._data if isinstance(o, Tensor) else o for o in out]
        results = tuple(
            Tensor._make(a, differentiable and a.dtype.kind == "f", ctx, i)
            for i, a in enumerate(arrays)
        )
        ctx._n_out = len(results)
        ctx._out_meta = tuple((r._data.shape, r._data.dtype) for r in results)
        return results
    data = out._data if isinstance(out, Tensor) else out
    if type(data) is not _ndarray:
        data = _wrap(data)._data  # a NumPy scalar, or a CuPy array
    if ctx._non_diff or data.dtype.kind != "f":
        return _wrap(data)
    result = _new(Tensor)  # Tensor._make, inlined: this runs once per recorded op
    result._data = data
    result.requires_grad = True
    result.grad = None
    result._ctx = ctx
    result._oidx = 0
    result._version = 0
    result._hooks = None
    if ctx._save_out:
        ctx._out_data = data
        ctx._out_ref = weakref.ref(result)  # to see an in-place change of the saved output
    return result


def once_differentiable(backward):
    """Decorate a ``backward`` written on raw arrays: it runs without recording, and asking for
    its derivative (``create_graph=True``) raises an error naming the op instead of a wrong answer.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        recording = _enabled[0]
        _enabled[0] = False
        try:
            grads = backward(ctx, *grad_outputs)
        finally:
            _enabled[0] = recording
        if not recording:
            return grads
        single = not isinstance(grads, tuple)
        grads = (grads,) if single else grads
        marked = []
        for g in grads:
            if isinstance(g, Tensor):
                node = _NotTwiceDifferentiable.__new__(_NotTwiceDifferentiable)
                node._seq = next(_sequence)
                node.op_name = type(ctx).name()
                node.needs_input_grad = ()
                node.next_edges = ()
                node._saved = ()
                node._out_data = None
                g = Tensor._make(g._data, True, node, 0)
            marked.append(g)
        return marked[0] if single else tuple(marked)

    return wrapper


class _NotTwiceDifferentiable(Function):
    @staticmethod
    def backward(ctx, *grad_outputs):
        raise RuntimeError(
            f"{ctx.op_name} cannot be differentiated twice: its backward is not written with "
            "differentiable ops. Use create_graph=False, or compose the op from differentiable ones."
        )


from nerve.tensor import Tensor  # noqa: E402  (tensor.py imports this module's users lazily)

_wrap = Tensor._wrap
