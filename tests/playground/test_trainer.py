"""The learning view's engine, checked against PyTorch and by hand."""

import numpy as np
import pytest
import torch

from nerve.playground.forward import ForwardNet
from nerve.playground.model import build_mlp, layer_outputs, weights
from nerve.playground.protocol import LEARN_CONFIG
from nerve.playground.trainer import Trainer, encode_heatmap, encode_probabilities


def config(**changes):
    base = {name: spec.default for name, spec in LEARN_CONFIG.items()}
    base.update(changes)
    return base


def torch_copy(trainer):
    """The trainer's network as a float64 torch Sequential with the same weights."""
    activation = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    w, b = weights(trainer.model)
    layers = []
    for k, (wk, bk) in enumerate(zip(w, b, strict=True)):
        linear = torch.nn.Linear(wk.shape[1], wk.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(wk.astype(np.float64)))
            linear.bias.copy_(torch.from_numpy(bk.astype(np.float64)))
        layers.append(linear)
        if k < len(w) - 1:
            layers.append(activation.get(trainer.config["activation"], torch.nn.Identity)())
    return torch.nn.Sequential(*layers)


def test_build_mlp_layout_and_seeded_init():
    model = build_mlp([2, 8, 8, 1], "tanh", 0.0, seed=3)
    assert sorted(model.state_dict()) == [
        "0.bias",
        "0.weight",
        "3.bias",
        "3.weight",
        "6.bias",
        "6.weight",
    ]
    again = build_mlp([2, 8, 8, 1], "tanh", 0.0, seed=3)
    other = build_mlp([2, 8, 8, 1], "tanh", 0.0, seed=4)
    w, _ = weights(model)
    assert all(np.array_equal(a, b) for a, b in zip(w, weights(again)[0], strict=True))
    assert not np.array_equal(w[0], weights(other)[0][0])
    assert [m.shape for m in w] == [(8, 2), (8, 8), (1, 8)]


def test_layer_outputs_match_a_hand_forward_pass():
    model = build_mlp([3, 4, 2], "sigmoid", 0.5, seed=0)  # dropout is off in layer_outputs
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    (z1, a1), (z2, a2) = layer_outputs(model, x)
    (w1, w2), (b1, b2) = weights(model)
    np.testing.assert_allclose(z1, x @ w1.T + b1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a1, 1 / (1 + np.exp(-z1)), rtol=1e-5)
    np.testing.assert_allclose(z2, a1 @ w2.T + b2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a2, z2)
    assert model.training  # restored


def test_forward_net_sample():
    net = ForwardNet([5, 7, 6, 2], seed=0)
    sample = net.sample(0.65)
    assert len(sample["input"]) == 5 and [len(a) for a in sample["a"]] == [7, 6, 2]
    z = np.array(sample["logits"]) / 0.65
    np.testing.assert_allclose(sample["probs"], np.exp(z) / np.exp(z).sum(), rtol=1e-5)
    assert net.sample(2.0, new=False)["input"] == sample["input"]


