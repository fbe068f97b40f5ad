"""BatchNorm / LayerNorm / GroupNorm / RMSNorm against PyTorch (outputs, running statistics and
every gradient, train and eval), finite differences, second derivatives, and error messages."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
import nerve.nn.functional as F
from nerve import autograd, nn
from nerve.autograd import gradcheck


def _copy(module, twin):
    for (name, p), (tname, tp) in zip(
        module.named_parameters(), twin.named_parameters(), strict=True
    ):
        assert name == tname
        p._data[...] = tp.detach().numpy()


def _run_both(module, twin, x_np, seed_grad=True):
    """Forward both on the same input and backward a fixed random upstream gradient."""
    x = nerve.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = module(x), twin(tx)
    g = np.random.default_rng(1).standard_normal(ty.shape).astype(x_np.dtype)
    y.backward(nerve.tensor(g))
    ty.backward(torch.tensor(g))
    return x, tx, y, ty


def _check_grads(module, twin, x, tx, scale=1.0):
    assert_close(x.grad, tx.grad, scale=scale, what="input grad")
    for (name, p), (_, tp) in zip(module.named_parameters(), twin.named_parameters(), strict=True):
        assert_close(p.grad, tp.grad, scale=scale, what=f"grad of {name}")


# ---------------------------------------------------------------------------- batch norm
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "kind, shape",
    [
        ("BatchNorm1d", (8, 3)),
        ("BatchNorm1d", (4, 3, 5)),
        ("BatchNorm2d", (4, 3, 5, 6)),
        ("BatchNorm3d", (2, 3, 2, 3, 4)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_then_eval_matches_torch(dtype, kind, shape, momentum):
    rng = np.random.default_rng(0)
    twin = getattr(torch.nn, kind)(3, momentum=momentum).to(getattr(torch, dtype))
    module = getattr(nn, kind)(3, momentum=momentum, dtype=getattr(nerve, dtype))
    with torch.no_grad():
        twin.weight.uniform_(0.5, 1.5)
        twin.bias.uniform_(-0.5, 0.5)
    _copy(module, twin)
    scale = 10 if dtype == "float32" else 1
    for step in range(3):  # several steps: the running statistics accumulate
        x_np = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
        x, tx, y, ty = _run_both(module, twin, x_np)
        assert_close(y, ty, scale=scale, what=f"train output, step {step}")
        _check_grads(module, twin, x, tx, scale=scale)
        module.zero_grad()
        twin.zero_grad()
        assert_close(module.running_mean, twin.running_mean, scale=scale)
        assert_close(module.running_var, twin.running_var, scale=scale)
        assert module.num_batches_tracked.item() == twin.num_batches_tracked.item() == step + 1
    module.eval()
    twin.eval()
    x_np = rng.standard_normal(shape).astype(dtype)
    x, tx, y, ty = _run_both(module, twin, x_np)
    assert_close(y, ty, scale=scale, what="eval output")
    _check_grads(module, twin, x, tx, scale=scale)
    assert module.num_batches_tracked.item() == 3  # eval does not count batches


@pytest.mark.parametrize("affine, track", [(False, True), (True, False), (False, False)])
def test_batchnorm_options_match_torch(affine, track):
    rng = np.random.default_rng(2)
    twin = torch.nn.BatchNorm2d(4, affine=affine, track_running_stats=track).double()
    module = nn.BatchNorm2d(4, affine=affine, track_running_stats=track, dtype=nerve.float64)
    for mode in ("train", "eval"):
        getattr(module, mode)()
        getattr(twin, mode)()
        x, tx, y, ty = _run_both(module, twin, rng.standard_normal((3, 4, 2, 2)))
        assert_close(y, ty, what=mode)
        _check_grads(module, twin, x, tx)
    assert len(list(module.parameters())) == (2 if affine else 0)
    assert sorted(module.state_dict()) == sorted(twin.state_dict())


def test_batchnorm_state_dict_keys_and_repr_match_torch():
    twin, module = torch.nn.BatchNorm2d(5), nn.BatchNorm2d(5)
    assert list(module.state_dict()) == list(twin.state_dict())
    assert repr(module) == repr(twin)
    assert module.num_batches_tracked.dtype == nerve.int64


def test_batch_norm_running_var_uses_unbiased_variance():
    x = nerve.tensor([[1.0], [3.0]])  # batch variance 1 (biased), 2 (unbiased)
    bn = nn.BatchNorm1d(1, momentum=1.0)
    bn(x)
    assert bn.running_mean.item() == pytest.approx(2.0)
    assert bn.running_var.item() == pytest.approx(2.0)


# ---------------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("normalized, shape", [(6, (4, 6)), ((3, 4), (2, 5, 3, 4)), (5, (5,))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_layernorm_matches_torch(dtype, normalized, shape, affine, bias):
    rng = np.random.default_rng(3)
    twin = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias).to(
        getattr(torch, dtype)
    )
    module = nn.LayerNorm(
        normalized, elementwise_affine=affine, bias=bias, dtype=getattr(nerve, dtype)
    )
    if affine:
        with torch.no_grad():
            for p in twin.parameters():
                p.uniform_(-1, 1)
        _copy(module, twin)
    scale = 10 if dtype == "float32" else 1
    x, tx, y, ty = _run_both(module, twin, (rng.standard_normal(shape) * 3 + 2).astype(dtype))
    assert_close(y, ty, scale=scale)
    _check_grads(module, twin, x, tx, scale=scale)
    assert repr(module) == repr(twin)


def test_layernorm_is_the_same_in_train_and_eval():
    ln = nn.LayerNorm(4)
    x = nerve.randn(3, 4)
    np.testing.assert_array_equal(ln(x).detach().numpy(), ln.eval()(x).detach().numpy())


# ---------------------------------------------------------------------------- group norm, rms norm
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "groups, shape", [(2, (3, 4, 5)), (1, (2, 4, 3, 3)), (4, (2, 4, 3, 3)), (2, (5, 4))]
)
def test_groupnorm_matches_torch(dtype, groups, shape):
    rng = np.random.default_rng(4)
    twin = torch.nn.GroupNorm(groups, 4).to(getattr(torch, dtype))
    module = nn.GroupNorm(groups, 4, dtype=getattr(nerve, dtype))
    with torch.no_grad():
        twin.weight.uniform_(0.5, 1.5)
        twin.bias.uniform_(-1, 1)
    _copy(module, twin)
    scale = 10 if dtype == "float32" else 1
    x, tx, y, ty = _run_both(module, twin, rng.standard_normal(shape).astype(dtype))
    assert_close(y, ty, scale=scale)
    _check_grads(module, twin, x, tx, scale=scale)
    assert repr(module) == repr(twin)


def test_rmsnorm_matches_torch():
    rng = np.random.default_rng(5)
    twin = torch.nn.RMSNorm(6, eps=1e-6).double()
    module = nn.RMSNorm(6, eps=1e-6, dtype=nerve.float64)
    with torch.no_grad():
        twin.weight.uniform_(0.5, 1.5)
    _copy(module, twin)
    x, tx, y, ty = _run_both(module, twin, rng.standard_normal((3, 6)))
    assert_close(y, ty)
    _check_grads(module, twin, x, tx)


# ---------------------------------------------------------------------------- finite differences
def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [nerve.tensor(rng.standard_normal(s) + 0.5, requires_grad=True) for s in shapes]


def test_gradcheck_layer_norm():
    x, w, b = _inputs((3, 2, 4), (2, 4), (2, 4))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), (x, w, b))


def test_gradcheck_batch_norm_training_and_eval():
    x, w, b = _inputs((4, 3, 2), (3,), (3,))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    rm = nerve.tensor([0.1, -0.2, 0.3], dtype=nerve.float64)
    rv = nerve.tensor([1.5, 0.5, 2.0], dtype=nerve.float64)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b))


def test_gradcheck_group_norm():
    x, w, b = _inputs((2, 4, 3), (4,), (4,))
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))


@pytest.mark.parametrize(
    "fn, torch_fn",
    [
        (
            lambda x, w, b: F.layer_norm(x, (4,), w, b),
            lambda x, w, b: torch.nn.functional.layer_norm(x, (4,), w, b),
        ),
        (
            lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
            lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
        ),
        (
            lambda x, w, b: F.group_norm(x, 2, w, b),
            lambda x, w, b: torch.nn.functional.group_norm(x, 2, w, b),
        ),
    ],
)
def test_second_derivatives_match_torch(fn, torch_fn):
    """create_graph=True runs the Tensor-op backward: grad of sum(dL/dx^2) w.r.t. x, w, b."""
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((3, 4)), rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)]
    ours = [nerve.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    g = rng.standard_normal((3, 4))
    loss = (fn(*ours) * nerve.tensor(g)).sum()
    (gx,) = autograd.grad(loss, [ours[0]], create_graph=True)
    (gx * gx).sum().backward()
    tloss = (torch_fn(*theirs) * torch.tensor(g)).sum()
    (tgx,) = torch.autograd.grad(tloss, [theirs[0]], create_graph=True)
    (tgx * tgx).sum().backward()
    assert_close(gx, tgx)
    for a, b in zip(ours, theirs, strict=True):
        if b.grad is None:  # the bias does not reach dL/dx
            assert a.grad is None or not a.grad.numpy().any()
        else:
            assert_close(a.grad, b.grad, scale=100)


# ---------------------------------------------------------------------------- errors
def test_constructor_errors_name_layer_argument_and_value():
    with pytest.raises(
        ValueError,
        match=r"GroupNorm: num_groups must divide num_channels, "
        r"got num_groups=3 and num_channels=4",
    ):
        nn.GroupNorm(3, 4)
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d: num_features must be a positive integer, "
        r"got -2",
    ):
        nn.BatchNorm2d(-2)
    with pytest.raises(
        ValueError,
        match=r"BatchNorm1d: momentum must be in \[0, 1\] or None, "
        r"got 2",
    ):
        nn.BatchNorm1d(3, momentum=2)
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be a positive int"):
        nn.LayerNorm(0)


def test_forward_shape_errors_name_layer_expected_and_received():
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d\(3.*\): expected input of shape "
        r"\(N, 3, H, W\), got \(2, 4, 5, 5\)",
    ):
        nn.BatchNorm2d(3)(nerve.randn(2, 4, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"BatchNorm1d\(3.*\): expected input of shape "
        r"\(N, 3\) or \(N, 3, L\), got \(2, 3, 4, 4\)",
    ):
        nn.BatchNorm1d(3)(nerve.randn(2, 3, 4, 4))
    with pytest.raises(
        ValueError,
        match=r"LayerNorm\(\(8,\).*\): expected input of shape "
        r"\(\*, 8\), got \(2, 7\)",
    ):
        nn.LayerNorm(8)(nerve.randn(2, 7))
    with pytest.raises(
        ValueError,
        match=r"GroupNorm\(2, 4.*\): expected input of shape "
        r"\(N, 4, \*\), got \(2, 6\)",
    ):
        nn.GroupNorm(2, 4)(nerve.randn(2, 6))
    with pytest.raises(
        ValueError,
        match=r"BatchNorm1d: batch_norm: expected more than 1 value "
        r"per channel when training",
    ):
        nn.BatchNorm1d(3)(nerve.randn(1, 3))


def test_no_graph_when_nothing_requires_grad():
    ln = nn.LayerNorm(4).requires_grad_(False)
    y = ln(nerve.randn(2, 4))
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda m: m.BatchNorm2d(3), (0, 3, 4, 4)),
        (lambda m: m.BatchNorm1d(3), (0, 3)),
        (lambda m: m.BatchNorm1d(3), (0, 3, 5)),
        (lambda m: m.GroupNorm(3, 3), (0, 3, 4)),
        (lambda m: m.LayerNorm(4), (0, 3, 4)),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_empty_batch_matches_torch(make, shape, dtype):
    """An empty batch gives an empty output, zero parameter gradients and, for batch norm in
    training, running statistics left as they were (PyTorch's behaviour)."""
    module, twin = make(nn), make(torch.nn)
    module.to(getattr(nerve, dtype))
    twin.to(getattr(torch, dtype))
    x, tx, y, ty = _run_both(module, twin, np.zeros(shape, dtype))
    assert tuple(y.shape) == tuple(ty.shape) == shape
    assert tuple(x.grad.shape) == shape
    _check_grads(module, twin, x, tx)
    for (name, b), (_, tb) in zip(module.named_buffers(), twin.named_buffers(), strict=False):
        if name != "num_batches_tracked":
            assert_close(b, tb, what=name)
