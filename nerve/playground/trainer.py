"""The learning view's engine: one data set, one network, one optimizer, trained by nerve.

A ``Trainer`` is built from a checked ``learn.config`` (see protocol.py). Output and loss by
problem:

- two classes: one output logit ``z``, ``p = sigmoid(z)``; cross-entropy
  ``softplus(z) - y z`` or squared error ``(p - y)^2``;
- K >= 3 classes: K logits, ``p = softmax(z)``; cross-entropy or ``sum_k (p_k - onehot_k)^2``;
- regression: one linear output; squared error ``(z - y)^2``.

Regularization adds ``rate * sum |w|`` (L1) or ``rate / 2 * sum w^2`` (L2) over the weights
(not the biases). An epoch is one pass over the shuffled training points in mini-batches;
``train_updates(budget)`` runs optimizer updates until a time budget is spent, so the server
can interleave training with messages and frames.
"""

from __future__ import annotations

import base64
import math
import time
from typing import Any

import numpy as np

import nerve
from nerve import nn, optim
from nerve.playground import data as pdata
from nerve.playground.model import build_mlp, layer_outputs, linears, weights
from nerve.playground.protocol import ProtocolError

BOUNDARY_GRID = 48  # decision-boundary resolution (cells per side)
NEURON_STRIDE = 2  # neuron heatmaps use every 2nd cell: 24 x 24
HISTORY_LIMIT = 600  # loss-curve points kept (halved when full)


