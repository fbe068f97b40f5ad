"""nn.Module and the containers: registration, state_dict round trips with PyTorch, load errors,
hooks, train/eval, to(dtype), repr, apply, zero_grad."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn


def _pair():
    ours = nn.Sequential(
        nn.Linear(3, 4),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Sequential(nn.Linear(4, 4), nn.Tanh()),
        nn.Linear(4, 2),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.BatchNorm1d(4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh()),
        torch.nn.Linear(4, 2),
    )
    return ours, theirs


def _torch_state_as_numpy(twin):
    return OrderedDict((k, v.detach().numpy().copy()) for k, v in twin.state_dict().items())


def test_state_dict_keys_repr_and_parameter_names_match_torch():
    ours, theirs = _pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert repr(ours) == repr(theirs)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


def test_load_torch_state_dict_gives_torch_outputs_in_train_and_eval():
    ours, theirs = _pair()
    ours.load_state_dict(_torch_state_as_numpy(theirs))
    x_np = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    ours[3].p = theirs[3].p = 0.0  # dropout masks cannot match; switch it off for this test
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x, tx = nerve.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        assert_close(y, ty, scale=10, what=mode)
        y.sum().backward()
        ty.sum().backward()
        assert_close(x.grad, tx.grad, scale=10)
        for (name, p), (_, tp) in zip(
            ours.named_parameters(), theirs.named_parameters(), strict=True
        ):
            assert_close(p.grad, tp.grad, scale=10, what=f"{mode} grad of {name}")
        ours.zero_grad()
        theirs.zero_grad()
    assert_close(ours[1].running_mean, theirs[1].running_mean, scale=10)


def test_state_dict_round_trip_between_nerve_models():
    a, _ = _pair()
    b, _ = _pair()
    b.load_state_dict(a.state_dict())
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    # the loaded values are copies: changing a does not change b
    a[0].weight._data[...] = 0
    assert b[0].weight.detach().numpy().any()


def test_load_state_dict_errors_name_missing_unexpected_and_mismatched_keys():
    ours, _ = _pair()
    state = ours.state_dict()
    del state["0.bias"]
    state["9.weight"] = nerve.zeros(2)
    with pytest.raises(RuntimeError, match=r"missing keys: '0.bias'") as err:
        ours.load_state_dict(state)
    assert "unexpected keys: '9.weight'" in str(err.value)
    state = ours.state_dict()
    state["5.weight"] = nerve.zeros(3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for '5.weight': the checkpoint has "
        r"shape \(3, 4\), the model has shape \(2, 4\)",
    ):
        ours.load_state_dict(state)
    state = ours.state_dict()
    del state["0.bias"]
    state["extra"] = nerve.zeros(1)
    result = ours.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]


def test_hooks_replace_inputs_and_outputs_and_can_be_removed():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    y = layer(nerve.ones(3, 2))
    np.testing.assert_allclose(
        y.detach().numpy(), (layer.bias.detach().numpy() + 1)[None].repeat(3, 0)
    )
    assert calls == [(3, 2)]
    pre.remove()
    post.remove()
    y = layer(nerve.ones(3, 2))
    assert calls == [(3, 2)]
    expected = nerve.ones(3, 2) @ layer.weight.detach().T + layer.bias.detach()
    np.testing.assert_allclose(y.detach().numpy(), expected.numpy(), rtol=1e-6)


def test_call_passes_any_arguments_to_forward_with_or_without_hooks():
    class Probe(nn.Module):
        def forward(self, *args, **kwargs):
            return args, kwargs

    probe = Probe()
    assert probe() == ((), {})
    assert probe(1) == ((1,), {})
    assert probe(1, 2, k=3) == ((1, 2), {"k": 3})
    assert probe(x=1) == ((), {"x": 1})  # a keyword named like the first positional
    seen = []
    probe.register_forward_pre_hook(lambda m, args: seen.append(args))
    assert probe(1, k=3) == ((1,), {"k": 3})
    assert probe() == ((), {})
    assert seen == [(1,), ()]


def test_parameters_buffers_and_children_are_plain_attributes():
    layer = nn.BatchNorm1d(3)
    assert "weight" in vars(layer) and "running_mean" in vars(layer)
    layer.weight = nn.Parameter(nerve.ones(3))
    assert layer.weight is layer._parameters["weight"]
    del layer.weight
    assert "weight" not in vars(layer) and "weight" not in layer._parameters
    with pytest.raises(AttributeError, match="weight"):
        _ = layer.weight
    seq = nn.Sequential(nn.Linear(1, 1))
    assert getattr(seq, "0") is seq[0]


def test_train_and_eval_reach_every_submodule():
    ours, _ = _pair()
    ours.eval()
    assert all(not m.training for m in ours.modules())
    x = nerve.randn(8, 3)
    np.testing.assert_array_equal(ours(x).detach().numpy(), ours(x).detach().numpy())  # no dropout
    ours.train()
    assert all(m.training for m in ours.modules())
    with pytest.raises(ValueError, match=r"train: mode must be a bool"):
        ours.train("yes")


def test_to_dtype_converts_floating_parameters_and_buffers_only():
    ours, _ = _pair()
    ours.to(nerve.float64)
    assert all(p.dtype == nerve.float64 for p in ours.parameters())
    assert ours[1].running_var.dtype == nerve.float64
    assert ours[1].num_batches_tracked.dtype == nerve.int64
    assert all(p.requires_grad for p in ours.parameters())
    y = ours(nerve.randn(4, 3, dtype=nerve.float64))
    assert y.dtype == nerve.float64
    ours.float()
    assert ours[0].weight.dtype == nerve.float32


def test_apply_and_zero_grad():
    ours, _ = _pair()
    seen = []

    def init_linear(m):
        seen.append(type(m).__name__)
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    assert ours.apply(init_linear) is ours
    assert seen.count("Linear") == 3 and seen[-1] == "Sequential"
    assert (ours[5].weight.detach().numpy() == 0.5).all()
    ours(nerve.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in ours.parameters())
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ours.parameters())
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_containers_register_their_children():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks, self.heads = blocks, heads

        def forward(self, x):
            for block in self.blocks:
                x = nn.functional.relu(block(x))
            return {k: head(x) for k, head in self.heads.items()}

    net = Net()
    assert len(list(net.parameters())) == 3 * 2 + 2 * 2
    assert "blocks.2.weight" in net.state_dict() and "heads.b.bias" in net.state_dict()
    out = net(nerve.randn(5, 2))
    assert out["b"].shape == (5, 3)


def test_residual_block_adds_the_identity():
    block = nn.Residual(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)))
    nn.init.zeros_(block.fn[2].weight)
    nn.init.zeros_(block.fn[2].bias)
    x = nerve.randn(3, 4, requires_grad=True)
    y = block(x)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())  # f(x) = 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 4)))  # dy/dx = I + 0


def test_assigning_a_module_before_init_is_an_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(
        AttributeError,
        match=r"cannot assign Linear 'layer' before "
        r"Module.__init__\(\) is called",
    ):
        Broken()
