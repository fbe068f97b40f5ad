"""nn.RNN / LSTM / GRU and their cells against PyTorch: outputs, final states, every gradient."""

import numpy as np
import pytest
import torch
from torch_oracle import assert_close

import nerve
from nerve import nn

T, N, H_IN, H = 5, 3, 4, 6


def _copy_weights(module, twin):
    """Load the torch twin's parameters into the nerve module (same names, same layout)."""
    names = [name for name, _ in twin.named_parameters()]
    assert [name for name, _ in module.named_parameters()] == names
    for (_, p), (_, tp) in zip(module.named_parameters(), twin.named_parameters(), strict=True):
        p._data[...] = tp.detach().numpy()


def _make(kind, dtype, **kwargs):
    torch.manual_seed(0)
    twin = getattr(torch.nn, kind)(H_IN, H, **kwargs).to(getattr(torch, dtype))
    module = getattr(nn, kind)(H_IN, H, dtype=getattr(nerve, dtype), **kwargs)
    _copy_weights(module, twin)
    return module, twin


def _compare_grads(module, twin, scale):
    for (name, p), (_, tp) in zip(module.named_parameters(), twin.named_parameters(), strict=True):
        assert_close(p.grad, tp.grad, scale=scale, what=f"grad of {name}")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first, with_state", [(False, True), (True, False), (True, True)])
def test_matches_torch_float64(kind, num_layers, bidirectional, batch_first, with_state):
    module, twin = _make(
        kind, "float64", num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    rng = np.random.default_rng(1)
    shape = (N, T, H_IN) if batch_first else (T, N, H_IN)
    x = rng.standard_normal(shape)
    rows = num_layers * (2 if bidirectional else 1)
    states = [rng.standard_normal((rows, N, H)) for _ in range(2 if kind == "LSTM" else 1)]
    nx, tx = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    n_states = [nerve.tensor(s, requires_grad=True) for s in states]
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    if with_state:
        n_hx = tuple(n_states) if kind == "LSTM" else n_states[0]
        t_hx = tuple(t_states) if kind == "LSTM" else t_states[0]
        out, n_final = module(nx, n_hx)
        t_out, t_final = twin(tx, t_hx)
    else:
        out, n_final = module(nx)
        t_out, t_final = twin(tx)
    n_final = n_final if kind == "LSTM" else (n_final,)
    t_final = t_final if kind == "LSTM" else (t_final,)
    assert_close(out, t_out, what="output")
    for a, b in zip(n_final, t_final, strict=True):
        assert_close(a, b, what="final state")
    # A loss touching the output and every final state, with distinct weights.
    weights = [rng.standard_normal(tuple(t.shape)) for t in (t_out, *t_final)]
    loss = sum((o * nerve.tensor(w)).sum() for o, w in zip((out, *n_final), weights, strict=True))
    t_loss = sum(
        (o * torch.tensor(w)).sum() for o, w in zip((t_out, *t_final), weights, strict=True)
    )
    loss.backward()
    t_loss.backward()
    assert_close(nx.grad, tx.grad, what="input grad")
    _compare_grads(module, twin, scale=1.0)
    if with_state:
        for a, b in zip(n_states, t_states, strict=True):
            assert_close(a.grad, b.grad, what="initial state grad")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_matches_torch_float32_long_sequence(kind):
    module, twin = _make(kind, "float32", batch_first=True)
    x = np.random.default_rng(2).standard_normal((N, 24, H_IN)).astype(np.float32)
    nx, tx = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, _ = module(nx)
    t_out, _ = twin(tx)
    assert out.dtype == nerve.float32
    assert_close(out, t_out, scale=10, what="output")
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    assert_close(nx.grad, tx.grad, scale=20, what="input grad")
    _compare_grads(module, twin, scale=50)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_backward_twice_with_retain_graph(dtype):
    """On the graph's last backward the LSTM layer writes its gate gradients over the saved
    activations; under retain_graph it keeps them, so a second backward gives the same gradients."""
    module, _ = _make("LSTM", dtype, batch_first=True)
    x = nerve.tensor(np.random.default_rng(4).standard_normal((N, 9, H_IN)).astype(dtype),
                     requires_grad=True)
    out, (h_n, c_n) = module(x)
    loss = (out * out).sum() + h_n.sum() + (c_n * c_n).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in module.parameters()]
    loss.backward()
    second = [x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-6 if dtype == "float32" else 1e-12)


