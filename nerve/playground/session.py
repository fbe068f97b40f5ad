"""One browser tab's session: its forward network, its trainer, and the loop that trains.

``Session(send)`` takes an async ``send(dict)``. ``handle(text)`` checks one message and acts
on it; every refusal or failure becomes an ``error`` message for the page, never an exception
out of the session. ``run()`` is the training loop: while playing, it runs updates for
``TRAIN_SLICE_S`` seconds (or as long as the last frame took, if longer), then measures and
sends a frame, then yields to the event loop so messages (pause, a new learning rate) are
handled between slices. The page acknowledges each frame (``learn.ack``); while
``MAX_FRAMES_IN_FLIGHT`` frames are unacknowledged the loop trains on without sending, so a
slow page never falls behind a queue of stale frames (a frame unacknowledged for
``ACK_TIMEOUT_S`` counts as drawn, so a client that never acks still gets a frame every 2 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from nerve.playground import export
from nerve.playground.data import EXTENT, parse_csv
from nerve.playground.forward import ForwardNet
from nerve.playground.protocol import FEATURES, LEARN_CONFIG, LIMITS, ProtocolError, parse_message
from nerve.playground.trainer import Trainer

log = logging.getLogger("nerve.playground")

TRAIN_SLICE_S = 0.05  # training time between two frames while playing
MAX_FRAMES_IN_FLIGHT = 1  # frames sent but not yet acknowledged by the page
MAX_SLICE_S = 0.2  # the longest a message waits for a training slice to end
WAIT_SLICE_S = 0.01  # training slice while waiting for an acknowledgement
ACK_TIMEOUT_S = 2.0  # a frame not acknowledged by then counts as drawn (a client without acks)


class Session:
    """The state behind one WebSocket; ``send`` delivers a message dict to the page."""

    def __init__(self, send: Callable[[dict[str, Any]], Awaitable[None]]):
        self._send = send
        self._send_lock = asyncio.Lock()
        self.forward: ForwardNet | None = None
        self.trainer: Trainer | None = None
        self.uploaded = None
        self.running = False
        self.until_epoch: int | None = None
        self.keep_gradients = False
        self.wake = asyncio.Event()
        self.closed = False
        self._seeds = np.random.default_rng()
        self._update_times: deque[tuple[float, int]] = deque(maxlen=20)
        self._frame_cost = 0.0
        self.frames_in_flight = 0
        self._last_frame_at = 0.0

    async def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        async with self._send_lock:
            await self._send(message)

    def hello(self) -> dict[str, Any]:
        from nerve import __version__

        defaults = {name: spec.default for name, spec in LEARN_CONFIG.items()}
        return {
            "type": "hello",
            "version": __version__,
            "limits": LIMITS,
            "features": list(FEATURES),
            "learn_defaults": defaults,
            "extent": EXTENT,
        }

    # ----- messages --------------------------------------------------------------------------

    async def handle(self, text: str | bytes) -> None:
        kind = None
        try:
            kind, fields = parse_message(text)
            await getattr(self, "_on_" + kind.replace(".", "_"))(fields)
        except ProtocolError as err:
            await self.send(err.to_message())
        except Exception as err:  # noqa: BLE001 - a bug must not end the session
            log.exception("error while handling %s", kind)
            message = f"internal error while handling {kind!r}: {type(err).__name__}: {err}"
            await self.send({"type": "error", "request": kind, "field": None, "message": message})

    async def _on_forward_init(self, fields: dict[str, Any]) -> None:
        self.forward = ForwardNet(fields["layers"], fields["seed"])
        await self.send(self.forward.network_message())

    async def _on_forward_randomize(self, fields: dict[str, Any]) -> None:
        layers = self.forward.layers if self.forward else [5, 7, 6, 2]
        self.forward = ForwardNet(layers, int(self._seeds.integers(0, 2**31 - 1)))
        await self.send(self.forward.network_message())

    async def _on_forward_sample(self, fields: dict[str, Any]) -> None:
        if self.forward is None:
            raise ProtocolError("send 'forward.init' before 'forward.sample'", "forward.sample")
        await self.send(self.forward.sample(fields["temperature"], fields["new"]))

    async def _on_learn_config(self, fields: dict[str, Any]) -> None:
        self.running = False
        trainer = Trainer(fields, self.uploaded)
        trainer.config["keep_gradients"] = self.keep_gradients
        self.trainer = trainer
        await self.send(self._data_message())
        await self.send_frame()

    async def _on_learn_hyper(self, fields: dict[str, Any]) -> None:
        trainer = self._need_trainer("learn.hyper")
        trainer.set_hyper(fields)
        await self.send_frame()

    async def _on_learn_play(self, fields: dict[str, Any]) -> None:
        trainer = self._need_trainer("learn.play")
        if trainer.diverged:
            raise ProtocolError("the run diverged (NaN or Inf): press reset", "learn.play")
        self.running, self.until_epoch = True, None
        self.wake.set()
        await self.send_frame()

    async def _on_learn_pause(self, fields: dict[str, Any]) -> None:
        self.running = False
        if self.trainer is not None:
            self.trainer.measure()
            await self.send_frame()

    async def _on_learn_step(self, fields: dict[str, Any]) -> None:
        trainer = self._need_trainer("learn.step")
        if trainer.diverged:
            raise ProtocolError("the run diverged (NaN or Inf): press reset", "learn.step")
        self.running, self.until_epoch = True, trainer.epoch + 1
        self.wake.set()

    async def _on_learn_reset(self, fields: dict[str, Any]) -> None:
        trainer = self._need_trainer("learn.reset")
        self.running = False
        trainer.reset()
        await self.send_frame()

    async def _on_learn_upload(self, fields: dict[str, Any]) -> None:
        points = parse_csv(fields["csv"])
        self.uploaded = points
        await self.send(
            {
                "type": "learn.uploaded",
                "name": fields["name"],
                "rows": len(points.y),
                "problem": points.problem,
                "classes": points.num_classes,
                "class_names": list(points.class_names),
            }
        )

    async def _on_learn_export(self, fields: dict[str, Any]) -> None:
        trainer = self._need_trainer("learn.export")
        if trainer.diverged:
            raise ProtocolError("the run diverged (NaN or Inf): nothing to export", "learn.export")
        await self.send(export.export_message(trainer))

    async def _on_learn_ack(self, fields: dict[str, Any]) -> None:
        self.frames_in_flight = max(0, self.frames_in_flight - 1)

    async def _on_learn_backprop(self, fields: dict[str, Any]) -> None:
        self.keep_gradients = fields["enabled"]
        if self.trainer is not None:
            self.trainer.config["keep_gradients"] = self.keep_gradients
            if self.keep_gradients and self.trainer.gradients is None and not self.running:
                self.trainer.train_updates(0.0, max_updates=1)
                self.trainer.measure()
            await self.send_frame()

    def _need_trainer(self, request: str) -> Trainer:
        if self.trainer is None:
            raise ProtocolError(f"send 'learn.config' before {request!r}", request)
        return self.trainer

    def _data_message(self) -> dict[str, Any]:
        t = self.trainer
        names = list(t.points.class_names)
        return {
            "type": "learn.data",
            "config": {k: v for k, v in t.config.items() if k in LEARN_CONFIG},
            "problem": t.problem,
            "num_classes": t.num_classes,
            "class_names": names,
            "loss": t.loss_name,
            "sizes": t.sizes,
            "extent": EXTENT,
            "train": {"x": _round(t.points.x[t.train_index]), "y": t.y_train.tolist()},
            "test": {"x": _round(t.points.x[t.test_index]), "y": t.y_test.tolist()},
            "feature_maps": _feature_maps(t),
        }

    # ----- the training loop -----------------------------------------------------------------

    async def send_frame(self) -> None:
        t = self.trainer
        if t is None:
            return
        frame = t.frame()
        frame.update(
            running=self.running,
            loss=t.loss_name,
            problem=t.problem,
            updates_per_second=self.updates_per_second(),
            config={k: v for k, v in t.config.items() if k in LEARN_CONFIG},
        )
        self.frames_in_flight += 1
        self._last_frame_at = time.perf_counter()
        await self.send(frame)

    def updates_per_second(self) -> float:
        if len(self._update_times) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._update_times[0], self._update_times[-1]
        return round((n1 - n0) / (t1 - t0), 1) if t1 > t0 else 0.0

    async def run(self) -> None:
        """Train while playing; sleeps on ``wake`` while paused. Ends when the session closes."""
        while not self.closed:
            if not self.running or self.trainer is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            trainer = self.trainer
            try:
                # NOTE: training gets at least as much time as measuring and drawing a frame;
                # while the page is busy, short slices so its ack is noticed soon.
                budget = min(max(TRAIN_SLICE_S, self._frame_cost), MAX_SLICE_S)
                if self._page_busy():
                    budget = WAIT_SLICE_S
                trainer.train_updates(budget, until_epoch=self.until_epoch)
                self._update_times.append((time.perf_counter(), trainer.updates))
                if self.until_epoch is not None and trainer.epoch >= self.until_epoch:
                    self.running = False
                if self.running and not trainer.diverged and self._page_busy():
                    await asyncio.sleep(0)
                    continue  # the page is still drawing: train on, send later
                started = time.perf_counter()
                trainer.measure()
                if trainer.diverged:
                    self.running = False
                if trainer is self.trainer:
                    await self.send_frame()
                self._frame_cost = time.perf_counter() - started
            except Exception as err:  # noqa: BLE001 - report, stop training, keep the session
                log.exception("training failed")
                self.running = False
                await self.send(
                    {
                        "type": "error",
                        "request": "learn.play",
                        "field": None,
                        "message": f"training stopped: {type(err).__name__}: {err}",
                    }
                )
            await asyncio.sleep(0)

    def _page_busy(self) -> bool:
        if time.perf_counter() - self._last_frame_at > ACK_TIMEOUT_S:
            self.frames_in_flight = 0
        return self.frames_in_flight >= MAX_FRAMES_IN_FLIGHT

    def close(self) -> None:
        self.closed = True
        self.running = False
        self.wake.set()


def _round(points: np.ndarray) -> list:
    return np.round(points.astype(np.float64), 4).tolist()


def _feature_maps(trainer: Trainer) -> list[dict[str, Any]]:
    """Heatmaps of each input feature over the plane, on the neuron-heatmap grid."""
    from nerve.playground.trainer import BOUNDARY_GRID, NEURON_STRIDE, encode_heatmap

    side = BOUNDARY_GRID
    cells = trainer.grid_features.reshape(side, side, -1)[::NEURON_STRIDE, ::NEURON_STRIDE]
    return [encode_heatmap(cells[:, :, j]) for j in range(cells.shape[2])]
