"""Every loss against PyTorch (value, input gradient, target gradient where PyTorch has one) for
each reduction, in float64 and float32; finite differences; second derivatives of the fused
cross-entropy and MSE; stability; and the error messages."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F
from nerve import autograd, nn
from nerve.autograd import gradcheck

REDUCTIONS = ["none", "mean", "sum"]
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """Each test draws the same numbers whether it runs alone or with the others."""
    global rng
    rng = np.random.default_rng(0)


def _pair(arr, requires_grad=True):
    return (
        nerve.tensor(arr, requires_grad=requires_grad),
        torch.tensor(arr, requires_grad=requires_grad),
    )


def _compare(ours, theirs, tensors, scale=1.0, skip_nan_grads=False):
    """Compare loss values, then backward a random upstream gradient and compare input grads."""
    assert_close(ours, theirs, scale=scale, what="loss")
    g = (
        np.random.default_rng(7)
        .standard_normal(theirs.shape)
        .astype(str(theirs.dtype).replace("torch.", ""))
    )
    ours.backward(nerve.tensor(g))
    theirs.backward(torch.tensor(g))
    for i, (a, b) in enumerate(tensors):
        if b.grad is not None:
            expected = b.grad.numpy()
            actual = a.grad.numpy()
            if skip_nan_grads:
                finite = ~np.isnan(expected)
                expected, actual = expected[finite], actual[finite]
            assert_close(actual, expected, scale=scale, what=f"grad of tensor {i}")


# ---------------------------------------------------------------------------- regression
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mse_loss", {}),
        ("l1_loss", {}),
        ("huber_loss", {"delta": 0.7}),
        ("smooth_l1_loss", {"beta": 0.5}),
        ("smooth_l1_loss", {"beta": 0.0}),
    ],
)
def test_regression_losses_match_torch(dtype, reduction, name, kwargs):
    x, tx = _pair(rng.standard_normal((4, 3)).astype(dtype))
    y, ty = _pair(rng.standard_normal((4, 3)).astype(dtype))
    ours = getattr(F, name)(x, y, reduction=reduction, **kwargs)
    theirs = getattr(TF, name)(tx, ty, reduction=reduction, **kwargs)
    _compare(ours, theirs, [(x, tx), (y, ty)], scale=10 if dtype == "float32" else 1)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("MSELoss", {}),
        ("L1Loss", {}),
        ("HuberLoss", {"delta": 2.0}),
        ("SmoothL1Loss", {"beta": 0.3}),
    ],
)
def test_regression_modules_match_torch(cls, kwargs):
    x, tx = _pair(rng.standard_normal(6) * 2)
    y, ty = _pair(rng.standard_normal(6), requires_grad=False)
    _compare(getattr(nn, cls)(**kwargs)(x, y), getattr(torch.nn, cls)(**kwargs)(tx, ty), [(x, tx)])


def test_mse_second_derivative_matches_torch():
    w_np, x_np, y_np = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5)
    w, tw = _pair(w_np)
    (g,) = autograd.grad(
        F.mse_loss((nerve.tensor(x_np) @ w).tanh(), nerve.tensor(y_np)), [w], create_graph=True
    )
    (g * g).sum().backward()
    (tg,) = torch.autograd.grad(
        TF.mse_loss((torch.tensor(x_np) @ tw).tanh(), torch.tensor(y_np)), [tw], create_graph=True
    )
    (tg * tg).sum().backward()
    assert_close(w.grad, tw.grad)


# ---------------------------------------------------------------------------- binary
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(dtype, reduction, weighted):
    p, tp = _pair(rng.uniform(0.05, 0.95, (4, 3)).astype(dtype))
    y, ty = _pair(rng.uniform(0, 1, (4, 3)).astype(dtype))
    w_np = rng.uniform(0.5, 2, (3,)).astype(dtype) if weighted else None
    w = nerve.tensor(w_np) if weighted else None
    tw = torch.tensor(w_np) if weighted else None
    _compare(
        F.binary_cross_entropy(p, y, w, reduction=reduction),
        TF.binary_cross_entropy(tp, ty, tw, reduction=reduction),
        [(p, tp), (y, ty)],
        scale=10 if dtype == "float32" else 1,
    )


def test_bce_clamps_log_at_minus_100_like_torch():
    p, tp = _pair(np.array([0.0, 1.0, 0.5]))
    y, ty = _pair(np.array([1.0, 0.0, 1.0]), requires_grad=False)
    ours = nn.BCELoss(reduction="sum")(p, y)
    assert_close(ours, torch.nn.BCELoss(reduction="sum")(tp, ty))
    assert ours.item() == pytest.approx(200 + np.log(2))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "weighted, pos_weighted", [(False, False), (True, False), (False, True), (True, True)]
)
def test_bce_with_logits_matches_torch(dtype, reduction, weighted, pos_weighted):
    x, tx = _pair((rng.standard_normal((5, 3)) * 4).astype(dtype))
    y, ty = _pair(rng.uniform(0, 1, (5, 3)).astype(dtype))
    w_np = rng.uniform(0.5, 2, (5, 1)).astype(dtype)
    pw_np = rng.uniform(0.5, 3, (3,)).astype(dtype)
    kw = {
        "weight": nerve.tensor(w_np) if weighted else None,
        "pos_weight": nerve.tensor(pw_np) if pos_weighted else None,
    }
    tkw = {
        "weight": torch.tensor(w_np) if weighted else None,
        "pos_weight": torch.tensor(pw_np) if pos_weighted else None,
    }
    _compare(
        F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw),
        TF.binary_cross_entropy_with_logits(tx, ty, reduction=reduction, **tkw),
        [(x, tx), (y, ty)],
        scale=10 if dtype == "float32" else 1,
    )
    module = nn.BCEWithLogitsLoss(reduction=reduction, **kw)
    twin = torch.nn.BCEWithLogitsLoss(reduction=reduction, **tkw)
    assert_close(module(x, y), twin(tx, ty), scale=10 if dtype == "float32" else 1)


def test_bce_with_logits_is_finite_for_huge_logits():
    x, tx = _pair(np.array([1e4, -1e4, 0.0, 50.0, -50.0]))
    y, ty = _pair(np.array([0.0, 1.0, 1.0, 0.0, 1.0]), requires_grad=False)
    _compare(
        F.binary_cross_entropy_with_logits(x, y, reduction="sum"),
        TF.binary_cross_entropy_with_logits(tx, ty, reduction="sum"),
        [(x, tx)],
    )
    assert np.isfinite(x.grad.numpy()).all()


# ---------------------------------------------------------------------------- cross-entropy
CE_CASES = [
    {},
    {"weight": True},
    {"ignore_index": 1},
    {"label_smoothing": 0.2},
    {"weight": True, "ignore_index": 2, "label_smoothing": 0.1},
    {"ignore_index": -100},
]


def _ce_kwargs(case, c, dtype):
    kw = dict(case)
    w_np = np.linspace(0.5, 2.0, c).astype(dtype)
    ours, theirs = dict(kw), dict(kw)
    if kw.get("weight"):
        ours["weight"], theirs["weight"] = nerve.tensor(w_np), torch.tensor(w_np)
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_class_indices_match_torch(dtype, reduction, case, shape):
    c = shape[1] if len(shape) > 1 else shape[0]
    x, tx = _pair((rng.standard_normal(shape) * 3).astype(dtype))
    t_shape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t_np = rng.integers(0, c, t_shape)
    if t_np.ndim:
        t_np.reshape(-1)[0] = 1  # make sure ignore_index=1 really is ignored somewhere
    ours_kw, theirs_kw = _ce_kwargs(case, c, dtype)
    ours = F.cross_entropy(x, nerve.tensor(t_np), reduction=reduction, **ours_kw)
    theirs = TF.cross_entropy(tx, torch.tensor(t_np), reduction=reduction, **theirs_kw)
    _compare(ours, theirs, [(x, tx)], scale=10 if dtype == "float32" else 1)
    module = nn.CrossEntropyLoss(reduction=reduction, **ours_kw)
    twin = torch.nn.CrossEntropyLoss(reduction=reduction, **theirs_kw)
    assert_close(
        module(x, nerve.tensor(t_np)),
        twin(tx, torch.tensor(t_np)),
        scale=10 if dtype == "float32" else 1,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "case",
    [{}, {"weight": True}, {"label_smoothing": 0.3}, {"weight": True, "label_smoothing": 0.3}],
)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)])
def test_cross_entropy_probabilities_match_torch(reduction, case, shape):
    x, tx = _pair(rng.standard_normal(shape))
    probs = rng.uniform(0, 1, shape)
    probs /= probs.sum(axis=1, keepdims=True)
    y, ty = _pair(probs)
    ours_kw, theirs_kw = _ce_kwargs(case, shape[1], "float64")
    _compare(
        F.cross_entropy(x, y, reduction=reduction, **ours_kw),
        TF.cross_entropy(tx, ty, reduction=reduction, **theirs_kw),
        [(x, tx), (y, ty)],
    )


def test_cross_entropy_is_finite_for_logits_of_1e4():
    x, tx = _pair(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=np.float32))
    t = np.array([2, 0])
    ours = F.cross_entropy(x, nerve.tensor(t))
    theirs = TF.cross_entropy(tx, torch.tensor(t))
    _compare(ours, theirs, [(x, tx)])
    assert np.isfinite(ours.item()) and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("case", CE_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_second_derivative_matches_torch(case, reduction):
    """create_graph=True takes the Tensor-op backward: grad of |dL/dx|^2 w.r.t. x."""
    x_np, t_np = rng.standard_normal((5, 4)), np.array([0, 1, 3, 1, 2])
    x, tx = _pair(x_np)
    ours_kw, theirs_kw = _ce_kwargs(case, 4, "float64")
    loss = F.cross_entropy(x, nerve.tensor(t_np), reduction=reduction, **ours_kw)
    tloss = TF.cross_entropy(tx, torch.tensor(t_np), reduction=reduction, **theirs_kw)
    g_np = rng.standard_normal(tloss.shape)
    (gx,) = autograd.grad(loss, [x], grad_outputs=[nerve.tensor(g_np)], create_graph=True)
    (tgx,) = torch.autograd.grad(tloss, [tx], grad_outputs=[torch.tensor(g_np)], create_graph=True)
    assert_close(gx, tgx)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize("case", CE_CASES)
def test_gradcheck_cross_entropy(case):
    x = nerve.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = nerve.tensor([0, 2, 1, 2])
    kw, _ = _ce_kwargs(case, 3, "float64")
    assert gradcheck(lambda x: F.cross_entropy(x, t, **kw), (x,))
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction="none", **kw), (x,))


def test_cross_entropy_all_ignored_gives_nan_like_torch():
    x, tx = _pair(rng.standard_normal((2, 3)))
    ours = F.cross_entropy(x, nerve.tensor([-100, -100]))
    assert np.isnan(ours.item())
    assert np.isnan(TF.cross_entropy(tx, torch.tensor([-100, -100])).item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [{}, {"weight": True}, {"ignore_index": 0}])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)])
def test_nll_loss_matches_torch(reduction, case, shape):
    logp_np = np.log(rng.dirichlet(np.ones(shape[1]), size=(shape[0],) + shape[2:]))
    logp_np = np.moveaxis(logp_np, -1, 1)
    x, tx = _pair(np.ascontiguousarray(logp_np))
    t_np = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    t_np.reshape(-1)[0] = 0
    ours_kw, theirs_kw = _ce_kwargs(case, shape[1], "float64")
    _compare(
        F.nll_loss(x, nerve.tensor(t_np), reduction=reduction, **ours_kw),
        TF.nll_loss(tx, torch.tensor(t_np), reduction=reduction, **theirs_kw),
        [(x, tx)],
    )
    assert_close(
        nn.NLLLoss(reduction=reduction, **ours_kw)(x, nerve.tensor(t_np)),
        torch.nn.NLLLoss(reduction=reduction, **theirs_kw)(tx, torch.tensor(t_np)),
    )


# ---------------------------------------------------------------------------- divergence, margins
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    x, tx = _pair(np.log(rng.dirichlet(np.ones(4), size=3)))
    target = rng.dirichlet(np.ones(4), size=3)
    target[0, 1] = 0.0  # 0 log 0 = 0
    if log_target:
        target = np.log(target + 0.1)
    y, ty = _pair(target)
    _compare(
        F.kl_div(x, y, reduction=reduction, log_target=log_target),
        TF.kl_div(tx, ty, reduction=reduction, log_target=log_target),
        [(x, tx), (y, ty)],
        skip_nan_grads=True,
    )  # NOTE: PyTorch's target gradient at target = 0 is nan
    assert_close(
        nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, y),
        torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(tx, ty),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "p, margin, weighted", [(1, 1.0, False), (2, 0.5, False), (1, 2.0, True), (2, 1.0, True)]
)
def test_multi_margin_loss_matches_torch(reduction, p, margin, weighted):
    x, tx = _pair(rng.standard_normal((6, 4)))
    t_np = rng.integers(0, 4, 6)
    w_np = rng.uniform(0.5, 2, 4)
    kw = {"weight": nerve.tensor(w_np)} if weighted else {}
    tkw = {"weight": torch.tensor(w_np)} if weighted else {}
    _compare(
        F.multi_margin_loss(x, nerve.tensor(t_np), p=p, margin=margin, reduction=reduction, **kw),
        TF.multi_margin_loss(
            tx, torch.tensor(t_np), p=p, margin=margin, reduction=reduction, **tkw
        ),
        [(x, tx)],
    )
    assert_close(
        nn.MultiMarginLoss(p, margin, reduction=reduction, **kw)(x, nerve.tensor(t_np)),
        torch.nn.MultiMarginLoss(p, margin, reduction=reduction, **tkw)(tx, torch.tensor(t_np)),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_loss_matches_torch(reduction, margin):
    a, ta = _pair(rng.standard_normal((6, 5)))
    b, tb = _pair(rng.standard_normal((6, 5)))
    y_np = np.array([1, -1, 1, -1, -1, 1])
    _compare(
        F.cosine_embedding_loss(a, b, nerve.tensor(y_np), margin, reduction=reduction),
        TF.cosine_embedding_loss(ta, tb, torch.tensor(y_np), margin, reduction=reduction),
        [(a, ta), (b, tb)],
    )
    assert_close(
        nn.CosineEmbeddingLoss(margin, reduction=reduction)(a, b, nerve.tensor(y_np)),
        torch.nn.CosineEmbeddingLoss(margin, reduction=reduction)(ta, tb, torch.tensor(y_np)),
    )


# ---------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: F.mse_loss(x, y),
        lambda x, y: F.mse_loss(x, y, reduction="sum"),
        lambda x, y: F.l1_loss(x, y, reduction="none"),
        lambda x, y: F.huber_loss(x, y, delta=0.5),
        lambda x, y: F.smooth_l1_loss(x, y, beta=0.8),
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y.sigmoid(), pos_weight=nerve.tensor([2.0, 0.5, 1.0], dtype=nerve.float64)
        ),
        lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        lambda x, y: F.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
        lambda x, y: F.cross_entropy(x, y.softmax(1), label_smoothing=0.1),
        lambda x, y: F.cosine_embedding_loss(x, y, nerve.tensor([1, -1, 1, -1]), 0.1),
    ],
)
def test_gradcheck_losses(fn):
    x = nerve.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = nerve.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(fn, (x, y))


def test_gradcheck_multi_margin_and_nll():
    x = nerve.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = nerve.tensor([0, 2, 1, 2])
    assert gradcheck(lambda x: F.multi_margin_loss(x, t, p=2, margin=3.0), (x,))
    assert gradcheck(lambda x: F.nll_loss(x.log_softmax(1), t, ignore_index=1), (x,))


# ---------------------------------------------------------------------------- errors
def test_shape_and_dtype_errors_are_named():
    with pytest.raises(
        ValueError,
        match=r"mse_loss: input shape \(4, 1\) and target shape \(4,\) "
        r"differ",
    ):
        F.mse_loss(nerve.randn(4, 1), nerve.randn(4))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: for input of shape \(4, 3\) \(N, C, "
        r"...\), class-index target must have shape \(4,\), got "
        r"\(5,\)",
    ):
        F.cross_entropy(nerve.randn(4, 3), nerve.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: a floating point target holds class "
        r"probabilities and must have the input's shape",
    ):
        F.cross_entropy(nerve.randn(4, 3), nerve.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(
        IndexError,
        match=r"cross_entropy: target class indices must be in \[0, 2\] "
        r"for 3 classes .* got values from 0 to 3",
    ):
        F.cross_entropy(nerve.randn(2, 3), nerve.tensor([0, 3]))
    with pytest.raises(
        TypeError,
        match=r"nll_loss: target must be an integer tensor of class "
        r"indices, got nerve.float32",
    ):
        F.nll_loss(nerve.randn(2, 3), nerve.tensor([0.0, 1.0]))
    with pytest.raises(
        TypeError,
        match=r"mse_loss: target must be a floating point tensor, got "
        r"nerve.int64",
    ):
        F.mse_loss(nerve.randn(2), nerve.tensor([0, 1]))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy: input must be probabilities in "
        r"\[0, 1\].*use binary_cross_entropy_with_logits",
    ):
        F.binary_cross_entropy(nerve.tensor([2.0]), nerve.tensor([1.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(3,\)"):
        F.cross_entropy(nerve.randn(2, 3), nerve.tensor([0, 1]), weight=nerve.ones(4))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: target values must be 1 or -1"):
        F.cosine_embedding_loss(nerve.randn(2, 3), nerve.randn(2, 3), nerve.tensor([1, 0]))


def test_bad_constructor_arguments():
    with pytest.raises(
        ValueError,
        match=r"MSELoss: reduction must be one of 'none', 'mean', "
        r"'sum', got 'avg'",
    ):
        nn.MSELoss(reduction="avg")
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], "
        r"got 1.5",
    ):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"MultiMarginLoss: p must be 1 or 2, got 3"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"HuberLoss: delta must be positive, got 0"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match=r"kl_div: reduction must be one of"):
        F.kl_div(nerve.randn(2), nerve.rand(2), reduction="batch")


def test_loss_modules_register_weight_as_buffer_like_torch():
    w = nerve.ones(3)
    ours = nn.CrossEntropyLoss(weight=w)
    twin = torch.nn.CrossEntropyLoss(weight=torch.ones(3))
    assert list(ours.state_dict()) == list(twin.state_dict()) == ["weight"]
    assert list(ours.parameters()) == []
    assert repr(nn.MSELoss()) == repr(torch.nn.MSELoss())
