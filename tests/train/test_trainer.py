"""Trainer: fit/evaluate/predict, history, callbacks, checkpoints."""

import math

import numpy as np
import pytest

import nerve
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.train import (
    CSVLogger,
    EarlyStopping,
    GradientMonitor,
    ModelCheckpoint,
    NonFiniteLossError,
    TerminateOnNaN,
    Trainer,
)


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = centers[y] + 0.6 * rng.standard_normal((n, 2))
    return nerve.tensor(x.astype(np.float32)), nerve.tensor(y)


def make(seed=0, lr=0.05, **kwargs):
    nerve.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=lr)
    return Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"], verbose=False, **kwargs)


def loaders(seed=0):
    x, y = blobs(seed=seed)
    gen = nerve.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x[:240], y[:240]), batch_size=16, shuffle=True, generator=gen)
    return train, (x[240:], y[240:])


def test_fit_learns_and_records_history():
    trainer = make()
    train, val = loaders()
    history = trainer.fit(train, val_data=val, epochs=8)
    assert history["epoch"] == list(range(1, 9))
    assert history["loss"][-1] < history["loss"][0] * 0.5
    assert history["val_accuracy"][-1] > 0.9
    result = trainer.evaluate(val)
    assert set(result) == {"loss", "accuracy"} and result["accuracy"] > 0.9
    assert trainer.predict(val[0]).shape == (60, 3)


def test_plain_pytorch_loop_works_unchanged():
    x, y = blobs()
    nerve.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    for _ in range(5):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with nerve.no_grad():
        assert (model(x).argmax(1) == y).float().mean().item() > 0.9


def test_early_stopping_restores_best_weights():
    trainer = make(lr=0.05)
    stop = EarlyStopping("val_loss", patience=1, restore_best_weights=True)
    trainer.callbacks.append(stop)
    stop.set_trainer(trainer)
    train, val = loaders()
    history = trainer.fit(train, val_data=val, epochs=40)
    assert len(history["epoch"]) < 40  # it stopped
    best = min(history["val_loss"])
    assert trainer.evaluate(val)["loss"] == pytest.approx(best, rel=1e-5)


def test_csv_logger_and_gradient_monitor(tmp_path):
    monitor = GradientMonitor()
    trainer = make(callbacks=[CSVLogger(tmp_path / "h.csv"), monitor])
    train, val = loaders()
    trainer.fit(train, val_data=val, epochs=3)
    lines = (tmp_path / "h.csv").read_text().strip().splitlines()
    assert lines[0].startswith("epoch,loss") and len(lines) == 4
    assert "grad_norm/0.weight" in trainer.history
    assert all(v > 0 for v in monitor.history[-1].values())


def test_divergence_is_reported_not_propagated():
    trainer = make()
    train, _ = loaders()
    trainer.model[0].weight.data[0, 0] = float("nan")  # a corrupted weight
    with pytest.raises(NonFiniteLossError, match="training diverged: batch 1 of epoch 1"):
        trainer.fit(train, epochs=2)


def test_terminate_on_nan_stops_with_message(capsys):
    trainer = make(callbacks=[TerminateOnNaN()])
    train, _ = loaders()
    trainer.model[0].weight.data[0, 0] = float("nan")  # a corrupted weight
    trainer.fit(train, epochs=3)
    assert len(trainer.history.get("epoch", [])) == 1
    assert "loss is" in capsys.readouterr().out


def test_checkpoint_roundtrip_continues_identically(tmp_path):
    # 4 epochs straight == 2 epochs, save, new trainer, resume for 2 more.
    straight = make()
    train, val = loaders()
    straight.fit(train, val_data=val, epochs=4)

    first = make(callbacks=[ModelCheckpoint(tmp_path, monitor="val_loss")])
    train, val = loaders()
    first.fit(train, val_data=val, epochs=2)
    second = make()
    train, val = loaders()
    nerve.manual_seed(123)  # a different global state: the checkpoint must restore it
    second.fit(train, val_data=val, epochs=4, resume=tmp_path / "last.safetensors")
    for a, b in zip(straight.model.parameters(), second.model.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert second.history["epoch"] == [1, 2, 3, 4]


def test_bad_arguments():
    trainer = make()
    train, _ = loaders()
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        trainer.fit(train, epochs=0)
    with pytest.raises(TypeError, match="callbacks must be Callback instances"):
        Trainer(trainer.model, trainer.optimizer, nn.MSELoss(), callbacks=[object()])
    assert math.isnan(float("nan"))


def test_schedulers_step_per_epoch_and_on_plateau(tmp_path):
    from nerve.optim.lr_scheduler import StepLR
    from nerve.train import ReduceLROnPlateau

    trainer = make(lr=0.04)
    trainer.callbacks.append(ModelCheckpoint(tmp_path))
    from nerve.train import LRSchedulerCallback

    trainer.callbacks.append(LRSchedulerCallback(StepLR(trainer.optimizer, step_size=2, gamma=0.5)))
    for cb in trainer.callbacks:
        cb.set_trainer(trainer)
    train, val = loaders()
    trainer.fit(train, val_data=val, epochs=4)
    assert trainer.history["lr"] == pytest.approx([0.04, 0.04, 0.02, 0.02])
    assert (tmp_path / "best.safetensors").exists() and (tmp_path / "last.safetensors").exists()

    plateau = make(lr=0.04)
    cb = ReduceLROnPlateau(plateau.optimizer, monitor="val_loss", factor=0.5, patience=0,
                           threshold=10.0)  # any epoch counts as "no improvement"
    plateau.callbacks.append(cb)
    cb.set_trainer(plateau)
    train, val = loaders()
    plateau.fit(train, val_data=val, epochs=3)
    assert plateau.history["lr"] == pytest.approx([0.04, 0.02, 0.01])


def test_augment_sees_every_training_batch_and_nothing_else():
    seen = []

    def record(x):
        seen.append(x.shape[0])
        return x * 0.0  # the model then learns nothing from the inputs

    trainer = make(augment=record)
    train, val = loaders()
    trainer.fit(train, val_data=val, epochs=2)
    assert seen == [16] * 15 * 2  # 240 training samples in batches of 16, two epochs; no val batches
    # Trained on zeroed inputs, the network can only learn the class prior: no better than chance.
    x, y = val
    assert trainer.evaluate((x, y))["accuracy"] < 0.6
    with pytest.raises(TypeError, match="augment must be callable"):
        make(augment="shift")
