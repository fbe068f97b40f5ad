"""``nerve.Tensor``: an n-dimensional array on a device, with a place in the autograd graph.

A Tensor wraps one array (NumPy on CPU, CuPy on CUDA). If it ``requires_grad`` and came out of an
op, ``grad_fn`` is the graph node that made it; ``backward()`` walks those nodes in reverse and
fills the ``.grad`` of the leaves. Every method here is a one-line call into ``nerve.ops``.

    >>> w = nerve.tensor([0.5, -1.0], requires_grad=True)
    >>> y = (w * nerve.tensor([2.0, 3.0])).sum()
    >>> y.backward(); w.grad
    tensor([2., 3.])
"""

from __future__ import annotations

import numpy as np

from nerve import _dtype
from nerve.autograd import grad_mode
from nerve.device import ARRAY_TYPES, array_module, device_of, move

_enabled = grad_mode._enabled
_new = object.__new__


class Tensor:
    __slots__ = ("_data", "requires_grad", "grad", "_ctx", "_oidx", "_version", "_hooks",
                 "__weakref__")

    # ------------------------------------------------------------------ construction
    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        from nerve.ops.creation import _to_array

        self._data = _to_array(data, dtype, device)
        self.grad = None
        self._ctx = None
        self._oidx = 0
        self._version = 0
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr) -> Tensor:
        """A constant tensor around an array (no copy). The fast path of every op."""
        if type(arr) is not np.ndarray and not isinstance(arr, ARRAY_TYPES):
            arr = np.asarray(arr)
        t = _new(Tensor)
        t._data = arr
        t.requires_grad = False
        t.grad = None
        t._ctx = None
        t._oidx = 0
        t._version = 0
        t._hooks = None
        return t

    @staticmethod
    def _make(arr, requires_grad, ctx, oidx) -> Tensor:
        t = Tensor._wrap(arr)
        if requires_grad:
            t.requires_grad = True
            t._ctx = ctx
            t._oidx = oidx
        return t

    def _shallow(self) -> Tensor:
        t = Tensor._make(self._data, self.requires_grad, self._ctx, self._oidx)
        t._version = self._version
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self):
        return _dtype.from_np(self._data.dtype)

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_norm_dim(dim, self.ndim, "stride")]

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory), as in PyTorch."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else array_module(self._data).asarray(value)

    @property
    def T(self) -> Tensor:
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() to cut it from the graph"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``nerve.autograd.backward``)."""
        if gradient is None and inputs is None and self._ctx is not None and self._data.size == 1:
            # The common case, a scalar loss: skip the general argument handling.
            data = self._data
            seed = array_module(data).empty(data.shape, data.dtype)
            seed.fill(1)  # NOTE: empty + fill is half the cost of ones() here
            ones = Tensor._wrap(seed)
            retain = create_graph if retain_graph is None else retain_graph
            _engine.run_backward((self,), (ones,), retain, create_graph)
            return
        from nerve.autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        return Tensor._wrap(self._data)

    def detach_(self) -> Tensor:
        self._ctx = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._ctx is None:
            return
        import weakref

        if self._ctx._retained is None:
            self._ctx._retained = {}
        self._ctx._retained[self._oidx] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        retained = self._ctx._retained if self._ctx is not None else None
        return bool(retained) and self._oidx in retained

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._ctx._out_hooks is None:
                self._ctx._out_hooks = {}
            hooks = self._ctx._out_hooks.setdefault(self._oidx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # ------------------------------------------------------------------ conversion
    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError(
                "can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
            )
        if type(self._data) is not np.ndarray and self.device.type != "cpu":
            if not force:
                raise TypeError("can't convert a cuda tensor to numpy; use .cpu() first")
            return move(self._data, "cpu")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = move(self._data, "cpu")
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item(): a tensor with {self._data.size} elements cannot be converted to a Python scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return move(self._data, "cpu").tolist()

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        from nerve.ops.elementwise import cast

        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, _dtype.dtype) or a in (float, int, bool):
                dtype = a
            elif isinstance(a, str) or type(a).__name__ == "device":
                dev = a
            else:
                raise TypeError(f"to(): expected a dtype, a device or a tensor, got {a!r}")
        out = self
        if dev is not None and device_of(self._data) != dev:
            from nerve.ops.elementwise import to_device

            out = to_device(out, dev)
        if dtype is not None and _dtype.to_np(dtype) != out._data.dtype:
            out = cast(out, _dtype.to_np(dtype))
        return out

    def type(self, dtype=None):
        return self.dtype if dtype is None else self.to(dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    def clone(self) -> Tensor:
        from nerve.ops.elementwise import clone

        return clone(self)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else self.clone()

    def __repr__(self) -> str:
        from nerve._repr import tensor_repr

        return tensor_repr(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __getstate__(self):
        return {"data": move(self._data, "cpu"), "requires_grad": self.requires_grad}

    def __setstate__(self, state):
        Tensor.__init__(self, state["data"], requires_grad=state["requires_grad"])

    # ------------------------------------------------------------------ arithmetic operators
    def __add__(self, other):
        return _E.add(self, other)

    def __radd__(self, other):
        return _E.add(other, self)

    def __sub__(self, other):
        return _E.sub(self, other)

    def __rsub__(self, other):
        return _E.sub(other, self)

    def __mul__(self, other):
        return _E.mul(self, other)

    def __rmul__(self, other):
        return _E.mul(other, self)

    def __truediv__(self, other):
        return _E.div(self, other)

    def __rtruediv__(self, other):
        return _E.div(other, self)

    def __floordiv__(self, other):
        return _E.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _E.floor_divide(other, self)

    def __mod__(self, other):
        return _E.remainder(self, other)

    def __pow__(self, other):
        return _E.pow(self, other)

    def __rpow__(self, other):
        return _E.pow(other, self)

    def __neg__(self):
        return _E.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _E.abs(self)

    def __matmul__(self, other):
        return _L.matmul(self, other)

    def __rmatmul__(self, other):
        return _L.matmul(other, self)

    def __eq__(self, other):
        return False if other is None else _E.eq(self, other)

    def __ne__(self, other):
        return True if other is None else _E.ne(self, other)

    def __lt__(self, other):
        return _E.lt(self, other)

    def __le__(self, other):
        return _E.le(self, other)

    def __gt__(self, other):
        return _E.gt(self, other)

    def __ge__(self, other):
        return _E.ge(self, other)

    def __and__(self, other):
        return _E.logical_and(self, other) if self.dtype is _dtype.bool_ else _E.bitwise_and(self, other)

    def __or__(self, other):
        return _E.logical_or(self, other) if self.dtype is _dtype.bool_ else _E.bitwise_or(self, other)

    def __xor__(self, other):
        return _E.logical_xor(self, other)

    def __invert__(self):
        return _E.logical_not(self)

    # in-place operators
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __getitem__(self, index):
        return _I.getitem(self, index)

    def __setitem__(self, index, value):
        _I.setitem(self, index, value)

    # ------------------------------------------------------------------ elementwise methods
    def add(self, other, alpha=1):
        return _E.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return _E.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return _E.mul(self, other)

    def div(self, other):
        return _E.div(self, other)

    def pow(self, exponent):
        return _E.pow(self, exponent)

    def neg(self):
        return _E.neg(self)

    def abs(self):
        return _E.abs(self)

    def sign(self):
        return _E.sign(self)

    def exp(self):
        return _E.exp(self)

    def log(self):
        return _E.log(self)

    def log1p(self):
        return _E.log1p(self)

    def expm1(self):
        return _E.expm1(self)

    def sqrt(self):
        return _E.sqrt(self)

    def rsqrt(self):
        return _E.rsqrt(self)

    def square(self):
        return _E.mul(self, self)

    def sin(self):
        return _E.sin(self)

    def cos(self):
        return _E.cos(self)

    def tanh(self):
        return _E.tanh(self)

    def sigmoid(self):
        return _E.sigmoid(self)

    def relu(self):
        return _E.relu(self)

    def erf(self):
        return _E.erf(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return _E.softplus(self, beta, threshold)

    def reciprocal(self):
        return _E.div(1.0, self)

    def maximum(self, other):
        return _E.maximum(self, other)

    def minimum(self, other):
        return _E.minimum(self, other)

    def clamp(self, min=None, max=None):
        return _E.clamp(self, min, max)

    clip = clamp

    def floor(self):
        return _E.floor(self)

    def ceil(self):
        return _E.ceil(self)

    def round(self, decimals=0):
        return _E.round(self, decimals)

    def trunc(self):
        return _E.trunc(self)

    def where(self, condition, other):
        return _E.where(condition, self, other)

    def lerp(self, end, weight):
        return self + (end - self) * weight

    def isnan(self):
        return _E.isnan(self)

    def isinf(self):
        return _E.isinf(self)

    def isfinite(self):
        return _E.isfinite(self)

    def eq(self, other):
        return _E.eq(self, other)

    def ne(self, other):
        return _E.ne(self, other)

    def lt(self, other):
        return _E.lt(self, other)

    def le(self, other):
        return _E.le(self, other)

    def gt(self, other):
        return _E.gt(self, other)

    def ge(self, other):
        return _E.ge(self, other)

    def logical_and(self, other):
        return _E.logical_and(self, other)

    def logical_or(self, other):
        return _E.logical_or(self, other)

    def logical_not(self):
        return _E.logical_not(self)

    def logical_xor(self, other):
        return _E.logical_xor(self, other)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
        return _E.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other) -> bool:
        return self.shape == other.shape and bool((self == other).all())

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        return _R.sum(self, dim, keepdim, dtype)

    def mean(self, dim=None, keepdim=False, dtype=None):
        return _R.mean(self, dim, keepdim, dtype)

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _R.var(self, dim, unbiased, keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _R.std(self, dim, unbiased, keepdim, correction)

    def max(self, dim=None, keepdim=False):
        return _R.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _R.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _R.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _R.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _R.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _R.argmin(self, dim, keepdim)

    def prod(self, dim=None, keepdim=False):
        return _R.prod(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return _R.logsumexp(self, dim, keepdim)

    def norm(self, p="fro", dim=None, keepdim=False):
        return _R.norm(self, p, dim, keepdim)

    def cumsum(self, dim):
        return _R.cumsum(self, dim)

    def all(self, dim=None, keepdim=False):
        return _R.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _R.any(self, dim, keepdim)

    def softmax(self, dim):
        from nerve.nn.functional import softmax

        return softmax(self, dim)

    def log_softmax(self, dim):
        from nerve.nn.functional import log_softmax

        return log_softmax(self, dim)

    # ------------------------------------------------------------------ linear algebra
    def matmul(self, other):
        return _L.matmul(self, other)

    def mm(self, other):
        return _L.mm(self, other)

    def bmm(self, other):
        return _L.bmm(self, other)

    def dot(self, other):
        return _L.dot(self, other)

    def outer(self, other):
        return _L.outer(self, other)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        return _S.reshape(self, *shape)

    def view(self, *shape):
        if len(shape) == 1 and (isinstance(shape[0], _dtype.dtype)):
            raise TypeError("view(dtype) is not supported; use .to(dtype)")
        return _S.view(self, *shape)

    def view_as(self, other):
        return _S.reshape(self, other.shape)

    def reshape_as(self, other):
        return _S.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return _S.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return _S.unflatten(self, dim, sizes)

    def squeeze(self, dim=None):
        return _S.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _S.unsqueeze(self, dim)

    def transpose(self, dim0, dim1):
        return _S.transpose(self, dim0, dim1)

    def t(self):
        return _S.t(self)

    def swapaxes(self, dim0, dim1):
        return _S.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return _S.permute(self, *dims)

    def expand(self, *sizes):
        return _S.expand(self, *sizes)

    def expand_as(self, other):
        return _S.expand(self, *other.shape)

    def broadcast_to(self, shape):
        return _S.broadcast_to(self, shape)

    def repeat(self, *sizes):
        return _S.repeat(self, *sizes)

    def tile(self, *dims):
        return _S.tile(self, *dims)

    def split(self, split_size_or_sections, dim=0):
        return _S.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _S.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _S.unbind(self, dim)

    def flip(self, dims):
        return _S.flip(self, dims)

    def roll(self, shifts, dims=None):
        return _S.roll(self, shifts, dims)

    def tril(self, diagonal=0):
        return _S.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _S.triu(self, diagonal)

    def sum_to_size(self, *size):
        return _S.sum_to(self, size[0] if len(size) == 1 and isinstance(size[0], tuple) else size)

    # ------------------------------------------------------------------ indexing
    def gather(self, dim, index):
        return _I.gather(self, dim, index)

    def scatter(self, dim, index, src):
        return _I.scatter(self, dim, index, src)

    def scatter_add(self, dim, index, src):
        return _I.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return _I.index_select(self, dim, index)

    def index_add(self, dim, index, source, alpha=1):
        return _I.index_add(self, dim, index, source if alpha == 1 else source * alpha)

    def masked_fill(self, mask, value):
        return _I.masked_fill(self, mask, value)

    def take_along_dim(self, indices, dim=None):
        return _I.take_along_dim(self, indices, dim)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _I.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False):
        return _I.sort(self, dim, descending)

    def argsort(self, dim=-1, descending=False):
        return _I.argsort(self, dim, descending)

    def nonzero(self, as_tuple=False):
        return _I.nonzero(self, as_tuple)

    # ------------------------------------------------------------------ in-place
    def add_(self, other, alpha=1):
        return _inplace(self, _E.add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return _inplace(self, _E.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return _inplace(self, _E.mul, other)

    def div_(self, other):
        return _inplace(self, _E.div, other)

    def pow_(self, exponent):
        return _inplace(self, _E.pow, exponent)

    def clamp_(self, min=None, max=None):
        return _inplace(self, _E.clamp, min, max)

    def neg_(self):
        return _inplace(self, _E.neg)

    def sqrt_(self):
        return _inplace(self, _E.sqrt)

    def exp_(self):
        return _inplace(self, _E.exp)

    def abs_(self):
        return _inplace(self, _E.abs)

    def relu_(self):
        return _inplace(self, _E.relu)

    def addcmul_(self, tensor1, tensor2, value=1):
        return _inplace(self, _E.add, tensor1 * tensor2 * value)

    def addcdiv_(self, tensor1, tensor2, value=1):
        return _inplace(self, _E.add, tensor1 / tensor2 * value)

    def lerp_(self, end, weight):
        return _inplace(self, Tensor.lerp, end, weight)

    def masked_fill_(self, mask, value):
        return _inplace(self, _I.masked_fill, mask, value)

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else Tensor._wrap(np.asarray(src))
        return _inplace(self, _copy_from, src)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if _enabled[0] and self.requires_grad and self._ctx is None:
            _leaf_inplace_error("fill_")
        value = value.item() if isinstance(value, Tensor) else value
        self._data[...] = value
        self._version += 1
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from nerve.random import _generator

        return self._fill_random(_generator(generator).uniform(a, b, self._data.shape), "uniform_")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from nerve.random import _generator

        return self._fill_random(_generator(generator).normal(mean, std, self._data.shape), "normal_")

    def bernoulli_(self, p=0.5, generator=None):
        from nerve.random import _generator

        return self._fill_random(_generator(generator).random(self._data.shape) < p, "bernoulli_")

    def _fill_random(self, values, name):
        if _enabled[0] and self.requires_grad and self._ctx is None:
            _leaf_inplace_error(name)
        self._data[...] = move(values, self.device)
        self._version += 1
        return self


class Size(tuple):
    """A tensor's shape: a tuple that prints like PyTorch's ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"nerve.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _leaf_inplace_error(name):
    raise RuntimeError(
        f"{name}: a leaf tensor that requires grad is being used in an in-place operation. "
        "Wrap the update in `with nerve.no_grad():` (as optimizers do) or use an out-of-place op."
    )


def _copy_from(dst, src):
    from nerve.ops.elementwise import cast

    src = src.to(dst.device)
    if src._data.dtype != dst._data.dtype:
        src = cast(src, dst._data.dtype)
    return _S.expand(src, *dst.shape) if src.shape != dst.shape else src + 0 * dst


def _inplace(self, op, *args):
    """Run ``op(self, *args)`` and store the result in ``self``.

    Without a graph to record it writes into the array itself (views see the change). With one,
    the result's graph node takes ``self``'s place (so later ops differentiate through the op), and
    the version counter tells saved-for-backward users that ``self`` changed.
    """
    needs_graph = _enabled[0] and (
        self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
    )
    if needs_graph:
        if self._ctx is None and self.requires_grad:
            _leaf_inplace_error(getattr(op, "__name__", "in-place op") + "_")
        result = op(self._shallow(), *args)
        _check_inplace_result(self, result)
        if result._data.dtype != self._data.dtype:
            from nerve.ops.elementwise import cast

            result = cast(result, self._data.dtype)
        self._data = result._data
        self.requires_grad = result.requires_grad
        self._ctx, self._oidx = result._ctx, result._oidx
    else:
        prev = _enabled[0]
        _enabled[0] = False
        try:
            result = op(self, *args)
        finally:
            _enabled[0] = prev
        _check_inplace_result(self, result)
        self._data[...] = result._data
    self._version += 1
    return self


def _check_inplace_result(self, result):
    if result._data.shape != self._data.shape:
        try:
            np.broadcast_shapes(result._data.shape, self._data.shape)
            ok = np.broadcast_shapes(result._data.shape, self._data.shape) == self._data.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"in-place op: the result of shape {tuple(result.shape)} cannot be written into "
                f"a tensor of shape {tuple(self.shape)}"
            )
    src, dst = result._data.dtype, self._data.dtype
    if src != dst and not np.can_cast(src, dst, "same_kind"):
        raise RuntimeError(
            f"in-place op: result type {_dtype.from_np(src)} can't be cast to the tensor's "
            f"dtype {_dtype.from_np(dst)}"
        )


def _norm_dim(dim, ndim, what="dim"):
    nd = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{what}: dim must be an int, got {dim!r}")
    if not -nd <= dim < nd:
        raise IndexError(f"{what}: dim {dim} is out of range for a tensor with {ndim} dims")
    return dim % nd


# The op modules import Tensor, so they are bound here, after the class exists.
from nerve.autograd import engine as _engine  # noqa: E402  (circular: engine needs Tensor)
from nerve.ops import elementwise as _E  # noqa: E402
from nerve.ops import index as _I  # noqa: E402
from nerve.ops import linalg as _L  # noqa: E402
from nerve.ops import reduce as _R  # noqa: E402
from nerve.ops import shape as _S  # noqa: E402