class Trainer:
    """Everything the learning view trains: ``Trainer(config, uploaded=None)``."""

    def __init__(self, config: dict[str, Any], uploaded: pdata.PointSet | None = None):
        self.config = dict(config)
        seed = config["seed"]
        if config["dataset"] == "csv":
            if uploaded is None:
                raise ProtocolError(
                    "no CSV uploaded in this session: upload one first", "learn.config", "dataset"
                )
            points = uploaded
        else:
            points = pdata.make_points(
                config["dataset"], config["n_points"], config["noise"], seed, config["classes"]
            )
        self.points = points
        self.problem = points.problem
        self.num_classes = points.num_classes
        self.train_index, self.test_index = pdata.split(points, config["train_ratio"], seed)
        names = config["features"]
        self.x_train = pdata.features(points.x[self.train_index], names)
        self.x_test = pdata.features(points.x[self.test_index], names)
        self.y_train = points.y[self.train_index]
        self.y_test = points.y[self.test_index]
        self.grid_points = pdata.grid(BOUNDARY_GRID)
        self.grid_features = pdata.features(self.grid_points, names)
        outputs = self.num_classes if self.num_classes > 2 else 1
        self.sizes = [len(names), *config["layers"], outputs]
        self.reset()

    # ----- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Fresh weights and batch order from the seed, a fresh optimizer, epoch 0: a reset run
        repeats the first one."""
        c = self.config
        self.rng = np.random.default_rng(c["seed"])
        self.model = build_mlp(self.sizes, c["activation"], c["dropout"], c["seed"])
        self.model.train()
        self.optimizer = self._make_optimizer()
        self.epoch = 0
        self.updates = 0
        self.order = self.rng.permutation(len(self.y_train))
        self.cursor = 0
        self.diverged = False
        self.history: dict[str, list[float]] = {"epoch": [], "train": [], "test": []}
        self.gradients: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        self.last_loss = float("nan")
        self.metrics = self.evaluate()
        self._record()

    def set_hyper(self, hyper: dict[str, Any]) -> None:
        """Change learning rate, batch size, regularization, dropout, loss or optimizer in place."""
        changed_optimizer = hyper["optimizer"] != self.config["optimizer"]
        self.config.update(hyper)
        for module in self.model:
            if isinstance(module, nn.Dropout):
                module.p = hyper["dropout"]
        if changed_optimizer:
            self.optimizer = self._make_optimizer()
        for group in self.optimizer.param_groups:
            group["lr"] = hyper["lr"]
        self.metrics = self.evaluate()

    def _make_optimizer(self) -> optim.Optimizer:
        c = self.config
        params = list(self.model.parameters())
        if c["optimizer"] == "adam":
            return optim.Adam(params, lr=c["lr"])
        momentum = 0.9 if c["optimizer"] == "momentum" else 0.0
        return optim.SGD(params, lr=c["lr"], momentum=momentum)

    @property
    def loss_name(self) -> str:
        return "mse" if self.problem == "regression" else self.config["loss"]

    # ----- training --------------------------------------------------------------------------

    def train_updates(
        self, budget_s: float, max_updates: int | None = None, until_epoch: int | None = None
    ) -> int:
        """Run updates for about ``budget_s`` seconds, or until ``max_updates`` are done or
        epoch ``until_epoch`` is reached; returns how many ran."""
        start = time.perf_counter()
        done = 0
        while not self.diverged:
            if max_updates is not None and done >= max_updates:
                break
            if until_epoch is not None and self.epoch >= until_epoch:
                break
            self.update()
            done += 1
            if time.perf_counter() - start >= budget_s:
                break
        return done

    def updates_per_epoch(self) -> int:
        return math.ceil(len(self.y_train) / min(self.config["batch_size"], len(self.y_train)))

    def update(self) -> None:
        """One optimizer step on the next mini-batch; an epoch ends when the data run out."""
        batch_size = min(self.config["batch_size"], len(self.y_train))
        batch = self.order[self.cursor : self.cursor + batch_size]
        self.cursor += batch_size
        if self.cursor >= len(self.order):
            self.epoch += 1
            self.cursor = 0
            self.order = self.rng.permutation(len(self.y_train))
        x = nerve.from_numpy(self.x_train[batch])
        self.model.train()
        # NOTE: a diverging run overflows on purpose; it is caught below, not warned about.
        with np.errstate(all="ignore"):
            loss = self._loss(self.model(x), self.y_train[batch]) + self._penalty()
            self.optimizer.zero_grad()
            loss.backward()
        self.last_loss = float(loss.item())
        if not math.isfinite(self.last_loss):
            self.diverged = True
            return
        if self.config.get("keep_gradients"):
            layers = linears(self.model)
            self.gradients = (
                [m.weight.grad.numpy().copy() for m in layers],
                [m.bias.grad.numpy().copy() for m in layers],
            )
        with np.errstate(all="ignore"):
            self.optimizer.step()
        self.updates += 1

    def _loss(self, output: nerve.Tensor, y: np.ndarray) -> nerve.Tensor:
        F = nn.functional
        if self.problem == "regression":
            target = nerve.from_numpy(y.astype(np.float32).reshape(-1, 1))
            return ((output - target) ** 2).mean()
        if self.num_classes > 2:
            if self.loss_name == "cross_entropy":
                return F.cross_entropy(output, nerve.from_numpy(y.astype(np.int64)))
            onehot = nerve.from_numpy(np.eye(self.num_classes, dtype=np.float32)[y])
            return ((F.softmax(output, dim=1) - onehot) ** 2).sum(dim=1).mean()
        target = nerve.from_numpy(y.astype(np.float32).reshape(-1, 1))
        if self.loss_name == "cross_entropy":
            # softplus(z) - y z, written stably as relu(z) - y z + log(1 + exp(-|z|))
            return (output.relu() - target * output + (1 + (-output.abs()).exp()).log()).mean()
        return ((output.sigmoid() - target) ** 2).mean()

    def _penalty(self) -> nerve.Tensor | float:
        c = self.config
        if c["regularization"] == "none" or c["reg_rate"] == 0:
            return 0.0
        total = 0.0
        for layer in linears(self.model):
            w = layer.weight
            total = total + (w.abs().sum() if c["regularization"] == "l1" else (w * w).sum() / 2)
        return c["reg_rate"] * total

    # ----- measuring -------------------------------------------------------------------------

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Outputs for feature rows ``(n, F)``: class probabilities ``(n, K)`` (``(n, 1)`` =
        p(class 1) for two classes) or regression values ``(n, 1)``."""
        logits = layer_outputs(self.model, features)[-1][1]
        return self._squash(logits)

    def _squash(self, logits: np.ndarray) -> np.ndarray:
        if self.problem == "regression":
            return logits
        with nerve.no_grad():
            z = nerve.from_numpy(logits)
            if self.num_classes > 2:
                return nn.functional.softmax(z, dim=1).numpy().copy()
            return z.sigmoid().numpy().copy()

    def evaluate(self) -> dict[str, float]:
        """Loss (without the penalty) and accuracy on the train and test points, dropout off."""
        result = {}
        with np.errstate(all="ignore"):
            result = self._evaluate()
        if not all(math.isfinite(v) for v in result.values()):
            self.diverged = True
        return result

    def _evaluate(self) -> dict[str, float]:
        result = {}
        for part, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            logits = layer_outputs(self.model, x)[-1][1]
            with nerve.no_grad():
                loss = float(self._loss(nerve.from_numpy(logits), y).item())
            result[f"{part}_loss"] = loss
            if self.problem == "classification":
                out = self._squash(logits)
                guess = out.argmax(1) if self.num_classes > 2 else (out[:, 0] > 0.5).astype(int)
                result[f"{part}_accuracy"] = float((guess == y).mean())
        return result

    def _record(self) -> None:
        h = self.history
        h["epoch"].append(self.epoch + self.cursor / max(len(self.y_train), 1))
        h["train"].append(self.metrics["train_loss"])
        h["test"].append(self.metrics["test_loss"])
        if len(h["epoch"]) > HISTORY_LIMIT:
            for key in h:
                h[key] = h[key][::2]

    def measure(self) -> None:
        """Evaluate now and add a point to the loss curves."""
        self.metrics = self.evaluate()
        self._record()

    def frame(self) -> dict[str, Any]:
        """What the page draws now: metrics, weights, boundary and per-neuron heatmaps."""
        with np.errstate(all="ignore"):
            outputs = layer_outputs(self.model, self.grid_features)
            boundary = self._squash(outputs[-1][1])
        neurons = []
        side = BOUNDARY_GRID
        for _, a in outputs[:-1]:
            cells = a.reshape(side, side, -1)[::NEURON_STRIDE, ::NEURON_STRIDE]
            neurons.append([encode_heatmap(cells[:, :, j]) for j in range(a.shape[1])])
        w, b = weights(self.model)
        frame = {
            "type": "learn.frame",
            "epoch": self.epoch,
            "updates": self.updates,
            "diverged": self.diverged,
            "metrics": {k: _finite(v) for k, v in self.metrics.items()},
            "history": {k: [_finite(v) for v in vs] for k, vs in self.history.items()},
            "weights": _lists(w),
            "biases": _lists(b),
            "boundary": {
                "size": side,
                "channels": boundary.shape[1],
                "data": encode_probabilities(boundary, self.problem),
            },
            "neurons": neurons,
            "neuron_grid": side // NEURON_STRIDE,
        }
        if self.gradients is not None and self.config.get("keep_gradients"):
            frame["gradients"] = {"weights": _lists(self.gradients[0])}
            frame["gradients"]["biases"] = _lists(self.gradients[1])
        return frame


