"""The backward pass: reverse-mode differentiation over the recorded graph.

Nodes (Function instances) are visited so that each runs after every node that feeds gradient
into it. Every node carries the sequence number of its creation, and an op is always created after
its inputs' ops, so running the pending nodes latest-created first (a heap on the sequence number,
as PyTorch's engine does) is such an order: no recursion (a chain of 10,000 ops is fine), no
separate sorting pass, and the same order on every run. Each node receives the sum of the
gradients of its outputs and hands each input its share. Leaves accumulate into ``.grad``;
``autograd.grad`` collects them instead. Unless ``retain_graph``, each node forgets what it saved
as soon as it has run.
"""

from __future__ import annotations

from heapq import heappop, heappush

from nerve.autograd import anomaly, grad_mode
from nerve.autograd.function import _FREED
from nerve.device import array_module

_enabled = grad_mode._enabled


def _root_base(arr):
    while arr.base is not None and hasattr(arr.base, "base"):
        arr = arr.base
    return arr


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Backpropagate ``grad_outputs`` from ``outputs``.

    With ``inputs=None`` gradients accumulate into the leaves' ``.grad``. With ``inputs`` given
    (``autograd.grad``), the gradients of exactly those tensors are returned and no ``.grad`` changes.
    """
    # A pending node holds the gradients of its outputs, summed so far, in node._grads (a list,
    # one slot per output); it is taken off the node when the node runs.
    pending = []  # heap of (-sequence number, node): the latest-created node runs first
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, grad]
    for out, g in zip(outputs, grad_outputs):
        node = out._ctx
        if node is None:
            if out.requires_grad:  # a leaf is its own output
                _add_leaf(leaf_grads, out, g)
            continue
        buf = node._grads
        if buf is None:
            buf = node._grads = [None] * node._n_out
            heappush(pending, (-node._seq, node))
        i = out._oidx
        buf[i] = g if buf[i] is None else buf[i] + g

    capture = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            key = (id(t._ctx), t._oidx) if t._ctx is not None else (id(t), -1)
            capture.setdefault(key, []).append(i)

    check_anomaly = anomaly._enabled[0]
    prev = _enabled[0]
    _enabled[0] = create_graph
    try:
        while pending:
            node = heappop(pending)[1]
            grads_in = node._grads
            node._grads = None
            if len(grads_in) > 1 and any(g is None for g in grads_in):
                # an unused output of a multi-output op gets zeros
                xp = array_module(next(g for g in grads_in if g is not None)._data)
                for i, g in enumerate(grads_in):
                    if g is None:
                        grads_in[i] = Tensor._wrap(xp.zeros(*node._out_meta[i]))
            if node._out_hooks is not None:
                for i, fns in node._out_hooks.items():
                    for fn in fns:
                        new = fn(grads_in[i])
                        if new is not None:
                            grads_in[i] = new
            if node._retained is not None and inputs is None:
                for i, ref in node._retained.items():
                    t = ref()
                    if t is not None:
                        t.grad = grads_in[i] if t.grad is None else t.grad + grads_in[i]
            if capture is not None:
                for i, g in enumerate(grads_in):
                    for slot in capture.get((id(node), i), ()):
                        capture[("out", slot)] = g
            if node._saved is _FREED:
                raise RuntimeError(
                    f"{node.name()}: trying to backward through the graph a second time (or to read "
                    "saved tensors after they were freed). Pass retain_graph=True to the first "
                    "backward() if you need to backward through the graph again."
                )
            node.buffers_reusable = not retain_graph
            grads = node.backward(node, *grads_in)
            if type(grads) is not tuple:
                grads = (grads,)
            if check_anomaly:
                anomaly.check_backward(node, grads)
            edges = node.next_edges
            if len(grads) < len(edges):
                raise RuntimeError(
                    f"{node.name()}: backward returned {len(grads)} gradients, expected "
                    f"{len(edges)} (one per forward input, None for non-tensors)"
                )
            if not retain_graph:
                node._saved = _FREED
                node._out_data = None
            for (parent, oidx), g in zip(edges, grads):
                if g is None or parent is None:
                    continue
                if oidx < 0:  # a leaf tensor
                    if g._data.shape != parent._data.shape:
                        raise RuntimeError(
                            f"{node.name()}: backward returned a gradient of shape {tuple(g.shape)} "
                            f"for an input of shape {tuple(parent.shape)}"
                        )
                    entry = leaf_grads.get(id(parent))
                    if entry is None:
                        leaf_grads[id(parent)] = [parent, g]
                    else:
                        entry[1] = entry[1] + g
                else:
                    buf = parent._grads
                    if buf is None:
                        buf = parent._grads = [None] * parent._n_out
                        heappush(pending, (-parent._seq, parent))
                    buf[oidx] = g if buf[oidx] is None else buf[oidx] + g
    finally:
        _enabled[0] = prev
        for _, node in pending:  # only after an error: leave no half-summed gradients behind
            node._grads = None

    if capture is None:
        _accumulate_into_leaves(leaf_grads, create_graph)
        return None
    results = []
    for i, t in enumerate(inputs):
        g = capture.get(("out", i))
        if g is None and t._ctx is None and id(t) in leaf_grads:
            g = _run_leaf_hooks(t, leaf_grads[id(t)][1])
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                "outputs. Pass allow_unused=True if this is expected."
            )
        results.append(g)
    return tuple(results)


def _add_leaf(leaf_grads, leaf, g):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _run_leaf_hooks(leaf, g):
    for fn in leaf._hooks or ():
        new = fn(g)
        if new is not None:
            g = new
    return g


def _accumulate_into_leaves(leaf_grads, create_graph):
    seen = set()
    for leaf, g in leaf_grads.values():
        if leaf._hooks:
            g = _run_leaf_hooks(leaf, g)
        if not create_graph:
            data = g._data
            base = data if data.base is None else _root_base(data)
            # NOTE: a pass-through backward (add, reshape) hands the same array to several
            # leaves; copy so that an in-place change to one .grad cannot reach another.
            if id(base) in seen:
                data = data.copy()
                g = Tensor._wrap(data)
            elif g.requires_grad:
                g = Tensor._wrap(data)
            seen.add(id(base))
        if leaf.grad is None:
            leaf.grad = g
        elif create_graph:
            leaf.grad = leaf.grad + g
        else:
            leaf.grad = Tensor._wrap(leaf.grad._data + g._data)


from nerve.tensor import Tensor  # noqa: E402  (tensor.py imports the autograd package first)
