"""``Trainer``: the training loop of the texts, made a tool.

For each epoch: show the network mini-batches, compute the loss, backpropagate, update; then
measure on validation data, run the callbacks (early stopping, checkpoints, schedules, logs), and
keep the history. The plain PyTorch loop works unchanged on nerve; the Trainer only adds what
every run needs:

    trainer = Trainer(model, optim.Adam(model.parameters(), 1e-3), nn.CrossEntropyLoss(),
                      metrics=["accuracy"], callbacks=[EarlyStopping(patience=3)])
    history = trainer.fit(train_loader, val_data=val_loader, epochs=20)
    trainer.evaluate(test_loader)      # {'loss': 0.05, 'accuracy': 0.98}

Nothing lost: ``save_checkpoint`` writes the model, optimizer, scheduler, epoch, position in the
epoch and every RNG state, atomically. Ctrl-C or SIGTERM during ``fit`` (with ``checkpoint_path``
set) writes one at the end of the current batch and stops cleanly; ``fit(..., resume=path)`` then
continues to bit-identical weights of an uninterrupted run with the same seed.

Augmentation: ``augment`` (e.g. ``nerve.data.transforms.RandomShift(1)``) is applied to the inputs
of each training batch as it is trained on (after a resume's skipped batches, so a resumed run
draws the same random shifts); evaluation and prediction see the data as it is.
"""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np

from nerve.train import metrics as metrics_lib
from nerve.train.callbacks import Callback, LRSchedulerCallback
from nerve.train.progress import ProgressBar, interactive


class TrainingInterrupted(Exception):
    """Raised by ``fit`` after a signal: a checkpoint was written at ``path``."""

    def __init__(self, path, epoch, batch):
        self.path, self.epoch, self.batch = path, epoch, batch
        super().__init__(
            f"training interrupted in epoch {epoch + 1} after batch {batch}; checkpoint written to "
            f"{path}. Resume with fit(..., resume={str(path)!r})"
        )


class NonFiniteLossError(RuntimeError):
    pass


def _as_loader(data, batch_size=256):
    from nerve.data import DataLoader, TensorDataset
    from nerve.ops.creation import as_tensor

    if data is None or hasattr(data, "__iter__") and not isinstance(data, (tuple, list)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (as_tensor(np.asarray(v) if not hasattr(v, "_data") else v) for v in data)
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)
    raise TypeError("data must be a DataLoader (or an iterable of (x, y) batches) or an (x, y) pair")


class History(dict):
    """Figures per epoch: ``history['loss'][e]``, ``history['val_accuracy'][e]`` ..."""

    def append(self, logs: dict) -> None:
        for k, v in logs.items():
            if np.isscalar(v):
                self.setdefault(k, []).append(v)

    def update_last(self, logs: dict) -> None:
        """Add figures that callbacks put into the epoch's logs after it was appended."""
        n = len(self.get("epoch", []))
        for k, v in logs.items():
            if np.isscalar(v) and len(self.get(k, [])) < n:
                self.setdefault(k, [float("nan")] * (n - 1)).append(v)