def test_lstm_backward_interrupted_midway_cannot_be_rerun_silently(monkeypatch):
    """The last backward overwrites the saved activations as it goes; if it stops half-way
    (an error, Ctrl-C), running it again must fail, not give wrong gradients."""
    from nerve import _kernels

    # the in-place backward is the kernels' path (plain Python loops where Numba is absent)
    monkeypatch.setattr(_kernels, "enabled", True)
    module, _ = _make("LSTM", "float32", batch_first=True)
    out, _ = module(nerve.randn(N, 6, H_IN))
    grad = nerve.ones(*out.shape)  # backward from the layer's own output: its node runs first
    calls = []
    step = _kernels.lstm_step_backward

    def fails_on_the_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return step(*args)

    monkeypatch.setattr(_kernels, "lstm_step_backward", fails_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        out.backward(grad)
    with pytest.raises(RuntimeError, match="LSTM: a backward through this graph was interrupted"):
        out.backward(grad)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_empty_batch_and_empty_sequence(kind, batch_first):
    """An empty batch gives empty outputs, as in PyTorch. An empty sequence (PyTorch raises)
    gives an empty output and the initial state as the final one, gradient flowing to h0."""
    for batch, steps in ((0, 5), (3, 0)):
        module = getattr(nn, kind)(4, 6, batch_first=batch_first)
        shape = (batch, steps, 4) if batch_first else (steps, batch, 4)
        x = nerve.zeros(*shape, requires_grad=True)
        h0 = nerve.randn(1, batch, 6, requires_grad=True)
        state = (h0, nerve.zeros(1, batch, 6)) if kind == "LSTM" else h0
        out, final = module(x, state)
        h_n = final[0] if kind == "LSTM" else final
        assert tuple(out.shape) == shape[:2] + (6,)
        (out.sum() + h_n.sum()).backward()
        assert tuple(x.grad.shape) == shape
        if steps == 0:
            np.testing.assert_array_equal(h_n.detach().numpy(), h0.detach().numpy())
            np.testing.assert_array_equal(h0.grad.numpy(), np.ones((1, batch, 6)))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_nonlinearity(nonlinearity):
    module, twin = _make("RNN", "float64", nonlinearity=nonlinearity, bias=False)
    x = np.random.default_rng(3).standard_normal((T, N, H_IN))
    out, h = module(nerve.tensor(x))
    t_out, t_h = twin(torch.tensor(x))
    assert_close(out, t_out)
    assert_close(h, t_h)
    assert "bias_ih_l0" not in dict(module.named_parameters())


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(kind, batch_first):
    module, twin = _make(kind, "float64", batch_first=batch_first, num_layers=2)
    x = np.random.default_rng(4).standard_normal((T, H_IN))
    out, final = module(nerve.tensor(x))
    t_out, t_final = twin(torch.tensor(x))
    assert_close(out, t_out)
    final = final[0] if kind == "LSTM" else final
    t_final = t_final[0] if kind == "LSTM" else t_final
    assert_close(final, t_final)


def test_state_dict_loads_from_torch_names():
    twin = torch.nn.LSTM(H_IN, H, num_layers=2, bidirectional=True)
    module = nn.LSTM(H_IN, H, num_layers=2, bidirectional=True)
    state = {k: nerve.tensor(v.numpy()) for k, v in twin.state_dict().items()}
    module.load_state_dict(state)
    x = np.random.default_rng(5).standard_normal((T, N, H_IN)).astype(np.float32)
    assert_close(module(nerve.tensor(x))[0], twin(torch.tensor(x))[0], scale=10)


def test_default_init_bounds():
    nerve.manual_seed(0)
    module = nn.GRU(H_IN, 100, num_layers=2)
    bound = 1 / np.sqrt(100)
    for name, p in module.named_parameters():
        values = p.detach().numpy()
        assert np.all(np.abs(values) <= bound), name
        assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.1), name


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cells_match_torch(kind, dtype):
    module, twin = _make(kind, dtype)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, H_IN)).astype(dtype)
    states = [rng.standard_normal((N, H)).astype(dtype) for _ in range(2)]
    nx, tx = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    n_states = [nerve.tensor(s, requires_grad=True) for s in states]
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    if kind == "LSTMCell":
        out, t_out = module(nx, tuple(n_states)), twin(tx, tuple(t_states))
    else:
        out, t_out = (module(nx, n_states[0]),), (twin(tx, t_states[0]),)
    weights = [rng.standard_normal((N, H)) for _ in out]
    loss = sum((o * nerve.tensor(w.astype(dtype))).sum() for o, w in zip(out, weights, strict=True))
    t_loss = sum(
        (o * torch.tensor(w.astype(dtype))).sum() for o, w in zip(t_out, weights, strict=True)
    )
    for a, b in zip(out, t_out, strict=True):
        assert_close(a, b, scale=2)
    loss.backward()
    t_loss.backward()
    assert_close(nx.grad, tx.grad, scale=2)
    for a, b in zip(n_states[: len(out)], t_states[: len(out)], strict=True):
        assert_close(a.grad, b.grad, scale=2)
    _compare_grads(module, twin, scale=2)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_without_state_and_unbatched(kind):
    module, twin = _make(kind, "float64")
    x = np.random.default_rng(7).standard_normal(H_IN)
    out, t_out = module(nerve.tensor(x)), twin(torch.tensor(x))
    out = out[0] if kind == "LSTMCell" else out
    t_out = t_out[0] if kind == "LSTMCell" else t_out
    assert tuple(out.shape) == (H,)
    assert_close(out, t_out)