@pytest.mark.parametrize(
    "changes",
    [
        dict(dataset="xor", loss="cross_entropy", optimizer="sgd"),
        dict(dataset="xor", loss="mse", optimizer="momentum", regularization="l2", reg_rate=0.01),
        dict(
            dataset="spiral",
            classes=3,
            loss="cross_entropy",
            optimizer="adam",
            regularization="l1",
            reg_rate=0.003,
        ),
        dict(dataset="spiral", classes=3, loss="mse", activation="relu", optimizer="sgd"),
        dict(dataset="plane", activation="sigmoid", optimizer="adam"),
    ],
)
def test_updates_match_pytorch(changes):
    """Three updates of the trainer, and the same three in PyTorch (float64): same weights."""
    trainer = Trainer(config(layers=[5, 4], lr=0.1, batch_size=16, **changes))
    reference = torch_copy(trainer)
    params = list(reference.parameters())
    kind = trainer.config["optimizer"]
    if kind == "adam":
        optimizer = torch.optim.Adam(params, lr=0.1)
    else:
        optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9 if kind == "momentum" else 0.0)
    for _ in range(3):
        batch = trainer.order[trainer.cursor : trainer.cursor + 16]
        x = torch.from_numpy(trainer.x_train[batch].astype(np.float64))
        y = trainer.y_train[batch]
        out = reference(x)
        if trainer.problem == "regression":
            loss = ((out[:, 0] - torch.from_numpy(y.astype(np.float64))) ** 2).mean()
        elif trainer.num_classes > 2:
            target = torch.from_numpy(y)
            if trainer.loss_name == "cross_entropy":
                loss = torch.nn.functional.cross_entropy(out, target)
            else:
                onehot = torch.nn.functional.one_hot(target, trainer.num_classes).double()
                loss = ((out.softmax(1) - onehot) ** 2).sum(1).mean()
        else:
            target = torch.from_numpy(y.astype(np.float64))
            if trainer.loss_name == "cross_entropy":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], target)
            else:
                loss = ((out[:, 0].sigmoid() - target) ** 2).mean()
        rate = trainer.config["reg_rate"]
        for layer in reference:
            if isinstance(layer, torch.nn.Linear) and trainer.config["regularization"] == "l1":
                loss = loss + rate * layer.weight.abs().sum()
            elif isinstance(layer, torch.nn.Linear) and trainer.config["regularization"] == "l2":
                loss = loss + rate / 2 * (layer.weight**2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        trainer.update()
        assert trainer.last_loss == pytest.approx(loss.item(), rel=1e-4)
    ours, _ = weights(trainer.model)
    theirs = [m.weight.detach().numpy() for m in reference if isinstance(m, torch.nn.Linear)]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_epochs_and_measuring():
    trainer = Trainer(config(dataset="circle", n_points=100, batch_size=7))
    assert trainer.updates_per_epoch() == 8  # ceil(50 / 7)
    assert trainer.train_updates(60.0, until_epoch=1) == 8
    assert trainer.epoch == 1 and trainer.cursor == 0
    trainer.measure()
    assert trainer.history["epoch"] == [0.0, 1.0]
    assert trainer.train_updates(60.0, max_updates=3) == 3 and trainer.epoch == 1


def test_reset_repeats_the_run():
    trainer = Trainer(config(dataset="circle", n_points=100, dropout=0.2, optimizer="adam"))
    trainer.train_updates(60.0, max_updates=12)
    first = weights(trainer.model)[0]
    trainer.reset()
    assert trainer.epoch == 0 and trainer.updates == 0
    trainer.train_updates(60.0, max_updates=12)
    for a, b in zip(first, weights(trainer.model)[0], strict=True):
        np.testing.assert_array_equal(a, b)


def test_xor_is_learned():
    trainer = Trainer(config(dataset="xor", layers=[8, 8], optimizer="adam", lr=0.03))
    trainer.train_updates(60.0, until_epoch=30)
    metrics = trainer.evaluate()
    assert metrics["test_accuracy"] > 0.95 and metrics["test_loss"] < 0.15, metrics


def test_divergence_is_caught_and_reset_clears_it():
    trainer = Trainer(
        config(
            dataset="plane",
            layers=[8, 8],
            activation="linear",
            lr=10.0,
            features=["x1", "x2", "x1^2", "x2^2", "x1*x2"],
            optimizer="momentum",
        )
    )
    trainer.train_updates(10.0, max_updates=200)
    assert trainer.diverged
    frame = trainer.frame()
    assert frame["diverged"] is True
    trainer.reset()
    assert not trainer.diverged and np.isfinite(trainer.metrics["test_loss"])


def test_heatmap_encodings():
    import base64

    data = encode_heatmap(np.array([[-2.0, 0.0], [1.0, 2.0]]))
    assert data["peak"] == 2.0
    assert list(base64.b64decode(data["data"])) == [0, 128, 191, 255]
    probs = encode_probabilities(np.array([[0.0], [0.5], [1.0]]), "classification")
    assert list(base64.b64decode(probs)) == [0, 128, 255]
    values = encode_probabilities(np.array([[-1.0], [0.0], [1.0]]), "regression")
    assert list(base64.b64decode(values)) == [0, 128, 255]
