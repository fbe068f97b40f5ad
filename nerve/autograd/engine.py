"""The backward pass: reverse-mode differentiation over the recorded graph.

Nodes (Function instances) are visited in reverse topological order, found by an iterative
depth-first search (no recursion, so a chain of 10,000 ops is fine; and no sets, so the order is the
same on every run). Each node receives the sum of the gradients of its outputs and hands each input
its share. Leaves accumulate into ``.grad``; ``autograd.grad`` collects them instead. Unless
``retain_graph``, each node forgets what it saved as soon as it has run.
"""

from __future__ import annotations

from nerve.autograd import anomaly, grad_mode
from nerve.autograd.function import _FREED
from nerve.device import array_module

_enabled = grad_mode._enabled


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds gradient into it."""
    order = []
    visited = {}
    for root in roots:
        if root is None or id(root) in visited:
            continue
        visited[id(root)] = root
        stack = [(root, iter(root.next_edges))]
        while stack:
            node, edges = stack[-1]
            for parent, _ in edges:
                if parent is not None and not hasattr(parent, "_data"):  # nodes, not leaf tensors
                    if id(parent) not in visited:
                        visited[id(parent)] = parent
                        stack.append((parent, iter(parent.next_edges)))
                        break
            else:
                stack.pop()
                order.append(node)
    order.reverse()  # roots first
    return order


def _root_base(arr):
    while arr.base is not None and hasattr(arr.base, "base"):
        arr = arr.base
    return arr


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Backpropagate ``grad_outputs`` from ``outputs``.

    With ``inputs=None`` gradients accumulate into the leaves' ``.grad``. With ``inputs`` given
    (``autograd.grad``), the gradients of exactly those tensors are returned and no ``.grad`` changes.
    """
    from nerve.tensor import Tensor

    buffers: dict[int, list] = {}
    roots = []
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, grad]
    for out, g in zip(outputs, grad_outputs):
        node = out._ctx
        if node is None:
            if out.requires_grad:  # a leaf is its own output
                _add_leaf(leaf_grads, out, g)
            continue
        buf = buffers.get(id(node))
        if buf is None:
            buf = buffers[id(node)] = [None] * len(node._out_meta)
        i = out._oidx
        buf[i] = g if buf[i] is None else buf[i] + g
        roots.append(node)

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
        for node in _topological_order(roots):
            grads_in = buffers.pop(id(node), None)
            if grads_in is None:
                continue
            if len(grads_in) > 1 and any(g is None for g in grads_in):
                # an unused output of a multi-output op gets zeros
                xp = array_module(next(g for g in grads_in if g is not None)._data)
                for i, g in enumerate(grads_in):
                    if g is None:
                        grads_in[i] = Tensor._wrap(xp.zeros(*node._out_meta[i]))
            node_dict = node.__dict__
            if "_out_hooks" in node_dict:
                for i, fns in node_dict["_out_hooks"].items():
                    for fn in fns:
                        new = fn(grads_in[i])
                        if new is not None:
                            grads_in[i] = new
            if "_retained" in node_dict and inputs is None:
                for i, ref in node_dict["_retained"].items():
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
            for k, (parent, oidx) in enumerate(edges):
                if parent is None:
                    continue
                g = grads[k]
                if g is None:
                    continue
                if isinstance(parent, Tensor):
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
                    buf = buffers.get(id(parent))
                    if buf is None:
                        buf = buffers[id(parent)] = [None] * len(parent._out_meta)
                    buf[oidx] = g if buf[oidx] is None else buf[oidx] + g
    finally:
        _enabled[0] = prev

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
    from nerve.tensor import Tensor

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
