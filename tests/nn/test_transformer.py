"""Transformer encoder/decoder layers and stacks against PyTorch (weights loaded across)."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn

D, HEADS, FF, N, S, T = 8, 2, 16, 3, 5, 4


def _load(module, twin):
    state = {k: nerve.tensor(v.numpy()) for k, v in twin.state_dict().items()}
    result = module.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys


def _pair(shape, seed, dtype="float64"):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _compare_grads(module, twin, scale=10):
    t_params = dict(twin.named_parameters())
    names = [name for name, _ in module.named_parameters()]
    assert names == list(t_params)
    for name, p in module.named_parameters():
        assert_close(p.grad, t_params[name].grad, scale=scale, what=f"grad of {name}")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, train):
    kwargs = dict(
        dim_feedforward=FF,
        dropout=0.0,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    torch.manual_seed(0)
    twin = torch.nn.TransformerEncoderLayer(D, HEADS, **kwargs).double()
    module = nn.TransformerEncoderLayer(D, HEADS, dtype=nerve.float64, **kwargs)
    _load(module, twin)
    module.train(train)
    twin.train(train)
    x, tx = _pair((N, S, D) if batch_first else (S, N, D), 1)
    padding = np.zeros((N, S), dtype=bool)
    padding[0, -1] = True
    out = module(x, src_key_padding_mask=nerve.tensor(padding))
    t_out = twin(tx, src_key_padding_mask=torch.tensor(padding))
    assert_close(out, t_out, scale=10)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(x.grad, tx.grad, scale=10)
    _compare_grads(module, twin)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    kwargs = dict(dim_feedforward=FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    torch.manual_seed(0)
    twin = torch.nn.TransformerDecoderLayer(D, HEADS, **kwargs).double()
    module = nn.TransformerDecoderLayer(D, HEADS, dtype=nerve.float64, **kwargs)
    _load(module, twin)
    tgt, t_tgt = _pair((N, T, D), 1)
    mem, t_mem = _pair((N, S, D), 2)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    out = module(tgt, mem, tgt_mask=nerve.tensor(causal.numpy()), tgt_is_causal=True)
    t_out = twin(t_tgt, t_mem, tgt_mask=causal, tgt_is_causal=True)
    assert_close(out, t_out, scale=10)
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(tgt.grad, t_tgt.grad, scale=10)
    assert_close(mem.grad, t_mem.grad, scale=10)
    _compare_grads(module, twin)


def test_encoder_stack_matches_torch_float32():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, norm_first=True)
    twin = torch.nn.TransformerEncoder(
        t_layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False
    )
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, norm_first=True)
    module = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D))
    _load(module, twin)
    assert module.layers[0].linear1.weight is not module.layers[1].linear1.weight
    x, tx = _pair((S, N, D), 3, "float32")
    causal = torch.nn.Transformer.generate_square_subsequent_mask(S)
    out = module(x, mask=nerve.tensor(causal.numpy()), is_causal=True)
    t_out = twin(tx, mask=causal, is_causal=True)
    assert out.dtype == nerve.float32
    assert_close(out, t_out, scale=20)
    out.sum().backward()
    t_out.sum().backward()
    _compare_grads(module, twin, scale=50)


def test_decoder_stack_matches_torch():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0)
    twin = torch.nn.TransformerDecoder(t_layer, 2).double()
    module = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0), 2)
    module.double()
    _load(module, twin)
    tgt, t_tgt = _pair((T, N, D), 1)
    mem, t_mem = _pair((S, N, D), 2)
    assert_close(module(tgt, mem), twin(t_tgt, t_mem), scale=10)


def test_dropout_in_training_only():
    nerve.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.5, batch_first=True)
    x = nerve.randn(2, 6, 16)
    with nerve.no_grad():
        layer.eval()
        assert np.array_equal(layer(x).numpy(), layer(x).numpy())
        layer.train()
        assert not np.allclose(layer(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: nn.TransformerEncoderLayer(10, 3),
            "TransformerEncoderLayer: d_model must be "
            "divisible by nhead, got d_model=10 and nhead=3",
        ),
        (
            lambda: nn.TransformerEncoderLayer(8, 0),
            "TransformerEncoderLayer: nhead must be a positive integer, got 0",
        ),
        (
            lambda: nn.TransformerDecoderLayer(8, 2, dropout=-1),
            r"TransformerDecoderLayer: dropout "
            r"must be a number in \[0, 1\]",
        ),
        (
            lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"),
            "activation must be 'relu', 'gelu' or a callable",
        ),
        (
            lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0),
            "TransformerEncoder: num_layers must be a positive integer, got 0",
        ),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shape_names_the_layer():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    with pytest.raises(
        ValueError,
        match=r"TransformerEncoderLayer: expected src of shape "
        r"\(N, L, 8\) or \(L, 8\), got \(2, 3, 6\)",
    ):
        layer(nerve.randn(2, 3, 6))
    decoder = nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(
        ValueError,
        match=r"TransformerDecoderLayer: expected memory of shape "
        r"\(L, N, 8\) or \(L, 8\), got \(5, 2, 4\)",
    ):
        decoder(nerve.randn(3, 2, 8), nerve.randn(5, 2, 4))
