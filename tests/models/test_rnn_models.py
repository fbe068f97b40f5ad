"""Recurrent models (nerve/models/rnn.py): sequence classifiers and the character LSTM."""

import json
import os
import time

import numpy as np
import pytest
from zoo_oracle import blas_threads

import nerve
from nerve import nn, optim
from nerve.models import build
from nerve.models.rnn import CharLSTM, CharLSTMConfig, RNNClassifier, RNNClassifierConfig

SLOW = bool(os.environ.get("NERVE_SLOW"))


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _recurrent_params(gates, inp, hidden, directions=1):
    return directions * gates * hidden * (inp + hidden + 2)


@pytest.mark.parametrize(
    "name, gates, hidden, bidirectional, pool",
    [
        ("rnn", 1, 64, False, "mean"),
        ("lstm", 4, 64, False, "mean"),
        ("gru", 3, 24, True, "flatten"),
    ],
)
def test_registered_builders_shapes_and_parameter_counts(name, gates, hidden, bidirectional, pool):
    nerve.manual_seed(0)
    model = build(name, (1, 40), 10)  # MNIST-1D: (N, 1, 40) read as 40 steps of 1 feature
    d = 2 if bidirectional else 1
    head_in = d * hidden * (40 if pool == "flatten" else 1)
    assert _count(model) == _recurrent_params(gates, 1, hidden, d) + head_in * 10 + 10
    assert model(nerve.randn(5, 1, 40)).shape == (5, 10)
    # plain vectors (L,) are read as L steps of one feature too
    assert build(name, (40,), 3)(nerve.randn(2, 40)).shape == (2, 3)


def test_channels_first_equals_batch_first_input():
    nerve.manual_seed(0)
    cfg = RNNClassifierConfig("lstm", input_size=3, hidden_size=8, num_classes=4)
    model = RNNClassifier(cfg)
    x = nerve.randn(2, 7, 3)  # (N, L, F)
    cf = RNNClassifier(RNNClassifierConfig("lstm", 3, 8, 4, channels_first=True))
    cf.load_state_dict(model.state_dict())
    np.testing.assert_allclose(
        cf(x.transpose(1, 2)).detach().numpy(), model(x).detach().numpy(), rtol=1e-6
    )


def test_bidirectional_last_takes_each_direction_at_its_end():
    nerve.manual_seed(0)
    model = RNNClassifier(RNNClassifierConfig("gru", 2, 5, 3, bidirectional=True, pool="last"))
    x = nerve.randn(4, 6, 2)
    out, h_n = model.rnn(x)  # h_n: (2, N, H): forward final, backward final
    expected = model.head(nerve.cat([h_n[0], h_n[1]], dim=-1))
    np.testing.assert_allclose(
        model(x).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_bad_configurations_and_inputs_raise():
    with pytest.raises(ValueError, match="cell must be one of"):
        RNNClassifier(RNNClassifierConfig("transformer"))
    with pytest.raises(ValueError, match="pool must be one of"):
        RNNClassifier(RNNClassifierConfig(pool="max"))
    with pytest.raises(ValueError, match="needs seq_len"):
        RNNClassifier(RNNClassifierConfig(pool="flatten"))
    with pytest.raises(ValueError, match=r"expected input \(N, L, F\)"):
        RNNClassifier(RNNClassifierConfig())(nerve.randn(3, 4))
    with pytest.raises(ValueError, match="sequence models expect inputs"):
        build("gru", (1, 8, 8), 10)


def _mnist1d():
    from nerve.datasets import load_mnist1d

    train, test = load_mnist1d()
    return (
        train.tensors[0].unsqueeze(1),
        train.tensors[1],
        test.tensors[0].unsqueeze(1),
        test.tensors[1],
    )


def _fit(model, x, y, epochs, lr, batch_size=100, seed=1):
    """Adam with the one-cycle schedule (Smith & Topin, 2018): the lr rises to ``lr`` over the
    first 30% of the steps, then anneals by a cosine; the loss of every step is returned."""
    from nerve.data import DataLoader, TensorDataset
    from nerve.optim.lr_scheduler import OneCycleLR

    opt = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=True,
        generator=nerve.Generator().manual_seed(seed),
    )
    schedule = OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(loader))
    losses = []
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            losses.append(loss.item())
    model.eval()
    return losses


def _accuracy(model, x, y):
    with nerve.no_grad():
        return (model(x).argmax(-1) == y).float().mean().item()


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_short_run_loss_falls(name):
    nerve.manual_seed(0)
    x, y, _, _ = _mnist1d()
    model = build(name, (1, 40), 10)
    x, y = x[:512], y[:512]
    with nerve.no_grad():
        before = nn.functional.cross_entropy(model(x), y).item()
    _fit(model, x, y, epochs=3, lr=1e-2)
    with nerve.no_grad():
        after = nn.functional.cross_entropy(model(x), y).item()
    assert after < before - 0.15


