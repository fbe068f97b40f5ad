"""Callbacks: code that runs at fixed points of ``Trainer.fit`` (Keras's model).

A callback overrides any of ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``. ``logs`` holds
the epoch's figures (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``, ``lr`` ...). A callback
reaches the trainer as ``self.trainer`` and stops training with ``self.trainer.stop_training = True``.
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np


class Callback:
    trainer = None

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_batch_begin(self, batch, logs=None): ...

    def on_batch_end(self, batch, logs=None): ...

    def on_after_backward(self): ...

    # Callbacks with state that a resumed run needs (best score, patience count) keep it here.
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("acc", "f1", "precision", "recall", "r2")) else "min"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights``, put back the weights of the best epoch at the end."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = _monitor_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.best_epoch = -1
        self.best_weights = None
        self.stopped_epoch = None

    def _improved(self, value) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not in the logs ({sorted(logs or {})})")
        if self._improved(value):
            self.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.numpy().copy() for k, v in self.trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)
            if self.trainer.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor} = {self.best:.4f})")

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.wait, self.best_epoch = state["best"], state["wait"], state["best_epoch"]


class ModelCheckpoint(Callback):
    """Write ``last.safetensors`` every epoch and ``best.safetensors`` when ``monitor`` improves.
    Each file holds the full training state, so a run can resume from it."""

    def __init__(self, directory, monitor="val_loss", mode="auto", save_best=True, save_last=True):
        self.directory = os.fspath(directory)
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode)
        self.save_best, self.save_last = save_best, save_last
        self.best = math.inf if self.mode == "min" else -math.inf

    @property
    def best_path(self):
        return os.path.join(self.directory, "best.safetensors")

    @property
    def last_path(self):
        return os.path.join(self.directory, "last.safetensors")

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        logs = logs or {}
        if self.save_last:
            self.trainer.save_checkpoint(self.last_path)
        value = logs.get(self.monitor)
        if self.save_best and value is not None and (
            value < self.best if self.mode == "min" else value > self.best
        ):
            self.best = value
            self.trainer.save_checkpoint(self.best_path)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LRSchedulerCallback(Callback):
    """Step an ``optim.lr_scheduler`` scheduler every epoch (or every batch with ``per_batch``).
    ``ReduceLROnPlateau`` is stepped with ``monitor``'s value."""

    def __init__(self, scheduler, per_batch=False, monitor="val_loss"):
        self.scheduler, self.per_batch, self.monitor = scheduler, per_batch, monitor

    def _is_plateau(self):
        return type(self.scheduler).__name__ == "ReduceLROnPlateau"

    def on_batch_end(self, batch, logs=None):
        if self.per_batch and not self._is_plateau():
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self._is_plateau():
            logs = logs or {}
            key = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(logs[key])
        elif not self.per_batch:
            self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])


class ReduceLROnPlateau(LRSchedulerCallback):
    """Keras-style: divide the learning rate by ``1/factor`` when ``monitor`` plateaus."""

    def __init__(self, optimizer, monitor="val_loss", factor=0.1, patience=10, mode="auto", **kwargs):
        from nerve.optim.lr_scheduler import ReduceLROnPlateau as Scheduler

        scheduler = Scheduler(optimizer, mode=_monitor_mode(monitor, mode), factor=factor,
                              patience=patience, **kwargs)
        super().__init__(scheduler, monitor=monitor)


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file."""

    def __init__(self, path, append=False):
        self.path = os.fspath(path)
        self.append = append
        self.keys = None

    def on_train_begin(self, logs=None):
        if not self.append and os.path.exists(self.path):
            os.remove(self.path)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: v for k, v in (logs or {}).items() if np.isscalar(v)}}
        new_file = not os.path.exists(self.path)
        if self.keys is None:
            if not new_file:
                with open(self.path, newline="") as f:
                    self.keys = next(csv.reader(f), None)
            self.keys = self.keys or list(row)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.keys, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)


class TerminateOnNaN(Callback):
    """Stop training, with a message naming the batch, when the loss becomes NaN or Inf."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.trainer.stop_training = True
            self.trainer.nan_detected = f"batch {batch + 1} of epoch {self.trainer.epoch + 1}: loss is {loss}"
            print(f"TerminateOnNaN: {self.trainer.nan_detected}; stopping")


class GradientMonitor(Callback):
    """Log each parameter's gradient L2 norm (averaged over the epoch's batches) as
    ``grad_norm/<name>``, so vanishing (norms -> 0 in early layers) and exploding (norms growing
    without bound) gradients are visible per layer."""

    def __init__(self, every_n_batches: int = 1):
        self.every = every_n_batches
        self.sums: dict[str, float] = {}
        self.count = 0
        self.history: list[dict[str, float]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.sums, self.count, self._batch = {}, 0, 0

    def on_after_backward(self):
        self._batch = getattr(self, "_batch", 0) + 1
        if (self._batch - 1) % self.every:
            return
        for name, p in self.trainer.model.named_parameters():
            if p.grad is not None:
                g = p.grad._data
                self.sums[name] = self.sums.get(name, 0.0) + float(np.sqrt((g * g).sum()))
        self.count += 1

    def on_epoch_end(self, epoch, logs=None):
        norms = {name: s / max(self.count, 1) for name, s in self.sums.items()}
        self.history.append(norms)
        if logs is not None:
            for name, value in norms.items():
                logs[f"grad_norm/{name}"] = value
