"""The backward pass: accumulation, graph freeing, retain_graph, deep chains, hooks, retain_grad,
autograd.grad, grad modes, determinism and the errors of backward()."""

import sys

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import autograd


def test_gradients_accumulate_across_backward_calls():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [3.0 + 2.0, 3.0 + 4.0]
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_a_leaf_used_many_times_sums_its_gradients():
    def run(m):
        x = m.tensor([0.5, -1.5, 2.0], requires_grad=True)
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * w
        y = (h * x + h.exp() * w - x / w).sum() + (x @ w) * x.sum()
        y.backward()
        return x.grad, w.grad

    for mine, theirs in zip(run(nerve), run(torch), strict=True):
        assert_close(mine, theirs)


def test_graph_is_freed_after_backward():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_a_node_is_told_whether_its_backward_is_the_last():
    """ctx.buffers_reusable: True only on a backward that frees the graph, so an op may reuse
    what its forward kept as scratch (the LSTM layer does) without spoiling a second backward."""
    seen = []

    class Records(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 2.0

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.buffers_reusable)
            return grad * 2.0

    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = Records.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    autograd.grad(Records.apply(x).sum(), [x], retain_graph=True)
    autograd.grad(Records.apply(x).sum(), [x])
    assert seen == [False, True, False, True]


def test_a_failed_backward_leaves_no_partial_gradients_in_the_graph():
    calls = []

    class FailsOnce(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 1.0

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            if len(calls) == 1:
                raise ValueError("boom")
            return grad

    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0  # pending (half-summed) when the failing node runs
    y = (FailsOnce.apply(h) + h * h).sum()
    with pytest.raises(ValueError, match="boom"):
        y.backward(retain_graph=True)
    assert x.grad is None
    y.backward()
    # d/dx [3x + 9x^2] = 3 + 18x, with nothing left over from the failed pass
    assert x.grad.tolist() == [21.0, 39.0]


def test_freed_graph_error_from_autograd_grad():
    x = nerve.tensor([1.0], requires_grad=True)
    y = x.sin() * 2
    autograd.grad(y.sum(), x)
    with pytest.raises(RuntimeError, match="a second time"):
        autograd.grad(y.sum(), x)


def test_a_chain_of_10000_ops_backpropagates_iteratively():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # a recursive topological sort would fail far below 10,000
    try:
        x = nerve.tensor([1.0, -0.5], dtype=nerve.float64, requires_grad=True)
        y = x
        for _ in range(10_000):
            y = y * 1.0001
        y.sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000] * 2, rtol=1e-9)


def test_non_scalar_backward_needs_a_gradient():
    x = nerve.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar out"):
        y.backward()
    with pytest.raises(RuntimeError, match="the output has shape \\(2, 3\\)"):
        y.backward()
    with pytest.raises(RuntimeError, match="gradient has shape \\(3,\\) but the output has shape"):
        y.backward(nerve.ones(3))
    y.backward(nerve.full((2, 3), 0.5))
    assert x.grad.tolist() == [[1.0] * 3] * 2


