"""Custom ops: ``nerve.autograd.Function`` with static forward/backward, ``ctx.save_for_backward``,
``ctx.needs_input_grad``, ``Fn.apply``, and ``once_differentiable``'s error naming the op."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve.autograd import Function, once_differentiable


class Cube(Function):
    """y = x^3 with a backward written in Tensor ops, so it differentiates again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._data**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x


class ScaledAdd(Function):
    """y = a + alpha * b, with a non-tensor argument in the middle."""

    seen_needs = None

    @staticmethod
    def forward(ctx, a, alpha, b):
        ctx.alpha = alpha
        return a._data + alpha * b._data

    @staticmethod
    def backward(ctx, grad_output):
        ScaledAdd.seen_needs = ctx.needs_input_grad
        need_a, _, need_b = ctx.needs_input_grad
        return (grad_output if need_a else None, None, grad_output * ctx.alpha if need_b else None)


class ArrayCube(Function):
    """y = x^3 with a backward on raw arrays: differentiable once only."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._data**3

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return nerve.Tensor._wrap(grad_output._data * 3 * x._data**2)


def test_custom_function_forward_and_backward():
    x = nerve.tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.tolist() == [1.0, -8.0] and y.grad_fn is not None
    assert repr(y.grad_fn) == "<CubeBackward>"
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_custom_function_second_derivative():
    x = nerve.tensor([1.5, -2.0], dtype=nerve.float64, requires_grad=True)
    (g,) = nerve.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = nerve.autograd.grad(g.sum(), x)
    assert_close(h, 6 * x.detach())


def test_needs_input_grad_and_non_tensor_arguments():
    a = nerve.tensor([1.0, 2.0], requires_grad=True)
    b = nerve.tensor([3.0, 4.0])
    y = ScaledAdd.apply(a, 0.5, b)
    assert y.tolist() == [2.5, 4.0]
    y.sum().backward()
    assert ScaledAdd.seen_needs == (True, False, False)
    assert a.grad.tolist() == [1.0, 1.0] and b.grad is None
    b.requires_grad_()
    ScaledAdd.apply(a, 2.0, b).sum().backward()
    assert ScaledAdd.seen_needs == (True, False, True) and b.grad.tolist() == [2.0, 2.0]


def test_no_graph_without_grad():
    y = Cube.apply(nerve.tensor([2.0]))
    assert y.grad_fn is None and not y.requires_grad and y.tolist() == [8.0]
    with nerve.no_grad():
        assert Cube.apply(nerve.tensor([2.0], requires_grad=True)).grad_fn is None


def test_custom_function_matches_torch():
    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x * x

    data = np.array([0.5, -1.0, 2.0])
    x, xt = nerve.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (Cube.apply(x) * x).sum().backward()
    (TorchCube.apply(xt) * xt).sum().backward()
    assert_close(x.grad, xt.grad)


def test_once_differentiable_works_once_and_names_the_op_twice():
    x = nerve.tensor([1.0, 2.0], dtype=nerve.float64, requires_grad=True)
    ArrayCube.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    (g,) = nerve.autograd.grad(ArrayCube.apply(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="ArrayCubeBackward cannot be differentiated twice"):
        nerve.autograd.grad(g.sum(), x)


def test_multiple_outputs():
    class SplitHalves(Function):
        @staticmethod
        def forward(ctx, x):
            n = x.shape[0] // 2
            return x._data[:n] * 2, x._data[n:] * 3

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            return nerve.cat([grad_a * 2, grad_b * 3])

    x = nerve.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, b = SplitHalves.apply(x)
    assert a.tolist() == [2.0, 4.0] and b.tolist() == [9.0, 12.0]
    a.sum().backward()  # b unused: its gradient is zeros
    assert x.grad.tolist() == [2.0, 2.0, 0.0, 0.0]


def test_mark_non_differentiable():
    class Argmax(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_non_differentiable()
            return np.argmax(x._data, keepdims=True)

    out = Argmax.apply(nerve.tensor([1.0, 3.0, 2.0], requires_grad=True))
    assert out.tolist() == [1] and not out.requires_grad


def test_bad_backwards_are_reported():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a._data * b._data

        @staticmethod
        def backward(ctx, grad_output):
            return (grad_output,)

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a._data.sum()

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    a = nerve.ones(2, requires_grad=True)
    b = nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooFewBackward: backward returned 1 gradients, expe"):
        TooFew.apply(a, b).sum().backward()
    with pytest.raises(RuntimeError, match="WrongShapeBackward: backward returned a gradient of s"):
        WrongShape.apply(a).backward()


def test_forward_and_backward_must_be_defined():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 2

    with pytest.raises(NotImplementedError, match="must define forward"):
        Function.apply(nerve.ones(1))
    with pytest.raises(NotImplementedError, match="must define backward"):
        NoBackward.apply(nerve.ones(1, requires_grad=True)).sum().backward()


def test_saved_tensor_modified_in_place_is_detected():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="CubeBackward: one of the tensors needed for gradient"):
        y.sum().backward()