@pytest.mark.slow
def test_gru_reaches_the_papers_accuracy_on_mnist1d():
    """The MNIST-1D paper's GRU figure is 91% test accuracy (Greydanus, 2020).

    The paper's model (a bidirectional GRU, every step's output into the classifier), trained
    with Adam on batches of 100 and the one-cycle schedule peaking at lr 3e-2.
    NERVE_SLOW=1: 10 epochs, >= 91% (measured 95.4% with seed 0; seeds 1, 2: 94.7%, 93.4%).
    Default (CI): 6 epochs, >= 75% (measured 88.6%; seeds 1, 2: 88.8%, 82.3%): the margin
    covers BLAS rounding, which differs between machines. Chance is 10%.
    """
    epochs, bar = (10, 0.91) if SLOW else (6, 0.75)
    nerve.manual_seed(0)
    x, y, xt, yt = _mnist1d()
    model = build("gru", (1, 40), 10)
    start = time.perf_counter()
    with blas_threads(1):
        _fit(model, x, y, epochs=epochs, lr=3e-2)
    acc = _accuracy(model, xt, yt)
    print(f"GRU MNIST-1D: {acc:.4f} after {epochs} epochs, {time.perf_counter() - start:.0f} s")
    assert acc >= bar


def test_nerve_train_cli_trains_a_gru_on_mnist1d(tmp_path):
    from nerve.cli import main

    code = main(
        [
            "train",
            "--model",
            "gru",
            "--data",
            "mnist1d",
            "--epochs",
            "1",
            "--quiet",
            "--model-options",
            '{"hidden_size": 8}',
            "--run-dir",
            str(tmp_path / "run"),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["parameters"] == _recurrent_params(3, 1, 8, 2) + 2 * 8 * 40 * 10 + 10
    assert metrics["test"]["accuracy"] > 0.15  # one epoch: well above chance (0.10)


# ---------------------------------------------------------------------------- CharLSTM
def test_char_lstm_shapes_parameters_and_state():
    nerve.manual_seed(0)
    cfg = CharLSTMConfig(vocab_size=96, embed_dim=16, hidden_size=32, num_layers=2)
    model = CharLSTM(cfg)
    expected = 96 * 16 + _recurrent_params(4, 16, 32) + _recurrent_params(4, 32, 32) + 32 * 96 + 96
    assert _count(model) == expected
    idx = nerve.randint(0, 96, (3, 10))
    logits, loss, (h, c) = model(idx, idx)
    assert logits.shape == (3, 10, 96) and h.shape == (2, 3, 32) and c.shape == (2, 3, 32)
    assert loss.item() == pytest.approx(np.log(96), rel=0.05)  # untrained: near uniform
    # running in two halves with the carried state equals one pass
    first, _, state = model(idx[:, :4])
    second, _, _ = model(idx[:, 4:], state=state)
    np.testing.assert_allclose(
        second.detach().numpy(), logits[:, 4:].detach().numpy(), rtol=1e-4, atol=1e-5
    )


def test_char_lstm_sample():
    nerve.manual_seed(0)
    model = CharLSTM(CharLSTMConfig(vocab_size=20, embed_dim=8, hidden_size=16))
    prompt = nerve.randint(0, 20, (2, 3))
    out = model.sample(
        prompt, 12, temperature=0.8, top_k=5, generator=nerve.Generator().manual_seed(1)
    )
    assert out.shape == (2, 15)
    np.testing.assert_array_equal(out[:, :3].detach().numpy(), prompt.detach().numpy())
    again = model.sample(
        prompt, 12, temperature=0.8, top_k=5, generator=nerve.Generator().manual_seed(1)
    )
    np.testing.assert_array_equal(out.detach().numpy(), again.detach().numpy())
    # greedy sampling follows the argmax of a full forward pass at every step
    greedy = model.sample(prompt[:1], 5, temperature=0)
    logits, _, _ = model(greedy[:, :-1])
    np.testing.assert_array_equal(
        logits.argmax(-1).detach().numpy()[0, 2:], greedy.detach().numpy()[0, 3:]
    )
    with pytest.raises(ValueError, match="temperature"):
        model.sample(prompt, 2, temperature=-0.5)


def test_char_lstm_short_run_loss_falls():
    from nerve.models.text import load_text, train_lm

    nerve.manual_seed(0)
    data = load_text()
    model = CharLSTM(CharLSTMConfig(96, embed_dim=16, hidden_size=64))
    first = train_lm(
        model, data, block_size=32, batch_size=16, lr=1e-2, max_steps=1, eval_windows=128
    )
    result = train_lm(
        model, data, block_size=32, batch_size=16, lr=1e-2, max_steps=40, warmup=5, eval_windows=128
    )
    assert result["val_loss"] < first["val_loss"] - 0.8  # from ~4.5 nats/char to below ~3.7