def encode_heatmap(values: np.ndarray) -> dict[str, Any]:
    """Values scaled by their largest magnitude into bytes (0 = -max, 255 = +max), base64."""
    peak = float(np.nanmax(np.abs(values))) if values.size else 0.0
    peak = peak if math.isfinite(peak) and peak > 0 else 1.0
    scaled = np.nan_to_num(values / peak, nan=0.0)
    quantized = np.clip(np.round((scaled + 1) * 127.5), 0, 255).astype(np.uint8)
    return {"peak": peak, "data": base64.b64encode(quantized.tobytes()).decode()}


def encode_probabilities(values: np.ndarray, problem: str) -> str:
    """Boundary values as bytes, base64: probabilities 0..1 (or regression -1..1) -> 0..255."""
    low = -1.0 if problem == "regression" else 0.0
    scaled = np.nan_to_num((values - low) / (1.0 - low), nan=0.5)
    quantized = np.clip(np.round(scaled * 255), 0, 255).astype(np.uint8)
    return base64.b64encode(quantized.tobytes()).decode()


def _finite(value: float) -> float | None:
    # NOTE: JSON has no NaN/Infinity; the page shows null as "diverged".
    return round(float(value), 6) if math.isfinite(value) else None


def _lists(arrays: list[np.ndarray]) -> list:
    return [
        np.where(np.isfinite(a), np.round(a.astype(np.float64), 5), 0.0).tolist() for a in arrays
    ]
