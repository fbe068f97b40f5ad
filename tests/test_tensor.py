"""nerve.Tensor: attributes, creation, dtypes and PyTorch's promotion, repr, conversion,
in-place ops and the version counter, and the errors bad input gets."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve

DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]


def _nerve_dtype(name):
    return getattr(nerve, "bool_" if name == "bool" else name)


# ---------------------------------------------------------------------------- attributes
def test_attributes():
    x = nerve.zeros(2, 3)
    assert x.shape == (2, 3) and isinstance(x.shape, tuple)
    assert repr(x.shape) == "nerve.Size([2, 3])"
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.dtype is nerve.float32 and x.dtype.is_floating_point
    assert x.device == nerve.device("cpu") and str(x.device) == "cpu"
    assert x.is_leaf and x.grad_fn is None and x.grad is None and not x.requires_grad
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)
    assert nerve.ones(2, 3, 4).mT.shape == (2, 4, 3)
    assert x.is_contiguous() and not x.T.is_contiguous()
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(nerve.tensor(1.0))


def test_dtype_aliases():
    assert nerve.float is nerve.float32 and nerve.double is nerve.float64
    assert nerve.half is nerve.float16 and nerve.long is nerve.int64 and nerve.int is nerve.int32
    assert nerve.bool is nerve.bool_ and repr(nerve.float64) == "nerve.float64"


# ---------------------------------------------------------------------------- creation
@pytest.mark.parametrize(
    "data",
    [
        1.5,
        3,
        True,
        [1, 2, 3],
        [1.0, 2],
        [[1, 2], [3, 4]],
        [True, False],
        [],
        [[1.5], [2]],
        np.arange(4, dtype=np.int32),
        np.ones(3, np.float64),
        np.ones(2, np.float16),
    ],
    ids=lambda d: type(d).__name__ + str(getattr(d, "dtype", "")),
)
def test_tensor_infers_dtypes_like_torch(data):
    mine, theirs = nerve.tensor(data), torch.tensor(data)
    assert mine.dtype.name == str(theirs.dtype).replace("torch.", "")
    assert_close(mine, theirs)


def test_tensor_dtype_and_copy():
    arr = np.arange(3.0)
    t = nerve.tensor(arr, dtype=nerve.float32)
    assert t.dtype is nerve.float32 and t.tolist() == [0.0, 1.0, 2.0]
    copied = nerve.tensor(arr)
    arr[0] = 9.0
    assert copied[0].item() == 0.0  # tensor() copies
    assert nerve.tensor([1, 2], dtype=nerve.float64).dtype is nerve.float64
    with pytest.raises(TypeError, match="cannot make a tensor from an element of type str"):
        nerve.tensor(["a"])
    with pytest.raises(ValueError, match="could not convert"):
        nerve.tensor([[1, 2], [3]])


def test_as_tensor_and_from_numpy_share_memory():
    arr = np.zeros(3)
    a, b = nerve.as_tensor(arr), nerve.from_numpy(arr)
    arr[1] = 5.0
    assert a[1].item() == 5.0 and b[1].item() == 5.0
    assert b.dtype is nerve.float64
    t = nerve.ones(2)
    assert nerve.as_tensor(t) is t
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        nerve.from_numpy([1, 2])


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.zeros(2, 3),
        lambda m: m.zeros((2, 3), dtype=m.int64),
        lambda m: m.ones(4),
        lambda m: m.ones(0, 2, dtype=m.float64),
        lambda m: m.full((2, 2), 7),
        lambda m: m.full((2,), 1.5),
        lambda m: m.full((2,), True),
        _empty_3_1 := lambda m: m.empty(3, 1),
        lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64)),
        lambda m: m.ones_like(m.zeros(2, dtype=m.int32)),
        lambda m: m.full_like(m.zeros(2, 2), 3.0),
        _empty_like := lambda m: m.empty_like(m.ones(2), dtype=m.int64),
        lambda m: m.arange(5),
        lambda m: m.arange(1, 4, 0.5),
        lambda m: m.arange(0.0, 1.0, 0.25),
        lambda m: m.arange(5, 0, -2),
        lambda m: m.arange(3, dtype=m.float64),
        lambda m: m.linspace(0, 1, 5),
        lambda m: m.linspace(-2, 2, 1),
        lambda m: m.linspace(-2, 2, 0),
        lambda m: m.eye(3),
        lambda m: m.eye(2, 4, dtype=m.int64),
    ],
)
def test_creation_matches_torch(make):
    mine, theirs = make(nerve), make(torch)
    if make in _EMPTY:
        theirs = theirs.zero_()  # NOTE: nerve's empty is zero-filled on purpose
    assert tuple(mine.shape) == tuple(theirs.shape)
    assert mine.dtype.name == str(theirs.dtype).replace("torch.", "")
    assert_close(mine, theirs)


_EMPTY = (_empty_3_1, _empty_like)


def test_empty_is_zero_filled():
    assert not nerve.empty(3, 4).numpy().any()


def test_creation_errors():
    with pytest.raises(ValueError, match="zeros: negative dimension -1"):
        nerve.zeros(2, -1)
    with pytest.raises(TypeError, match="ones: size must be ints"):
        nerve.ones(2.5)
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        nerve.arange(0, 3, 0)
    with pytest.raises(ValueError, match="linspace: steps must be non-negative"):
        nerve.linspace(0, 1, -1)
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require"):
        nerve.zeros(2, dtype=nerve.int64, requires_grad=True)


def test_requires_grad_on_creation():
    x = nerve.ones(2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert nerve.tensor([1.0], requires_grad=True).requires_grad


# ---------------------------------------------------------------------------- dtypes and promotion
def _example(name, ndim):
    values = np.array([1, 0, 1, 1])[: 3 if ndim else 1].reshape((3,) if ndim else ())
    return values.astype(np.bool_ if name == "bool" else name)


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
@pytest.mark.parametrize("ndims", [(1, 1), (1, 0), (0, 1), (0, 0)], ids=str)
def test_promotion_matches_torch(left, right, ndims):
    a, b = _example(left, ndims[0]), _example(right, ndims[1])
    mine = nerve.tensor(a) * nerve.tensor(b)
    theirs = torch.tensor(a) * torch.tensor(b)
    assert mine.dtype.name == str(theirs.dtype).replace("torch.", ""), (left, right, ndims)
    assert_close(mine, theirs)


@pytest.mark.parametrize("name", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5], ids=["bool", "int", "float"])
def test_python_scalar_promotion_matches_torch(name, scalar):
    a = _example(name, 1)
    for op in (lambda x: x + scalar, lambda x: scalar * x, lambda x: x / scalar):
        mine, theirs = op(nerve.tensor(a)), op(torch.tensor(a))
        assert mine.dtype.name == str(theirs.dtype).replace("torch.", ""), (name, scalar)
        assert_close(mine, theirs, rtol=1e-3, atol=1e-3)


def test_a_python_scalar_does_not_upcast_float32():
    x = nerve.ones(2)
    assert (x * 2.5).dtype is nerve.float32
    assert (x + nerve.tensor(2.5, dtype=nerve.float64)).dtype is nerve.float32  # 0-dim: category
    assert (nerve.ones(2, dtype=nerve.int64) * 2.5).dtype is nerve.float32
    assert (nerve.ones(2, dtype=nerve.int32) + 2).dtype is nerve.int32
    assert (nerve.ones(2, dtype=nerve.int32) / 2).dtype is nerve.float32


@pytest.mark.parametrize("fn", ["exp", "sin", "sqrt", "sigmoid", "tanh", "log1p"])
def test_float_math_on_integers_promotes_like_torch(fn):
    a = np.array([1, 2, 3])
    mine, theirs = getattr(nerve.tensor(a), fn)(), getattr(torch.tensor(a), fn)()
    assert mine.dtype is nerve.float32 and str(theirs.dtype) == "torch.float32"
    assert_close(mine, theirs)


def test_integer_reductions_match_torch():
    a = np.array([[1, 2], [3, 4]], dtype=np.int32)
    for name in ("sum", "cumsum"):
        args = (1,) if name == "cumsum" else ()
        mine = getattr(nerve.tensor(a), name)(*args)
        theirs = getattr(torch.tensor(a), name)(*args)
        assert mine.dtype.name == str(theirs.dtype).replace("torch.", "")
        assert_close(mine, theirs)
    assert nerve.tensor([True, True, False]).sum().item() == 2


# ---------------------------------------------------------------------------- repr
@pytest.mark.parametrize(
    "data",
    [
        [0.393, -1.1067, -0.385],
        [1.0, 2.0],
        [1e-5, 1.0],
        [1.0, 100.0],
        [[1.5, 2.0], [3.0, -4.0]],
        [1e9, 1.0],
        [float("nan"), 1.5, float("inf")],
        [0.0, 0.0],
        3.5,
        -0.5,
        [1, 2, -3],
        [True, False],
        [[1, 20], [300, 4]],
        [1.0, float("-inf")],
        [0.0, -2.5],
    ],
    ids=str,
)
def test_repr_matches_torch(data):
    assert repr(nerve.tensor(data)) == repr(torch.tensor(data))


def test_repr_extras():
    assert repr(nerve.zeros(2, 0)) == "tensor([], size=(2, 0))"
    assert repr(nerve.zeros(0)) == "tensor([])"
    assert repr(nerve.tensor([1.0, 2.0], dtype=nerve.float64)) == (
        "tensor([1., 2.], dtype=nerve.float64)"
    )
    assert repr(nerve.tensor([1, 2], dtype=nerve.int32)) == "tensor([1, 2], dtype=nerve.int32)"
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(nerve.arange(2000.0)) == repr(torch.arange(2000.0))
    assert "..." in repr(nerve.zeros(50, 50))


# ---------------------------------------------------------------------------- conversion
def test_numpy_item_tolist():
    x = nerve.tensor([[1.0, 2.0], [3.0, 4.0]])
    arr = x.numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    arr[0, 0] = 10.0  # numpy() shares memory, as in PyTorch
    assert x[0, 0].item() == 10.0
    assert x.tolist() == [[10.0, 2.0], [3.0, 4.0]]
    assert nerve.tensor(2.5).item() == 2.5 and isinstance(nerve.tensor(3).item(), int)
    assert nerve.tensor([[7]]).item() == 7
    assert float(nerve.tensor(1.5)) == 1.5 and int(nerve.tensor(2)) == 2
    assert [float(v) for v in nerve.tensor([1.0, 2.0])] == [1.0, 2.0]
    with pytest.raises(ValueError, match="a tensor with 4 elements cannot be converted"):
        x.item()
    with pytest.raises(RuntimeError, match="can't call numpy\\(\\) on a tensor that requires grad"):
        nerve.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="truth value of a tensor with 2 elements is ambiguous"):
        bool(nerve.ones(2))


def test_to_and_casts():
    x = nerve.tensor([1.7, -2.2])
    assert x.to(nerve.float64).dtype is nerve.float64
    assert x.to("cpu") is x
    assert x.to(dtype=nerve.int64).tolist() == [1, -2]  # truncation, as in PyTorch
    assert x.long().dtype is nerve.int64 and x.int().dtype is nerve.int32
    assert x.double().float().dtype is nerve.float32 and x.half().dtype is nerve.float16
    assert x.bool().tolist() == [True, True]
    assert x.to(nerve.zeros(1, dtype=nerve.float64)).dtype is nerve.float64
    assert nerve.tensor([1, 2]).float().dtype is nerve.float32
    with pytest.raises(TypeError, match="to\\(\\): expected a dtype, a device or a tensor"):
        x.to(3)
    with pytest.raises(ValueError, match="device: expected 'cpu' or 'cuda\\[:N\\]', got 'gpu'"):
        x.to("gpu")
    with pytest.raises(TypeError, match="tensor: unsupported array dtype complex128"):
        nerve.tensor(np.array([1j]))


def test_cast_is_differentiable():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype is nerve.float32 and x.grad.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------------- in-place ops
def test_inplace_ops_match_torch():
    def run(m):
        x = m.tensor([[1.0, -2.0], [3.0, 4.0]])
        x.add_(1).mul_(2).sub_(m.tensor([1.0, 0.5]))
        x += 1
        x -= 0.5
        x *= m.tensor([[2.0], [1.0]])
        x /= 4
        x.clamp_(min=0.0, max=3.0)
        x.add_(m.ones(2), alpha=2)
        x[0, 1] = 7.0
        x[1] = m.tensor([0.25, 0.5])
        return x

    assert_close(run(nerve), run(torch))


def test_inplace_writes_into_memory_and_bumps_version():
    arr = np.zeros(3, dtype=np.float32)
    x = nerve.from_numpy(arr)
    v = x._version
    x.add_(2)
    assert arr.tolist() == [2.0, 2.0, 2.0] and x._version == v + 1
    y = x.reshape(3, 1)  # a view of the same memory
    x.zero_()
    assert y.sum().item() == 0.0
    x.fill_(4)
    x.copy_(nerve.tensor([1.0, 2.0, 3.0]))
    assert arr.tolist() == [1.0, 2.0, 3.0]
    x.copy_(nerve.tensor(5))  # broadcasts
    assert arr.tolist() == [5.0, 5.0, 5.0]
    assert x._version == v + 5


def test_inplace_on_leaf_requiring_grad():
    w = nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is being used in an"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.zero_()
    with nerve.no_grad():
        w.mul_(3)  # what optimizers do
    assert w.tolist() == [3.0, 3.0] and w.is_leaf and w.requires_grad


def test_inplace_in_a_graph_is_differentiated():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        a = x * 2
        a.add_(1)
        a.mul_(x)
        a[0] = 0.0
        a.sum().backward()
        return x.grad

    assert_close(run(nerve), run(torch))


@pytest.mark.parametrize(
    "modify",
    [lambda a: a.add_(1), lambda a: a.mul_(2), lambda a: a.zero_(), lambda a: a.copy_(a * 0)],
    ids=["add_", "mul_", "zero_", "copy_"],
)
def test_version_counter_detects_modified_saved_input(modify):
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    y = a * a  # saves a
    modify(a)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_version_counter_detects_modified_saved_output():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    with nerve.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="ExpBackward: its output.*modified by an in-place"):
        y.sum().backward()
    z = x.sigmoid()
    z.mul_(2)
    with pytest.raises(RuntimeError, match="SigmoidBackward: its output"):
        z.sum().backward()


def test_version_counter_detects_no_grad_write_to_saved_leaf():
    w = nerve.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with nerve.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="MulBackward: one of the tensors needed for gradient"):
        loss.backward()


def test_inplace_errors():
    x = nerve.zeros(2, 3)
    with pytest.raises(RuntimeError, match="result of shape \\(4, 2, 3\\) cannot be written"):
        x.add_(nerve.ones(4, 2, 3))
    i = nerve.zeros(2, dtype=nerve.int64)
    with pytest.raises(RuntimeError, match="result type nerve.float32 can't be cast"):
        i.add_(1.5)


# ---------------------------------------------------------------------------- errors
def test_shape_mismatch_names_op_and_shapes():
    a, b = nerve.ones(2, 3), nerve.ones(4)
    for op, fn in [
        ("add", lambda: a + b),
        ("mul", lambda: a * b),
        ("sub", lambda: a - b),
        ("div", lambda: a / b),
        ("maximum", lambda: nerve.maximum(a, b)),
        ("lt", lambda: a < b),
    ]:
        with pytest.raises(ValueError, match=f"{op}: shapes \\(2, 3\\) and \\(4,\\) cannot be"):
            fn()
    with pytest.raises(ValueError, match="matmul: shapes \\(2, 3\\) and \\(4,\\) cannot be mult"):
        a @ b
    with pytest.raises(ValueError, match="cat: tensor 1 has shape \\(4,\\)"):
        nerve.cat([a, b])
    with pytest.raises(RuntimeError, match="reshape: shape \\[5\\] is invalid for a tensor of"):
        a.reshape(5)
    with pytest.raises(ValueError, match="expand: the size 3 of dim 1 of shape \\(2, 3\\)"):
        a.expand(2, 4)
    with pytest.raises(ValueError, match="where: shapes"):
        nerve.where(nerve.ones(5) > 0, a, b)


def test_wrong_dtypes_say_so():
    with pytest.raises(
        TypeError, match="softmax: expected a floating point tensor, got nerve.bool"
    ):
        nerve.nn.functional.softmax(nerve.ones(3) > 0, dim=0)
    with pytest.raises(TypeError, match="mean: expected a floating point tensor, got nerve.int64"):
        nerve.arange(3).mean()
    with pytest.raises(IndexError, match="indices must be integer or bool, got float32"):
        nerve.ones(3)[nerve.tensor([0.0])]
    with pytest.raises(TypeError, match="gather: index must be an integer tensor, got nerve.float"):
        nerve.ones(2, 2).gather(1, nerve.zeros(2, 2))
    with pytest.raises(TypeError, match="matmul: bool tensors cannot be multiplied"):
        (nerve.ones(2) > 0) @ (nerve.ones(2) > 0)
    with pytest.raises(
        TypeError, match="where: condition must be a bool tensor, got nerve.float32"
    ):
        nerve.where(nerve.ones(2), nerve.ones(2), nerve.zeros(2))
    with pytest.raises(TypeError, match="add: expected a Tensor or a number, got str"):
        nerve.ones(2) + "a"
    with pytest.raises(TypeError, match="relu: expected a numeric tensor, got nerve.bool"):
        nerve.relu(nerve.ones(2) > 0)


def test_bad_dims_say_so():
    x = nerve.ones(2, 3)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range for a tensor with 2 dims"):
        x.sum(2)
    with pytest.raises(ValueError, match="permute: expected 2 dims"):
        x.permute(0)
    with pytest.raises(ValueError, match="topk: k=4 is out of range for a dim of size 3"):
        x.topk(4)
    with pytest.raises(IndexError, match="gather: index out of range for dim 1 of size 3"):
        x.gather(1, nerve.tensor([[3], [0]]))
    with pytest.raises(ValueError, match="split: sections \\[1, 1\\] do not add up to the dim's"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="pad: reflect padding \\(3, 0\\) must be smaller"):
        nerve.nn.functional.pad(x, (3, 0), mode="reflect")
    with pytest.raises(IndexError, match="indexing a tensor of shape \\(2, 3\\)"):
        x[5]


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
def test_cat_and_stack_promote_like_torch(left, right):
    a, b = _example(left, 1), _example(right, 1)
    for op in (lambda m, x, y: m.cat([x, y]), lambda m, x, y: m.stack([x, y], 1)):
        mine = op(nerve, nerve.tensor(a), nerve.tensor(b))
        theirs = op(torch, torch.tensor(a), torch.tensor(b))
        assert mine.dtype.name == str(theirs.dtype).replace("torch.", ""), (left, right)
        assert_close(mine, theirs)


def test_clamp_of_integers_promotes_like_torch():
    for kwargs in ({"min": 1.5}, {"min": 0, "max": 2}, {"max": 2.5}):
        mine = nerve.tensor([1, 2, 3]).clamp(**kwargs)
        theirs = torch.tensor([1, 2, 3]).clamp(**kwargs)
        assert mine.dtype.name == str(theirs.dtype).replace("torch.", "")
        assert_close(mine, theirs)