def test_backward_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad and has no grad_fn"):
        nerve.ones(2).sum().backward()
    with nerve.no_grad():
        y = (nerve.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_a_leaf_output_gets_its_gradient():
    x = nerve.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_backward_with_inputs_only_fills_those():
    a = nerve.tensor([1.0], requires_grad=True)
    b = nerve.tensor([2.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


# ---------------------------------------------------------------------------- hooks, retain_grad
def test_hooks_see_and_replace_gradients():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 3
    h.register_hook(lambda g: g * 10)  # replaces the gradient flowing into x
    h.sum().backward()
    assert seen == [[30.0, 30.0]] and x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_hooks_match_torch():
    def run(m):
        x = m.tensor([1.0, -2.0, 0.5], requires_grad=True)
        x.register_hook(lambda g: g * 2)
        a = x.tanh()
        a.register_hook(lambda g: g + 1)
        b = a * x
        b.register_hook(lambda g: g.clamp(max=0.5))
        b.sum().backward()
        return x.grad

    assert_close(run(nerve), run(torch))


def test_register_hook_needs_grad():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that does not requ"):
        nerve.ones(2).register_hook(print)


def test_retain_grad_on_non_leaves():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    k = h * 2
    k.sum().backward()
    assert h.retains_grad and h.grad.tolist() == [2.0, 2.0]
    assert k.grad is None and not k.retains_grad
    with pytest.raises(RuntimeError, match="retain_grad\\(\\) on a tensor that does not require"):
        nerve.ones(1).retain_grad()


# ---------------------------------------------------------------------------- autograd.grad
def test_grad_returns_without_touching_dot_grad():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = nerve.tensor([3.0], requires_grad=True)
    out = (x * x).sum() * y
    gx, gy = autograd.grad(out, (x, y))
    assert gx.tolist() == [6.0, 12.0] and gy.tolist() == [5.0]
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad


def test_grad_with_grad_outputs_and_several_outputs():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a, b = x.sin(), x * x
        return m.autograd.grad([a, b], [x], [m.tensor([1.0, 0.0, 2.0]), m.ones(3)])

    assert_close(run(nerve)[0], run(torch)[0])


def test_grad_of_an_intermediate_tensor():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    out = (h * h).sum()
    (gh,) = autograd.grad(out, h)
    assert gh.tolist() == [4.0, 8.0]


def test_allow_unused():
    x = nerve.tensor([1.0], requires_grad=True)
    unused = nerve.tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="input 1 \\(shape \\(1,\\)\\) was not used.*allow_un"):
        autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = autograd.grad(y, [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_grad_input_must_require_grad():
    x = nerve.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad: input 1 does not require grad"):
        autograd.grad((x * 2).sum(), [x, nerve.ones(1)])


def test_create_graph_gives_higher_derivatives():
    def run(m):
        x = m.tensor([0.3, -1.2], dtype=m.float64, requires_grad=True)
        y = (x.sin() * x.exp()).sum()
        (g,) = m.autograd.grad(y, x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x, create_graph=True)
        (k,) = m.autograd.grad(h.sum(), x)
        return g, h, k

    for mine, theirs in zip(run(nerve), run(torch), strict=True):
        assert_close(mine, theirs)


def test_backward_create_graph_makes_grad_differentiable():
    x = nerve.tensor([2.0], dtype=nerve.float64, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.item() == 12.0  # 3 x^2
    (g2,) = autograd.grad(x.grad.sum(), x)
    assert g2.item() == 12.0  # 6 x


# ---------------------------------------------------------------------------- grad modes
def test_no_grad_enable_grad_set_grad_enabled():
    x = nerve.ones(2, requires_grad=True)
    with nerve.no_grad():
        assert not nerve.is_grad_enabled()
        assert not (x * 2).requires_grad
        with nerve.enable_grad():
            assert (x * 2).requires_grad
    assert nerve.is_grad_enabled()
    with nerve.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    nerve.set_grad_enabled(False)
    assert not nerve.is_grad_enabled()
    nerve.set_grad_enabled(True)
    assert nerve.is_grad_enabled()

    @nerve.no_grad()
    def infer(t):
        return t * 2

    assert not infer(x).requires_grad and nerve.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError):
        with nerve.no_grad():
            raise ValueError
    assert nerve.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf and d.tolist() == [2.0, 4.0]
    d.requires_grad_()
    (d * x).sum().backward()
    assert d.grad.tolist() == [1.0, 2.0] and x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="requires_grad_\\(False\\) on a non-leaf tensor"):
        (x * 2).requires_grad_(False)
    assert (x * 2).grad_fn is not None and not (x * 2).is_leaf


# ---------------------------------------------------------------------------- determinism
def _diamond_order():
    order = []
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x.exp()
    c, d = a + b, a * b
    for name, t in (("a", a), ("b", b), ("c", c), ("d", d)):
        t.register_hook(lambda g, name=name: order.append(name))
    (c * d + a).sum().backward()
    return order, x.grad.numpy().tobytes()


def test_backward_order_and_values_are_deterministic():
    first = _diamond_order()
    assert all(_diamond_order() == first for _ in range(5))
    order = first[0]
    # each node runs after every node that feeds gradient into it
    assert order.index("c") < order.index("a") and order.index("d") < order.index("b")


def test_grad_does_not_alias_between_leaves():
    a = nerve.tensor([1.0], requires_grad=True)
    b = nerve.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(5)
    assert b.grad.tolist() == [1.0]
