"""``nerve.autograd.gradcheck`` / ``gradgradcheck``: float64 central finite differences."""

import numpy as np
import pytest

import nerve
from nerve.autograd import Function, GradcheckError, gradcheck, gradgradcheck, once_differentiable


class WrongSquare(Function):
    """y = x^2 with a deliberately wrong backward (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._data**2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x


class ArraySquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x._data**2

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return nerve.Tensor._wrap(grad_output._data * 2 * x._data)


def _x(*shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return nerve.tensor(data, requires_grad=True)


def test_gradcheck_accepts_correct_gradients():
    a, b = _x(3, 4), _x(4, 2, seed=1)
    assert gradcheck(lambda a, b: (a @ b).tanh(), (a, b))
    assert gradcheck(lambda a: a.softmax(-1), (a,))
    assert gradcheck(lambda a: (a.sin(), a.sum(0)), (a,))  # several outputs


def test_gradcheck_rejects_a_wrong_backward():
    x = _x(3)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for input 0"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert gradcheck(ArraySquare.apply, (x,))


def test_gradcheck_needs_float64():
    x = nerve.ones(2, requires_grad=True)
    with pytest.raises(GradcheckError, match="inputs must be float64.*got nerve.float32"):
        gradcheck(lambda t: t * 2, (x,))


def test_gradcheck_ignores_inputs_without_grad_and_restores_inputs():
    x, c = _x(2, 3), nerve.tensor(np.arange(3.0))
    before = x.detach().numpy().copy()
    assert gradcheck(lambda x, c: x * c + c, (x, c))
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_gradcheck_on_noncontiguous_input():
    data = np.ascontiguousarray(np.random.default_rng(3).standard_normal((4, 3)).T).T
    x = nerve.from_numpy(data).requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda x: (x * x).sum(1).exp(), (x,))


def test_gradgradcheck():
    x = _x(3, seed=2)
    assert gradgradcheck(lambda x: x.tanh() * x.exp(), (x,))
    assert gradgradcheck(lambda x: nerve.nn.functional.gelu(x, approximate="tanh"), (x,))
    with pytest.raises(RuntimeError, match="ArraySquareBackward cannot be differentiated twice"):
        gradgradcheck(ArraySquare.apply, (x,))
