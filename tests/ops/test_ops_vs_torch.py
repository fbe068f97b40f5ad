"""The differential test: every op of the engine against PyTorch (CPU), from one table.

Each ``OpSpec`` names an op, a function ``fn(m, *inputs, **kw)`` written once for both libraries
(``m`` is the ``nerve`` or the ``torch`` module), and its cases: input shapes (broadcasting, size-0
and size-1 dims, 0-dim) and keyword arguments. For every spec and case the tests check

- forward values and dtypes, and gradients for a random upstream gradient, against PyTorch in
  float32 and float64 (``test_forward_backward``);
- the same on non-contiguous (transposed or strided) inputs (``test_noncontiguous``);
- the float64 gradients against central finite differences (``test_gradcheck``);
- second derivatives against ``torch.autograd.grad(..., create_graph=True)``
  (``test_second_order``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve

F32, F64 = np.float32, np.float64

# Degenerate rows (var over one element, fully masked softmax) produce NaN on purpose, in both
# libraries; their NumPy / PyTorch warnings are expected.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


@dataclass
class Case:
    shapes: tuple  # one shape per tensor input
    kw: dict = field(default_factory=dict)
    id: str = ""
    smooth: bool = True  # False: a degenerate case (0/0) that finite differences cannot check


@dataclass
class OpSpec:
    name: str
    fn: Callable  # fn(m, *inputs, **kw) with m = nerve or torch
    cases: list
    domain: str | tuple = "real"  # value domain of the inputs (one for all, or one per input)
    torch_fn: Callable | None = None  # when torch spells it differently
    has_grad: bool = True
    second_order: bool = True
    gradcheck: bool = True
    scale32: float = 1.0  # float32 tolerance multiplier (long reductions, matmul)

    def torch_call(self, *args, **kw):
        return (self.torch_fn or self.fn)(torch, *args, **kw)


def C(*shapes, id="", smooth=True, **kw):
    return Case(tuple(shapes), kw, id, smooth)


# ---------------------------------------------------------------------------- shape families
BINARY = [
    C((3, 4), (3, 4), id="same"),
    C((2, 3, 4), (3, 1), id="bcast"),
    C((1, 4), (3, 1), id="outer-bcast"),
    C((0, 4), (1, 4), id="size0"),
    C((1,), (1,), id="size1"),
    C((), (2, 3), id="0dim"),
]
UNARY = [
    C((3, 4), id="2d"),
    C((2, 1, 3), id="3d-size1"),
    C((0, 3), id="size0"),
    C((1,), id="size1"),
    C((), id="0dim"),
]
REDUCE = [
    C((3, 4, 5), dim=None, keepdim=False, id="all"),
    C((3, 4, 5), dim=1, keepdim=False, id="dim1"),
    C((3, 4, 5), dim=(0, 2), keepdim=True, id="dims02-keep"),
    C((3, 4, 5), dim=-1, keepdim=True, id="dim-1-keep"),
    C((1, 4), dim=0, keepdim=False, id="size1"),
    C((), dim=None, keepdim=False, id="0dim"),
]
# var/std over one element divide by N - 1 = 0: NaN, as in PyTorch, so no finite differences.
REDUCE_VAR = REDUCE[:4] + [C((1, 4), dim=0, keepdim=False, id="size1", smooth=False)]
SOFTMAX = [
    C((3, 5), dim=-1, id="last"),
    C((3, 5), dim=0, id="first"),
    C((2, 3, 4), dim=1, id="mid"),
    C((1, 1), dim=1, id="size1"),
    C((0, 4), dim=1, id="size0"),
]


def _idx(*values):
    return np.array(values, dtype=np.int64)


SPECS = [
    # --- arithmetic
    OpSpec("add", lambda m, a, b: a + b, BINARY),
    OpSpec("add_fn_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), BINARY[:3]),
    OpSpec("sub", lambda m, a, b: a - b, BINARY),
    OpSpec("mul", lambda m, a, b: a * b, BINARY),
    OpSpec("div", lambda m, a, b: a / b, BINARY, domain=("real", "nonzero")),
    OpSpec("rdiv_scalar", lambda m, a: 1.5 / a, UNARY, domain="nonzero"),
    OpSpec("add_scalar", lambda m, a: a + 2 - 0.5 * a * 3, UNARY),
    OpSpec("pow_scalar", lambda m, a: a**3, UNARY),
    OpSpec("pow_half", lambda m, a: a**0.5, UNARY, domain="pos"),
    OpSpec("pow_zero", lambda m, a: a**0, UNARY[:2]),
    OpSpec("pow_tensor", lambda m, a, b: a**b, BINARY, domain=("pos", "real")),
    OpSpec("rpow", lambda m, a: 2.0**a, UNARY),
    OpSpec("neg", lambda m, a: -a, UNARY),
    OpSpec("abs", lambda m, a: a.abs(), UNARY, domain="nonzero"),
    OpSpec("sign", lambda m, a: a.sign(), UNARY, domain="nonzero"),
    OpSpec("maximum", lambda m, a, b: m.maximum(a, b), BINARY),
    OpSpec("minimum", lambda m, a, b: m.minimum(a, b), BINARY),
    OpSpec("clamp", lambda m, a: a.clamp(-0.5, 0.7), UNARY),
    OpSpec("clamp_min", lambda m, a: m.clamp(a, min=-0.2), UNARY),
    OpSpec("clamp_max", lambda m, a: a.clamp(max=0.3), UNARY),
    OpSpec("clamp_tensor", lambda m, a, lo: a.clamp(min=lo), BINARY[:3]),
    OpSpec(
        "where",
        lambda m, a, b, c: m.where(c > 0, a, b),
        [
            C((3, 4), (3, 4), (3, 4), id="same"),
            C((3, 4), (4,), (3, 1), id="bcast"),
            C((0, 4), (1, 4), (0, 1), id="size0"),
        ],
    ),
    OpSpec("where_scalar", lambda m, a: m.where(a > 0, a, 0.5), UNARY),
    OpSpec("floor", lambda m, a: a.floor(), UNARY, domain="off-integer"),
    OpSpec("ceil", lambda m, a: a.ceil(), UNARY, domain="off-integer"),
    OpSpec("round", lambda m, a: (a * 3).round(), UNARY, domain="off-integer"),
    OpSpec("trunc", lambda m, a: a.trunc(), UNARY, domain="off-integer"),
    # --- comparisons and logic (no gradient)
    *[
        OpSpec(name, fn, BINARY, has_grad=False, domain="coarse")
        for name, fn in [
            ("eq", lambda m, a, b: a == b),
            ("ne", lambda m, a, b: a != b),
            ("lt", lambda m, a, b: a < b),
            ("le", lambda m, a, b: a <= b),
            ("gt", lambda m, a, b: a > b),
            ("ge", lambda m, a, b: m.ge(a, b)),
            ("logical_and", lambda m, a, b: (a > 0) & (b > 0)),
            ("logical_or", lambda m, a, b: m.logical_or(a > 0, b > 0)),
            ("logical_xor", lambda m, a, b: (a > 0) ^ (b > 0)),
            ("logical_not", lambda m, a, b: ~(a > b)),
            ("isclose", lambda m, a, b: m.isclose(a, b)),
        ]
    ],
    OpSpec("isfinite", lambda m, a: m.isfinite(a / a), UNARY, has_grad=False, domain="coarse"),
    # --- math
    OpSpec("exp", lambda m, a: a.exp(), UNARY),
    OpSpec("log", lambda m, a: a.log(), UNARY, domain="pos"),
    OpSpec("log1p", lambda m, a: a.log1p(), UNARY, domain="pos"),
    OpSpec("expm1", lambda m, a: m.expm1(a), UNARY),
    OpSpec("sqrt", lambda m, a: a.sqrt(), UNARY, domain="pos"),
    OpSpec("rsqrt", lambda m, a: m.rsqrt(a), UNARY, domain="pos"),
    OpSpec("sin", lambda m, a: a.sin(), UNARY),
    OpSpec("cos", lambda m, a: m.cos(a), UNARY),
    OpSpec("tanh", lambda m, a: a.tanh(), UNARY),
    OpSpec("sigmoid", lambda m, a: m.sigmoid(a), UNARY),
    OpSpec("sigmoid_large", lambda m, a: (a * 40).sigmoid(), UNARY[:1]),
    OpSpec("erf", lambda m, a: a.erf(), UNARY),
    OpSpec("softplus", lambda m, a: m.nn.functional.softplus(a), UNARY),
    OpSpec(
        "softplus_beta",
        lambda m, a: m.nn.functional.softplus(a * 4, beta=2, threshold=5),
        UNARY[:2],
    ),
    # --- activations
    OpSpec("F.sigmoid", lambda m, a: m.nn.functional.sigmoid(a), UNARY),
    OpSpec("F.tanh", lambda m, a: m.nn.functional.tanh(a), UNARY),
    OpSpec("F.relu", lambda m, a: m.nn.functional.relu(a), UNARY, domain="nonzero"),
    OpSpec(
        "F.leaky_relu", lambda m, a: m.nn.functional.leaky_relu(a, 0.1), UNARY, domain="nonzero"
    ),
    OpSpec("F.elu", lambda m, a: m.nn.functional.elu(a), UNARY, domain="nonzero"),
    OpSpec(
        "F.elu_alpha", lambda m, a: m.nn.functional.elu(a, alpha=0.5), UNARY[:2], domain="nonzero"
    ),
    OpSpec("F.gelu", lambda m, a: m.nn.functional.gelu(a), UNARY),
    OpSpec("F.gelu_tanh", lambda m, a: m.nn.functional.gelu(a, approximate="tanh"), UNARY),
    OpSpec("F.silu", lambda m, a: m.nn.functional.silu(a), UNARY),
    OpSpec("F.softmax", lambda m, a, dim: m.nn.functional.softmax(a, dim=dim), SOFTMAX),
    OpSpec("F.log_softmax", lambda m, a, dim: m.nn.functional.log_softmax(a, dim=dim), SOFTMAX),
    OpSpec("softmax_method", lambda m, a, dim: a.softmax(dim), SOFTMAX[:2]),
    OpSpec("log_softmax_fn", lambda m, a, dim: m.log_softmax(a, dim), SOFTMAX[:2]),
    OpSpec("F.relu6", lambda m, a: m.nn.functional.relu6(a * 4), UNARY, domain="nonzero"),
    OpSpec(
        "F.hardtanh", lambda m, a: m.nn.functional.hardtanh(a, -0.5, 1.0), UNARY, domain="nonzero"
    ),
    OpSpec("F.mish", lambda m, a: m.nn.functional.mish(a), UNARY),
    # --- ties and kinks hit exactly (values from {-1, -0.5, 0, 0.5, 1}): PyTorch's conventions
    # for the gradient there (shared among ties, inclusive clamp bounds, zero at relu(0)).
    # Finite differences are meaningless at a kink, so no gradcheck.
    *[
        OpSpec(name, fn, cases, domain="coarse", gradcheck=False)
        for name, fn, cases in [
            ("ties_amax", lambda m, a: a.amax(dim=1), [C((4, 5))]),
            ("ties_max", lambda m, a: a.max(), [C((4, 5))]),
            ("ties_amin_keepdim", lambda m, a: a.amin(dim=0, keepdim=True), [C((4, 5))]),
            ("ties_maximum", lambda m, a, b: m.maximum(a, b), [C((4, 5), (4, 5))]),
            ("ties_minimum", lambda m, a, b: m.minimum(a, b), [C((4, 5), (5,))]),
            ("ties_clamp", lambda m, a: a.clamp(-0.5, 0.5), [C((4, 5))]),
            ("ties_clamp_tensor", lambda m, a, b: a.clamp(min=b), [C((4, 5), (4, 5))]),
            ("ties_relu", lambda m, a: m.nn.functional.relu(a), [C((4, 5))]),
            ("ties_leaky_relu", lambda m, a: m.nn.functional.leaky_relu(a, 0.1), [C((4, 5))]),
            ("ties_abs", lambda m, a: a.abs(), [C((4, 5))]),
            ("ties_hardtanh", lambda m, a: m.nn.functional.hardtanh(a, -0.5, 0.5), [C((4, 5))]),
            ("ties_norm_inf", lambda m, a: a.norm(float("inf"), 1), [C((4, 5))]),
        ]
    ],
    # NOTE: at exactly x = 0 PyTorch's ELU has first derivative alpha but second derivative 0;
    # nerve's composed ELU has alpha for both (the left-hand limit). Only the first is compared.
    OpSpec(
        "ties_elu",
        lambda m, a: m.nn.functional.elu(a, 0.7),
        [C((4, 5))],
        domain="coarse",
        gradcheck=False,
        second_order=False,
    ),
    # --- a fully masked row (-inf everywhere) gives NaN, and masked_fill's backward zeroes it
    OpSpec(
        "masked_logsumexp",
        lambda m, a, mask: m.logsumexp(a.masked_fill(m.tensor(mask), float("-inf")), 1),
        [C((3, 4), mask=np.array([[1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=bool))],
        gradcheck=False,
    ),
    OpSpec(
        "masked_softmax",
        lambda m, a, mask: m.softmax(a.masked_fill(m.tensor(mask), float("-inf")), 1),
        [C((3, 4), mask=np.array([[1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=bool))],
        gradcheck=False,
    ),
    # --- mixed dtypes: the cast back to each input's dtype is differentiated too
    OpSpec(
        "mixed_0dim_double",
        lambda m, a, b: a * b.double()[()] + b,
        [C((3, 4), (), id="f32-tensor-f64-0dim")],
    ),
    OpSpec(
        "mixed_double_float",
        lambda m, a, b: a.double() * b.float() + a.sin(),
        [C((3, 4), (4,))],
        gradcheck=False,
    ),  # b goes through float32: no finite differences
    OpSpec(
        "mixed_int",
        lambda m, a: a * m.tensor([1, 2, 3]) + m.tensor([True, False, True]),
        [C((2, 3))],
    ),
    # --- reductions
    OpSpec("sum", lambda m, a, dim, keepdim: a.sum(dim=dim, keepdim=keepdim), REDUCE, scale32=2),
    OpSpec("sum_size0", lambda m, a: a.sum(dim=1), [C((3, 0)), C((0, 3))]),
    OpSpec("mean", lambda m, a, dim, keepdim: a.mean(dim=dim, keepdim=keepdim), REDUCE, scale32=2),
    OpSpec(
        "var", lambda m, a, dim, keepdim: a.var(dim=dim, keepdim=keepdim), REDUCE_VAR, scale32=10
    ),
    OpSpec("var_biased", lambda m, a, dim, keepdim: a.var(dim, False, keepdim), REDUCE, scale32=10),
    OpSpec(
        "std", lambda m, a, dim, keepdim: a.std(dim=dim, keepdim=keepdim), REDUCE_VAR, scale32=10
    ),
    OpSpec(
        "std_biased",
        lambda m, a, dim, keepdim: m.std(a, dim, False, keepdim),
        REDUCE[:4],
        scale32=10,
    ),
    OpSpec(
        "amax",
        lambda m, a, dim, keepdim: a.amax(dim=() if dim is None else dim, keepdim=keepdim),
        REDUCE,
        domain="distinct",
    ),
    OpSpec(
        "amin",
        lambda m, a, dim, keepdim: m.amin(a, dim=() if dim is None else dim, keepdim=keepdim),
        REDUCE,
        domain="distinct",
    ),
    OpSpec("max", lambda m, a: a.max(), UNARY[:2] + UNARY[3:], domain="distinct"),
    OpSpec("min_fn", lambda m, a: m.min(a), UNARY[:2], domain="distinct"),
    OpSpec(
        "max_dim",
        lambda m, a, dim, keepdim: a.max(dim, keepdim),
        [
            C((3, 4), dim=1, keepdim=False),
            C((3, 4), dim=0, keepdim=True),
            C((2, 3, 4), dim=-1, keepdim=False),
            C((1, 4), dim=0, keepdim=False),
        ],
        domain="distinct",
    ),
    OpSpec(
        "min_dim",
        lambda m, a, dim, keepdim: m.min(a, dim=dim, keepdim=keepdim),
        [C((3, 4), dim=1, keepdim=False), C((2, 3, 4), dim=0, keepdim=True)],
        domain="distinct",
    ),
    OpSpec("max_binary", lambda m, a, b: m.max(a, b), BINARY[:3]),
    OpSpec(
        "argmax",
        lambda m, a, dim, keepdim: a.argmax(dim, keepdim),
        [
            C((3, 4), dim=None, keepdim=False),
            C((3, 4), dim=1, keepdim=False),
            C((2, 3, 4), dim=0, keepdim=True),
            C((1, 4), dim=0, keepdim=False),
        ],
        has_grad=False,
        domain="distinct",
    ),
    OpSpec(
        "argmin",
        lambda m, a, dim, keepdim: m.argmin(a, dim=dim, keepdim=keepdim),
        [C((3, 4), dim=None, keepdim=False), C((3, 4), dim=-1, keepdim=True)],
        has_grad=False,
        domain="distinct",
    ),
    OpSpec("prod", lambda m, a: a.prod(), UNARY[:2] + UNARY[3:], domain="pos"),
    OpSpec(
        "prod_dim",
        lambda m, a, dim, keepdim: a.prod(dim, keepdim),
        [
            C((3, 4), dim=1, keepdim=False),
            C((2, 3, 4), dim=0, keepdim=True),
            C((1, 4), dim=0, keepdim=False),
            C((0, 4), dim=0, keepdim=False),
        ],
    ),
    OpSpec(
        "prod_with_zero",
        lambda m, a, dim: a.prod(dim),
        [C((3, 4), dim=1), C((3, 4), dim=0)],
        domain="with-zero",
    ),
    OpSpec("prod_all_with_zero", lambda m, a: a.prod(), [C((3, 4))], domain="with-zero"),
    OpSpec(
        "logsumexp",
        lambda m, a, dim, keepdim: a.logsumexp(dim, keepdim),
        [
            C((3, 4), dim=1, keepdim=False),
            C((2, 3, 4), dim=(0, 2), keepdim=True),
            C((1, 4), dim=0, keepdim=False),
            C((3, 4), dim=-1, keepdim=True),
        ],
    ),
    OpSpec("logsumexp_large", lambda m, a: m.logsumexp(a * 500, 1), [C((3, 4))]),
    OpSpec("norm", lambda m, a: a.norm(), UNARY[:2] + UNARY[3:]),
    OpSpec(
        "norm_p",
        lambda m, a, p, dim, keepdim: a.norm(p, dim, keepdim),
        [
            C((3, 4), p=2, dim=1, keepdim=False),
            C((3, 4), p=1, dim=0, keepdim=True),
            C((2, 3, 4), p=3, dim=(1, 2), keepdim=False),
            C((3, 4), p=float("inf"), dim=1, keepdim=False),
            C((3, 4), p=float("-inf"), dim=0, keepdim=False),
        ],
        domain="distinct",
    ),
    OpSpec(
        "cumsum",
        lambda m, a, dim: a.cumsum(dim),
        [
            C((3, 4), dim=1),
            C((3, 4), dim=0),
            C((2, 3, 4), dim=-2),
            C((5,), dim=0),
            C((0, 3), dim=1),
        ],
        scale32=2,
    ),
    # --- linear algebra
    OpSpec(
        "matmul",
        lambda m, a, b: a @ b,
        [
            C((3,), (3,), id="dot"),
            C((2, 3), (3,), id="mv"),
            C((3,), (3, 4), id="vm"),
            C((2, 3), (3, 4), id="mm"),
            C((5, 2, 3), (3, 4), id="batched-2d"),
            C((2, 3), (5, 3, 4), id="2d-batched"),
            C((2, 1, 2, 3), (3, 3, 4), id="bcast-batch"),
            C((3,), (2, 3, 4), id="vec-batched"),
            C((2, 2, 3), (3,), id="batched-vec"),
            C((0, 3), (3, 2), id="size0-rows"),
            C((2, 0), (0, 3), id="size0-inner"),
        ],
        scale32=3,
    ),
    OpSpec("matmul_fn", lambda m, a, b: m.matmul(a, b), [C((2, 3), (3, 4))], scale32=3),
    OpSpec("mm", lambda m, a, b: m.mm(a, b), [C((2, 3), (3, 4))], scale32=3),
    OpSpec("bmm", lambda m, a, b: a.bmm(b), [C((2, 2, 3), (2, 3, 4))], scale32=3),
    OpSpec(
        "einsum",
        lambda m, a, b, eq: m.einsum(eq, a, b),
        [
            C((2, 3), (3, 4), eq="ij,jk->ik"),
            C((2, 2, 3), (2, 3, 4), eq="bij,bjk->bik"),
            C((3,), (3,), eq="i,i->"),
            C((2, 3), (3,), eq="ij,j->i"),
            C((3,), (4,), eq="i,j->ij"),
            C((2, 3), (2, 4), eq="bi,bj->bij"),
            C((2, 3), (3, 4), eq="ij,jk"),
            C((2, 3), (4,), eq="ij,k->ik"),
        ],
        scale32=3,
    ),
    OpSpec(
        "einsum_unary",
        lambda m, a, eq: m.einsum(eq, a),
        [
            C((2, 3), eq="ij->ji"),
            C((2, 3), eq="ij->j"),
            C((2, 3, 4), eq="abc->cab"),
            C((3, 3), eq="ii->", id="trace"),
            C((3, 3), eq="ii->i", id="diagonal"),
            C((3, 3, 2), eq="iij->ji", id="batched-diagonal"),
            C((2, 3, 4), eq="...j->..."),
        ],
    ),
    OpSpec(
        "einsum_ellipsis",
        lambda m, a, b, eq: m.einsum(eq, a, b),
        [
            C((5, 2, 3), (3, 4), eq="...ij,...jk->...ik", id="batched"),
            C((2, 1, 2, 3), (3, 3, 4), eq="...ij,...jk", id="broadcast-implicit"),
            C((2, 3), (1,), eq="ij,j->i", id="size1-broadcast"),
            C((3, 3), (3,), eq="ii,i->i", id="diagonal-times-vector"),
        ],
        scale32=3,
    ),
    OpSpec("outer", lambda m, a, b: m.outer(a, b), [C((3,), (4,)), C((0,), (2,)), C((1,), (1,))]),
    # --- shape
    OpSpec(
        "reshape",
        lambda m, a, shape: a.reshape(*shape) if shape else a.reshape(shape),
        [
            C((3, 4), shape=(2, 6)),
            C((3, 4), shape=(-1,)),
            C((2, 3, 4), shape=(4, -1)),
            C((0, 3), shape=(3, 0)),
            C((), shape=(1, 1)),
            C((1,), shape=()),
        ],
    ),
    OpSpec(
        "view",
        lambda m, a, shape: a.view(shape),
        [C((3, 4), shape=(2, 6)), C((2, 3, 4), shape=(6, 4))],
    ),
    OpSpec("view_as", lambda m, a, b: a.view_as(b), [C((3, 4), (2, 6))]),
    OpSpec(
        "flatten",
        lambda m, a, start, end: a.flatten(start, end),
        [
            C((2, 3, 4), start=0, end=-1),
            C((2, 3, 4), start=1, end=-1),
            C((2, 3, 4), start=0, end=1),
            C((), start=0, end=-1),
            C((2, 0, 3), start=1, end=2),
        ],
    ),
    OpSpec("squeeze", lambda m, a: a.squeeze(), [C((1, 3, 1)), C((1,)), C((2, 3))]),
    OpSpec(
        "squeeze_dim",
        lambda m, a, dim: m.squeeze(a, dim),
        [C((1, 3, 1), dim=0), C((1, 3, 1), dim=-1), C((1, 3, 1), dim=1)],
    ),
    OpSpec(
        "unsqueeze",
        lambda m, a, dim: a.unsqueeze(dim),
        [C((3, 4), dim=0), C((3, 4), dim=-1), C((3, 4), dim=1), C((), dim=0)],
    ),
    OpSpec(
        "transpose",
        lambda m, a, d0, d1: a.transpose(d0, d1),
        [C((2, 3, 4), d0=0, d1=2), C((2, 3, 4), d0=-1, d1=-2), C((3, 4), d0=1, d1=0)],
    ),
    OpSpec(
        "permute",
        lambda m, a, dims: a.permute(*dims),
        [C((2, 3, 4), dims=(2, 0, 1)), C((2, 3, 4), dims=(0, 2, 1)), C((0, 3), dims=(1, 0))],
    ),
    OpSpec("T", lambda m, a: a.T, [C((3, 4)), C((3,))]),
    OpSpec("mT", lambda m, a: a.mT, [C((3, 4)), C((2, 3, 4))]),
    OpSpec("t", lambda m, a: a.t(), [C((3, 4))]),
    OpSpec(
        "expand",
        lambda m, a, shape: a.expand(*shape),
        [
            C((3, 1), shape=(2, 3, 4)),
            C((1,), shape=(3,)),
            C((3, 1), shape=(-1, 4)),
            C((1, 4), shape=(0, 4)),
        ],
    ),
    OpSpec("expand_as", lambda m, a, b: a.expand_as(b), [C((3, 1), (3, 4))]),
    OpSpec(
        "broadcast_to",
        lambda m, a, shape: m.broadcast_to(a, shape),
        [C((3, 1), shape=(2, 3, 4)), C((), shape=(2, 2))],
    ),
    OpSpec(
        "repeat",
        lambda m, a, sizes: a.repeat(*sizes),
        [
            C((2, 3), sizes=(2, 1)),
            C((2, 3), sizes=(2, 1, 3)),
            C((3,), sizes=(2,)),
            C((2, 3), sizes=(0, 1)),
        ],
    ),
    OpSpec(
        "tile",
        lambda m, a, dims: a.tile(dims),
        [C((2, 3), dims=(2,)), C((2, 3), dims=(2, 2)), C((3,), dims=(2, 1))],
    ),
    OpSpec(
        "cat",
        lambda m, a, b, dim: m.cat([a, b], dim),
        [
            C((2, 3), (4, 3), dim=0),
            C((2, 3), (2, 1), dim=1),
            C((2, 3), (2, 3), dim=-1),
            C((0, 3), (2, 3), dim=0),
            C((2, 3, 4), (2, 1, 4), dim=1),
        ],
    ),
    OpSpec("cat3", lambda m, a, b, c: m.cat((a, b, c)), [C((1, 2), (3, 2), (2, 2))]),
    OpSpec(
        "stack",
        lambda m, a, b, dim: m.stack([a, b], dim),
        [
            C((2, 3), (2, 3), dim=0),
            C((2, 3), (2, 3), dim=-1),
            C((2, 3), (2, 3), dim=1),
            C((), (), dim=0),
        ],
    ),
    OpSpec(
        "split",
        lambda m, a, size, dim: a.split(size, dim),
        [
            C((5, 3), size=2, dim=0),
            C((5, 3), size=[1, 4], dim=0),
            C((2, 7), size=3, dim=1),
            C((2, 6), size=3, dim=-1),
        ],
    ),
    OpSpec(
        "chunk",
        lambda m, a, n, dim: a.chunk(n, dim),
        [C((2, 7), n=3, dim=1), C((6, 2), n=3, dim=0), C((5, 2), n=2, dim=0)],
    ),
    OpSpec("unbind", lambda m, a: a.unbind(1), [C((2, 3))]),
    OpSpec(
        "flip",
        lambda m, a, dims: a.flip(dims),
        [C((3, 4), dims=(0,)), C((3, 4), dims=(0, 1)), C((2, 3, 4), dims=(-1,))],
    ),
    OpSpec(
        "roll",
        lambda m, a, shifts, dims: a.roll(shifts, dims),
        [
            C((3, 4), shifts=1, dims=0),
            C((3, 4), shifts=(1, -2), dims=(0, 1)),
            C((3, 4), shifts=2, dims=None),
            C((3, 4), shifts=-5, dims=1),
        ],
    ),
    OpSpec(
        "pad_constant",
        lambda m, a, pad, value: m.nn.functional.pad(a, pad, value=value),
        [
            C((2, 3), pad=(1, 2), value=0.5),
            C((2, 3, 4), pad=(1, 1, 2, 0), value=0.0),
            C((2, 3), pad=(0, 0, 1, 1), value=-1.0),
        ],
    ),
    OpSpec(
        "pad_reflect",
        lambda m, a, pad: m.nn.functional.pad(a, pad, mode="reflect"),
        [C((2, 3, 4), pad=(1, 2)), C((1, 2, 3, 5), pad=(2, 2, 1, 1)), C((2, 5), pad=(3, 0))],
    ),
    OpSpec(
        "tril",
        lambda m, a, k: a.tril(k),
        [C((4, 5), k=0), C((4, 5), k=1), C((4, 5), k=-1), C((2, 3, 3), k=0)],
    ),
    OpSpec(
        "triu",
        lambda m, a, k: m.triu(a, k),
        [C((4, 5), k=0), C((4, 5), k=2), C((4, 5), k=-1), C((2, 3, 3), k=0)],
    ),
    # --- indexing
    OpSpec(
        "getitem_basic",
        lambda m, a, key: a[key],
        [
            C((3, 4), key=1),
            C((3, 4), key=(slice(None), slice(1, 3))),
            C((3, 4, 5), key=(Ellipsis, slice(None, None, 2))),
            C((3, 4), key=(None, 1)),
            C((3, 4), key=(-1, slice(1, None))),
            C((3, 4), key=(slice(3, 5),)),
        ],
    ),
    OpSpec("getitem_int_list", lambda m, a: a[[0, 2, 0]], [C((3, 4)), C((4,))]),
    OpSpec(
        "getitem_int_tensor",
        lambda m, a, idx: a[m.tensor(idx)],
        [C((4, 3), idx=_idx([0, 3], [3, 3])), C((4,), idx=_idx(2, 0, 2, 1))],
    ),
    OpSpec(
        "getitem_int_cols",
        lambda m, a, idx: a[:, m.tensor(idx)],
        [C((3, 4), idx=_idx(3, 1, 1)), C((2, 4, 2), idx=_idx(0, -1))],
    ),
    OpSpec(
        "getitem_int_pair",
        lambda m, a, i, j: a[m.tensor(i), m.tensor(j)],
        [C((3, 4), i=_idx(0, 2, 2), j=_idx(1, 3, 1))],
    ),
    OpSpec(
        "getitem_bool",
        lambda m, a, mask: a[m.tensor(mask)],
        [
            C((3, 4), mask=np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]], dtype=bool)),
            C((3, 4), mask=np.array([True, False, True])),
            C((2, 2), mask=np.zeros((2, 2), bool)),
        ],
    ),
    OpSpec("getitem_bool_tensor", lambda m, a: a[a > 0], [C((3, 4)), C((5,))]),
    OpSpec(
        "gather",
        lambda m, a, dim, idx: a.gather(dim, m.tensor(idx)),
        [
            C((3, 4), dim=1, idx=_idx([0, 3], [1, 1], [2, 0])),
            C((3, 4), dim=0, idx=_idx([2, 0, 1, 1], [0, 0, 0, 2])),
            C((3, 4), dim=1, idx=np.zeros((3, 0), np.int64)),
        ],
    ),
    OpSpec(
        "gather_fn",
        lambda m, a, idx: m.gather(a, -1, m.tensor(idx)),
        [C((2, 2, 3), idx=_idx([[0, 2], [1, 1]], [[2, 2], [0, 1]]))],
    ),
    OpSpec(
        "scatter",
        lambda m, a, src, idx: a.scatter(1, m.tensor(idx), src),
        [C((3, 5), (3, 2), idx=_idx([0, 4], [1, 2], [3, 0]))],
    ),
    OpSpec(
        "scatter_add",
        lambda m, a, src, idx: a.scatter_add(1, m.tensor(idx), src),
        [C((3, 5), (3, 3), idx=_idx([0, 4, 0], [1, 2, 2], [3, 0, 0]))],
    ),
    OpSpec(
        "scatter_add_dim0",
        lambda m, a, src, idx: m.scatter_add(a, 0, m.tensor(idx), src),
        [C((3, 2), (4, 2), idx=_idx([0, 1], [2, 2], [0, 0], [1, 2]))],
    ),
    OpSpec(
        "index_select",
        lambda m, a, dim, idx: a.index_select(dim, m.tensor(idx)),
        [
            C((4, 3), dim=0, idx=_idx(2, 0, 2)),
            C(
                (4, 3),
                dim=1,
                idx=_idx(
                    1,
                ),
            ),
            C((2, 3, 4), dim=-1, idx=_idx(3, 0, 0, 1)),
        ],
    ),
    OpSpec(
        "index_add",
        lambda m, a, src, idx: a.index_add(0, m.tensor(idx), src),
        [C((4, 3), (3, 3), idx=_idx(0, 2, 0)), C((4,), (2,), idx=_idx(3, 3))],
    ),
    OpSpec(
        "masked_fill",
        lambda m, a, mask: a.masked_fill(m.tensor(mask), 0.5),
        [
            C((3, 4), mask=np.array([[1, 0, 0, 1]] * 3, dtype=bool)),
            C((3, 4), mask=np.array([[True], [False], [True]])),
        ],
    ),
    OpSpec(
        "one_hot",
        lambda m, a, idx, n: m.nn.functional.one_hot(m.tensor(idx), n) + 0 * a.sum(),
        [C((), idx=_idx(0, 2, 1, 2), n=3), C((), idx=_idx([1, 0], [3, 3]), n=-1)],
        has_grad=False,
    ),
    OpSpec(
        "take_along_dim",
        lambda m, a, idx, dim: m.take_along_dim(a, m.tensor(idx), dim),
        [
            C((3, 4), idx=_idx([0, 3], [1, 1], [2, 0]), dim=1),
            C((3, 4), idx=_idx(5, 0, 11), dim=None),
            C((3, 4), idx=_idx([[0], [2]]).reshape(1, 2), dim=1),
        ],
    ),
    OpSpec(
        "topk",
        lambda m, a, k, dim, largest: a.topk(k, dim, largest),
        [
            C((3, 5), k=2, dim=-1, largest=True),
            C((3, 5), k=3, dim=0, largest=True),
            C((3, 5), k=1, dim=1, largest=False),
            C((4,), k=4, dim=0, largest=True),
        ],
        domain="distinct",
    ),
    OpSpec(
        "sort",
        lambda m, a, dim, descending: a.sort(dim, descending),
        [
            C((3, 5), dim=-1, descending=False),
            C((3, 5), dim=0, descending=True),
            C((6,), dim=0, descending=False),
        ],
        domain="distinct",
    ),
    OpSpec(
        "sort_fn", lambda m, a: m.sort(a, descending=True).values, [C((2, 4))], domain="distinct"
    ),
]
SPEC_BY_NAME = {s.name: s for s in SPECS}
assert len(SPEC_BY_NAME) == len(SPECS), "duplicate spec names"


# ---------------------------------------------------------------------------- inputs
def _values(rng, shape, domain):
    size = int(np.prod(shape)) if shape else 1
    if domain == "real":
        x = rng.standard_normal(shape)
    elif domain == "pos":
        x = rng.uniform(0.5, 2.0, shape)
    elif domain == "nonzero":
        x = rng.standard_normal(shape)
        x = np.sign(x) * (0.2 + np.abs(x))
    elif domain == "off-integer":  # at least 0.1 away from integers and half-integers
        x = rng.integers(-4, 4, shape) + rng.uniform(0.1, 0.4, shape) * rng.choice([1, 3], shape)
    elif domain == "coarse":  # few distinct values, so equality and ties happen
        x = rng.integers(-2, 3, shape) * 0.5
    elif domain == "distinct":  # no ties, at least 0.1 apart
        x = (rng.permutation(size) - size / 2) * 0.3 + rng.uniform(-0.05, 0.05, size)
        x = x.reshape(shape)
    elif domain == "with-zero":
        x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
        x.reshape(-1)[::5] = 0.0
        if x.ndim == 2:
            x[1, :] = 0.0
            x[1, 0] = 1.25  # one row with a single non-zero
    else:
        raise ValueError(domain)
    return np.asarray(x, dtype=np.float64)


def make_inputs(spec: OpSpec, case: Case, case_index: int):
    rng = np.random.default_rng(zlib.crc32(f"{spec.name}/{case_index}".encode()))
    domains = spec.domain if isinstance(spec.domain, tuple) else (spec.domain,) * len(case.shapes)
    return [_values(rng, shape, d) for shape, d in zip(case.shapes, domains, strict=True)]


def noncontiguous(arr: np.ndarray) -> np.ndarray:
    """The same values in non-contiguous memory: transposed storage, or every other element."""
    if arr.ndim >= 2 and arr.shape[-1] > 1 and arr.shape[-2] > 1:
        out = np.ascontiguousarray(np.swapaxes(arr, -1, -2)).swapaxes(-1, -2)
    elif arr.ndim >= 1 and arr.size > 1:
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
        big[..., ::2] = arr
        out = big[..., ::2]
    else:
        return arr
    assert not out.flags.c_contiguous and np.array_equal(out, arr)
    return out


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _differentiable(outputs):
    return [o for o in outputs if o.dtype.is_floating_point and o.requires_grad]


def _grad_seeds(outputs, rng):
    return [rng.standard_normal(tuple(o.shape)) for o in outputs]


def run_nerve(spec, case, arrays, dtype, grad_seed_rng=None, noncontig=False):
    inputs = []
    for a in arrays:
        a = a.astype(dtype)
        t = nerve.from_numpy(noncontiguous(a) if noncontig else a)
        inputs.append(t.requires_grad_(spec.has_grad))
    outputs = _outputs(spec.fn(nerve, *inputs, **case.kw))
    grads = None
    if spec.has_grad:
        diff = _differentiable(outputs)
        seeds = _grad_seeds(diff, grad_seed_rng)
        if diff:
            seeds_t = [nerve.tensor(s.astype(dtype)) for s in seeds]
            grads = nerve.autograd.grad(diff, inputs, seeds_t, allow_unused=True)
    return outputs, grads


def run_torch(spec, case, arrays, dtype, grad_seed_rng=None):
    inputs = [torch.tensor(a.astype(dtype), requires_grad=spec.has_grad) for a in arrays]
    outputs = _outputs(spec.torch_call(*inputs, **case.kw))
    grads = None
    if spec.has_grad:
        diff = [o for o in outputs if o.dtype.is_floating_point and o.requires_grad]
        seeds = _grad_seeds(diff, grad_seed_rng)
        if diff:
            seeds_t = [torch.tensor(s.astype(dtype)) for s in seeds]
            grads = torch.autograd.grad(diff, inputs, seeds_t, allow_unused=True)
    return outputs, grads


def compare(spec, case, arrays, dtype, noncontig=False):
    seed = zlib.crc32(spec.name.encode())
    n_out, n_grads = run_nerve(spec, case, arrays, dtype, np.random.default_rng(seed), noncontig)
    t_out, t_grads = run_torch(spec, case, arrays, dtype, np.random.default_rng(seed))
    scale = spec.scale32 if dtype == F32 else 1.0
    assert len(n_out) == len(t_out), f"{len(n_out)} outputs, torch gives {len(t_out)}"
    for i, (n, t) in enumerate(zip(n_out, t_out, strict=True)):
        assert isinstance(n, nerve.Tensor)
        assert n.dtype.name == str(t.dtype).replace("torch.", ""), f"output {i} dtype"
        assert_close(n, t, scale=scale, what=f"{spec.name} output {i}")
        assert n.requires_grad == t.requires_grad, f"output {i} requires_grad"
    assert (n_grads is None) == (t_grads is None)
    if n_grads is not None:
        for i, (a, g, tg) in enumerate(zip(arrays, n_grads, t_grads, strict=True)):
            expected = np.zeros(a.shape, dtype) if tg is None else tg
            actual = np.zeros(a.shape, dtype) if g is None else g
            if g is not None:
                assert g.dtype.name == np.dtype(dtype).name, f"grad {i} dtype {g.dtype}"
                assert not g.requires_grad
            assert_close(actual, expected, scale=scale, what=f"{spec.name} grad of input {i}")


# ---------------------------------------------------------------------------- the tests
CASES = [(s, c, i) for s in SPECS for i, c in enumerate(s.cases)]
IDS = [f"{s.name}-{c.id or i}" for s, c, i in CASES]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize(("spec", "case", "index"), CASES, ids=IDS)
def test_forward_backward(spec, case, index, dtype):
    compare(spec, case, make_inputs(spec, case, index), dtype)


NONCONTIG = [
    (s, c, i)
    for s, c, i in CASES
    if any(int(np.prod(shape)) > 1 and len(shape) >= 1 for shape in c.shapes)
]


@pytest.mark.parametrize(
    ("spec", "case", "index"), NONCONTIG, ids=[f"{s.name}-{c.id or i}" for s, c, i in NONCONTIG]
)
def test_noncontiguous(spec, case, index):
    compare(spec, case, make_inputs(spec, case, index), F64, noncontig=True)


GRADCHECK = [(s, c, i) for s, c, i in CASES if s.has_grad and s.gradcheck and c.smooth]


@pytest.mark.parametrize(
    ("spec", "case", "index"), GRADCHECK, ids=[f"{s.name}-{c.id or i}" for s, c, i in GRADCHECK]
)
def test_gradcheck(spec, case, index):
    arrays = make_inputs(spec, case, index)
    inputs = [nerve.tensor(a, requires_grad=True) for a in arrays]

    def fn(*xs):
        outs = [o for o in _outputs(spec.fn(nerve, *xs, **case.kw)) if o.dtype.is_floating_point]
        return tuple(outs)

    assert nerve.autograd.gradcheck(fn, tuple(inputs), eps=1e-6, atol=1e-6, rtol=1e-5)


SECOND = [(s, c, i) for s, c, i in CASES if s.has_grad and s.second_order]


def _second_order(m, spec, case, arrays, rng):
    """d/dx of sum_i <v_i, d<seed, f(x)>/dx_i>: a Hessian-vector product."""
    inputs = [m.tensor(a, requires_grad=True) for a in arrays]
    outputs = [
        o
        for o in _outputs(spec.fn(m, *inputs, **case.kw))
        if o.dtype.is_floating_point and o.requires_grad
    ]
    seeds = [m.tensor(s) for s in _grad_seeds(outputs, rng)]
    vs = [m.tensor(v) for v in _grad_seeds(inputs, rng)]
    if not outputs:
        return [None] * len(inputs)
    grads = m.autograd.grad(outputs, inputs, seeds, create_graph=True, allow_unused=True)
    pairs = zip(grads, vs, strict=True)
    terms = [(g * v).sum() for g, v in pairs if g is not None and g.requires_grad]
    if not terms:
        return [None] * len(inputs)
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return m.autograd.grad(total, inputs, allow_unused=True)


@pytest.mark.parametrize(
    ("spec", "case", "index"), SECOND, ids=[f"{s.name}-{c.id or i}" for s, c, i in SECOND]
)
def test_second_order(spec, case, index):
    arrays = make_inputs(spec, case, index)
    seed = zlib.crc32(spec.name.encode()) + 1
    mine = _second_order(nerve, spec, case, arrays, np.random.default_rng(seed))
    theirs = _second_order(torch, spec, case, arrays, np.random.default_rng(seed))
    for i, (a, h, th) in enumerate(zip(arrays, mine, theirs, strict=True)):
        expected = np.zeros(a.shape) if th is None else th
        actual = np.zeros(a.shape) if h is None else h
        assert_close(actual, expected, rtol=1e-9, atol=1e-10, what=f"{spec.name} input {i}")


def test_table_covers_the_issue():
    """Every op the engine promises appears in the table."""
    promised = (
        "add sub mul div pow_scalar pow_tensor neg abs sign maximum minimum clamp where floor ceil "
        "round eq lt logical_and exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid erf softplus "
        "F.sigmoid F.tanh F.relu F.leaky_relu F.elu F.gelu F.gelu_tanh F.silu F.softmax "
        "F.log_softmax sum mean var std max_dim min_dim amax amin argmax argmin prod logsumexp "
        "norm cumsum matmul einsum outer reshape view flatten squeeze unsqueeze transpose permute "
        "T mT expand broadcast_to repeat tile cat stack split chunk flip roll pad_constant "
        "pad_reflect tril triu getitem_basic getitem_int_tensor getitem_bool gather scatter "
        "scatter_add index_select index_add masked_fill one_hot take_along_dim topk sort"
    ).split()
    missing = [p for p in promised if p not in SPEC_BY_NAME]
    assert not missing
    assert len(CASES) > 300