def test_cell_sequence_equals_layer():
    """An LSTMCell stepped by hand gives the LSTM layer's output (same weights)."""
    layer = nn.LSTM(H_IN, H, dtype=nerve.float64)
    cell = nn.LSTMCell(H_IN, H, dtype=nerve.float64)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name)._data[...] = getattr(layer, name + "_l0")._data
    x = nerve.tensor(np.random.default_rng(8).standard_normal((T, N, H_IN)))
    out, (h_n, c_n) = layer(x)
    h = c = None
    for t in range(T):
        h, c = cell(x[t], None if h is None else (h, c))
        assert_close(h, out[t])
    assert_close(c, c_n[0])


def test_dropout_between_layers():
    nerve.manual_seed(0)
    module = nn.LSTM(H_IN, 50, num_layers=2, dropout=0.5)
    x = nerve.randn(T, N, H_IN)
    module.requires_grad_(False)
    module.eval()
    a, b = module(x)[0], module(x)[0]
    assert np.array_equal(a.numpy(), b.numpy())
    module.train()
    c, d = module(x)[0], module(x)[0]
    assert not np.allclose(c.numpy(), d.numpy())
    # Dropout p = 1 zeroes the second layer's input: its output depends on the biases only.
    module.dropout = 1.0
    e = module(x)[0].numpy()
    f = module(nerve.randn(T, N, H_IN))[0].numpy()
    np.testing.assert_allclose(e, f, rtol=1e-6, atol=1e-7)


def test_dropout_rate_statistics():
    """With p = 0.3 about 30% of the first layer's outputs reach layer 2 as zeros."""
    nerve.manual_seed(1)
    module = nn.RNN(H_IN, 200, num_layers=2, dropout=0.3)
    seen = []
    original = module._layer

    def spy(x, *args):
        seen.append(x)
        return original(x, *args)

    module._layer = spy
    with nerve.no_grad():
        module(nerve.randn(1, 400, H_IN))
    assert np.mean(seen[0].numpy() == 0) < 0.001
    assert np.mean(seen[1].numpy() == 0) == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.LSTM(4, 0), r"LSTM: hidden_size must be a positive integer, got 0"),
        (lambda: nn.GRU(4, -3), r"GRU: hidden_size must be a positive integer, got -3"),
        (lambda: nn.RNN(4, 5, num_layers=0), r"RNN: num_layers must be a positive integer, got 0"),
        (
            lambda: nn.LSTM(4, 5, dropout=1.5),
            r"LSTM: dropout must be a number in \[0, 1\], got 1.5",
        ),
        (lambda: nn.GRU(4, 5, dropout=-0.1), r"GRU: dropout must be a number in \[0, 1\]"),
        (
            lambda: nn.RNN(4, 5, nonlinearity="sigmoid"),
            r"RNN: nonlinearity must be 'tanh' or 'relu'",
        ),
        (lambda: nn.LSTMCell(4, 0), r"LSTMCell: hidden_size must be a positive integer, got 0"),
        (lambda: nn.LSTM(0, 5), r"LSTM: input_size must be a positive integer, got 0"),
    ],
)
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_forward_shapes():
    lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True)
    with pytest.raises(
        ValueError,
        match=r"LSTM: expected input of shape \(N, L, H_in\) .*H_in = 4, "
        r"got \(2, 3, 7\)",
    ):
        lstm(nerve.randn(2, 3, 7))
    with pytest.raises(
        ValueError, match=r"LSTM: expected h0 of shape \(2, 2, 5\), got \(1, 2, 5\)"
    ):
        lstm(nerve.randn(2, 3, 4), (nerve.randn(1, 2, 5), nerve.randn(2, 2, 5)))
    with pytest.raises(
        ValueError,
        match=r"GRUCell: expected input of shape \(N, 4\) or \(4,\), "
        r"got \(2, 3\)",
    ):
        nn.GRUCell(4, 5)(nerve.randn(2, 3))
    with pytest.raises(ValueError, match=r"RNNCell: expected hx of shape \(2, 5\), got \(2, 6\)"):
        nn.RNNCell(4, 5)(nerve.randn(2, 4), nerve.randn(2, 6))


def test_second_derivative_raises_naming_the_op():
    lstm = nn.LSTM(2, 3, dtype=nerve.float64)
    x = nerve.randn(4, 1, 2, dtype=nerve.float64, requires_grad=True)
    (grad,) = nerve.autograd.grad(lstm(x)[0].sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="LSTMLayer"):
        grad.sum().backward()