class Trainer:
    def __init__(self, model, optimizer, loss_fn, metrics=(), callbacks=(), scheduler=None,
                 scheduler_per_batch=False, grad_clip=None, verbose=None, checkpoint_path=None,
                 num_classes=None, check_finite=True, augment=None):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        if augment is not None and not callable(augment):
            raise TypeError(f"Trainer: augment must be callable, got {type(augment).__name__}")
        self.augment = augment
        self.metrics = [metrics_lib.get(m, num_classes) for m in metrics]
        self.callbacks = list(callbacks)
        if scheduler is not None:
            self.callbacks.append(LRSchedulerCallback(scheduler, per_batch=scheduler_per_batch))
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback instances, got {type(cb).__name__}")
            cb.set_trainer(self)
        self.grad_clip = grad_clip
        # Quiet in non-interactive runs unless asked.
        self.verbose = interactive() if verbose is None else bool(verbose)
        self.checkpoint_path = checkpoint_path
        self.check_finite = check_finite
        self.history = History()
        self.epoch = 0
        self.stop_training = False
        self.nan_detected = None
        self._batch_in_epoch = 0
        self._epoch_rng = None
        self._signal = None

    # ------------------------------------------------------------------ one batch
    def train_step(self, x, y):
        output = self.model(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        for cb in self.callbacks:
            cb.on_after_backward()
        if self.grad_clip is not None:
            from nerve.nn.utils import clip_grad_norm_

            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return output, loss

    # ------------------------------------------------------------------ fit
    def fit(self, train_loader, val_data=None, epochs=1, resume=None):
        """Train for ``epochs`` epochs (counted from 0, so a resumed run ends at the same epoch)."""
        if epochs < 1:
            raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
        from nerve import random as nerve_random

        val_loader = _as_loader(val_data)
        gen = getattr(train_loader, "generator", None)
        self._loader_generator = gen if isinstance(gen, nerve_random.Generator) else None
        start_epoch, skip_batches = 0, 0
        if resume is not None:
            start_epoch, skip_batches = self.load_checkpoint(resume)
        self.stop_training = False
        previous = self._install_signal_handlers()
        try:
            for cb in self.callbacks:
                cb.on_train_begin()
            for epoch in range(start_epoch, epochs):
                self.epoch = epoch
                logs, bar = self._train_epoch(train_loader, epoch, epochs, skip_batches)
                skip_batches = 0
                if val_loader is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
                bar.close(f"epoch {epoch + 1}/{epochs}: " + "  ".join(
                    f"{k} {v:.4f}" for k, v in logs.items() if k not in ("time", "lr"))
                    + f"  ({logs['time']:.1f}s)")
                # The epoch is complete: a checkpoint written from here on resumes at the next one.
                self._batch_in_epoch = 0
                self._epoch_rng = None
                self.history.append({"epoch": epoch + 1, **logs})
                for cb in self.callbacks:
                    cb.on_epoch_end(epoch, logs)
                self.history.update_last(logs)
                if self.stop_training:
                    break
            for cb in self.callbacks:
                cb.on_train_end(dict(self.history))
        finally:
            self._restore_signal_handlers(previous)
        return self.history

    def _train_epoch(self, loader, epoch, epochs, skip_batches):
        self.model.train()
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)
        if skip_batches:
            # Resume: replay the epoch's shuffling from its saved start, then jump to where the
            # interrupted run stopped (its RNG state at that point is restored after).
            self._set_rng(self._epoch_rng)
        else:
            self._epoch_rng = self._get_rng()
        iterator = iter(loader)
        if skip_batches:
            self._set_rng(self._resume_rng)
        total = len(loader) if hasattr(loader, "__len__") else None
        bar = ProgressBar(total, epoch, epochs, enabled=self.verbose)
        for m in self.metrics:
            m.reset()
        loss_sum, n_seen = 0.0, 0
        if skip_batches:
            loss_sum, n_seen = self._resume_sums
            for m, state in zip(self.metrics, self._resume_metric_states):
                m.__dict__.update(state)
        start = time.perf_counter()
        for batch, (x, y) in enumerate(iterator):
            if batch < skip_batches:
                bar.update(len(x))
                continue
            if self.augment is not None:
                x = self.augment(x)
            output, loss = self.train_step(x, y)
            value = float(loss.item())
            if self.check_finite and not math.isfinite(value):
                self.nan_detected = f"batch {batch + 1} of epoch {epoch + 1}: loss is {value}"
                if not any(type(cb).__name__ == "TerminateOnNaN" for cb in self.callbacks):
                    raise NonFiniteLossError(
                        f"training diverged: {self.nan_detected}. Lower the learning rate, clip "
                        "gradients (grad_clip=...), or run under nerve.autograd.detect_anomaly() to "
                        "find the op that made it."
                    )
            n = len(x)
            loss_sum += value * n
            n_seen += n
            for m in self.metrics:
                m.update(output, y)
            self._batch_in_epoch = batch + 1
            for cb in self.callbacks:
                cb.on_batch_end(batch, {"loss": value})
            bar.update(n, loss=loss_sum / n_seen)
            if self._signal is not None:
                self._current_sums = (loss_sum, n_seen)
                self._interrupt(epoch, batch + 1)
            if self.stop_training:
                break
        seconds = time.perf_counter() - start
        logs = {"loss": loss_sum / max(n_seen, 1)}
        for m in self.metrics:
            value = m.compute()
            if np.isscalar(value):
                logs[m.name] = float(value)
        logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
        logs["time"] = seconds
        return logs, bar

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, data) -> dict:
        """Mean loss and every metric over ``data`` (a loader or an (x, y) pair), in eval mode."""
        from nerve.autograd.grad_mode import no_grad

        loader = _as_loader(data)
        was_training = self.model.training
        self.model.eval()
        metrics = [type(m).__new__(type(m)) for m in self.metrics]
        for fresh, m in zip(metrics, self.metrics):
            fresh.__dict__.update({k: v for k, v in m.__dict__.items()})
            if hasattr(fresh, "cm"):
                fresh.cm = type(m.cm)(m.cm.num_classes)
            fresh.reset()
        loss_sum, n = 0.0, 0
        with no_grad():
            for x, y in loader:
                output = self.model(x)
                loss_sum += float(self.loss_fn(output, y).item()) * len(x)
                n += len(x)
                for m in metrics:
                    m.update(output, y)
        self.model.train(was_training)
        out = {"loss": loss_sum / max(n, 1)}
        for m in metrics:
            value = m.compute()
            if np.isscalar(value):
                out[m.name] = float(value)
        return out

    def predict(self, data, batch_size=256) -> np.ndarray:
        """Model outputs for ``data`` (a tensor/array of inputs, or a loader of (x, ...) batches)."""
        from nerve.autograd.grad_mode import no_grad
        from nerve.ops.creation import as_tensor

        was_training = self.model.training
        self.model.eval()
        outputs = []
        with no_grad():
            if hasattr(data, "shape"):
                x = as_tensor(np.asarray(data) if not hasattr(data, "_data") else data)
                for i in range(0, x.shape[0], batch_size):
                    outputs.append(self.model(x[i:i + batch_size]).numpy())
            else:
                for batch in data:
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outputs.append(self.model(x).numpy())
        self.model.train(was_training)
        return np.concatenate(outputs) if outputs else np.zeros((0,))

    # ------------------------------------------------------------------ checkpoints
    def _get_rng(self) -> dict:
        from nerve import random as nerve_random

        state = {"default": nerve_random.get_rng_state()}
        if self._loader_generator is not None:
            state["loader"] = self._loader_generator.get_state()
        return state

    def _set_rng(self, state) -> None:
        from nerve import random as nerve_random

        if not state:
            return
        nerve_random.set_rng_state(state["default"])
        if "loader" in state and self._loader_generator is not None:
            self._loader_generator.set_state(state["loader"])

    _loader_generator = None
    _resume_rng = None
    _resume_sums = (0.0, 0)
    _resume_metric_states = ()
    _current_sums = (0.0, 0)

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self._batch_in_epoch,
            "epoch_rng": self._epoch_rng,
            "rng": self._get_rng(),
            "sums": list(self._current_sums),
            "metric_states": [
                {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in m.__dict__.items()
                 if k != "cm"} for m in self.metrics
            ],
            "history": {k: list(v) for k, v in self.history.items()},
            "callbacks": [cb.state_dict() for cb in self.callbacks],
        }

    def save_checkpoint(self, path) -> None:
        """Write the whole training state atomically (safetensors + JSON metadata)."""
        from nerve.serialization import save

        os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
        save(self.state_dict(), path)

    def load_checkpoint(self, path):
        """Restore a checkpoint; returns (epoch to start at, batches of it already done)."""
        from nerve.serialization import load

        state = load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = History({k: list(v) for k, v in state["history"].items()})
        for cb, cb_state in zip(self.callbacks, state["callbacks"]):
            cb.load_state_dict(cb_state)
        epoch, batch = int(state["epoch"]), int(state["batch_in_epoch"])
        if batch == 0:
            # Saved between epochs: continue with the next epoch.
            self._set_rng(state["rng"])
            return epoch + 1, 0
        self._epoch_rng = state["epoch_rng"]
        self._resume_rng = state["rng"]
        self._resume_sums = tuple(state["sums"])
        self._resume_metric_states = [
            {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in s.items()}
            for s in state["metric_states"]
        ]
        return epoch, batch

    # ------------------------------------------------------------------ signals
    def _install_signal_handlers(self):
        if self.checkpoint_path is None:
            return None
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            self._signal = signum

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        return previous

    def _restore_signal_handlers(self, previous):
        if previous:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _interrupt(self, epoch, batches_done):
        self._batch_in_epoch = batches_done
        self.save_checkpoint(self.checkpoint_path)
        self._signal = None
        raise TrainingInterrupted(self.checkpoint_path, epoch, batches_done)

