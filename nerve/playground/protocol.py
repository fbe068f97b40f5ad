"""The playground's WebSocket protocol: every message the browser may send, and its checks.

A message is a JSON object ``{"type": NAME, ...fields}``. Each type lists its fields with a kind
(int, float, bool, str, choice, list of ints, list of choices) and a range. ``parse_message``
turns raw text into ``(type, fields)`` with defaults filled in, or raises ``ProtocolError``
naming the message type and the field at fault, so the page can show exactly what was wrong.

Limits live here too (``LIMITS``), and the server sends them to the page in its ``hello``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

DATASETS = ("circle", "xor", "gaussian", "spiral", "moons", "plane", "multigauss", "csv")
REGRESSION_DATASETS = ("plane", "multigauss")
MULTICLASS_DATASETS = ("gaussian", "spiral", "csv")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")

LIMITS: dict[str, Any] = {
    "hidden_layers": 8,
    "neurons": 16,
    "classes": (2, 8),
    "forward_layers": (2, 8),
    "forward_neurons": 16,
    "csv_bytes": 256_000,
    "csv_rows": 5_000,
    "message_bytes": 400_000,
}


class ProtocolError(ValueError):
    """A message the server refuses; ``field`` names the part at fault (or None)."""

    def __init__(self, message: str, request: str | None = None, field: str | None = None):
        super().__init__(message)
        self.request = request
        self.field = field

    def to_message(self) -> dict[str, Any]:
        return {"type": "error", "request": self.request, "field": self.field, "message": str(self)}


@dataclass(frozen=True)
class Field:
    """One field of a message: ``kind`` is int/float/bool/str/choice/ints/choices."""

    kind: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    min_len: int = 0
    max_len: int = 0


def _int(default: int, low: int, high: int) -> Field:
    return Field("int", default, low, high)


def _float(default: float, low: float, high: float) -> Field:
    return Field("float", default, low, high)


LEARN_CONFIG = {
    "dataset": Field("choice", "xor", choices=DATASETS),
    "noise": _float(0.0, 0.0, 50.0),
    "train_ratio": _float(50.0, 10.0, 90.0),
    "n_points": _int(500, 50, 2000),
    "classes": _int(2, *LIMITS["classes"]),
    "features": Field("choices", ["x1", "x2"], choices=FEATURES, min_len=1, max_len=7),
    "layers": Field("ints", [4, 2], 1, LIMITS["neurons"], min_len=0, max_len=8),
    "activation": Field("choice", "tanh", choices=ACTIVATIONS),
    "loss": Field("choice", "cross_entropy", choices=LOSSES),
    "optimizer": Field("choice", "sgd", choices=OPTIMIZERS),
    "lr": _float(0.03, 1e-5, 10.0),
    "batch_size": _int(10, 1, 1000),
    "regularization": Field("choice", "none", choices=REGULARIZATIONS),
    "reg_rate": _float(0.0, 0.0, 10.0),
    "dropout": _float(0.0, 0.0, 0.9),
    "seed": _int(1, 0, 2**31 - 1),
}

# Hyperparameters that change without resetting the network (a subset of the config).
LEARN_HYPER = {
    k: LEARN_CONFIG[k]
    for k in ("lr", "batch_size", "regularization", "reg_rate", "dropout", "optimizer", "loss")
}

SCHEMAS: dict[str, dict[str, Field]] = {
    "forward.init": {
        "layers": Field(
            "ints",
            [5, 7, 6, 2],
            1,
            LIMITS["forward_neurons"],
            min_len=LIMITS["forward_layers"][0],
            max_len=LIMITS["forward_layers"][1],
        ),
        "seed": _int(0, 0, 2**31 - 1),
    },
    "forward.randomize": {},
    "forward.sample": {"temperature": _float(0.65, 0.05, 5.0), "new": Field("bool", True)},
    "learn.config": LEARN_CONFIG,
    "learn.hyper": LEARN_HYPER,
    "learn.play": {},
    "learn.pause": {},
    "learn.step": {},
    "learn.reset": {},
    "learn.upload": {
        "csv": Field("str", None, max_len=LIMITS["csv_bytes"]),
        "name": Field("str", "data.csv", max_len=200),
    },
    "learn.export": {},
    "learn.backprop": {"enabled": Field("bool", False)},
    "learn.ack": {},
}


def parse_message(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """Parse and check one message; returns ``(type, fields)`` with defaults filled in."""
    if len(text) > LIMITS["message_bytes"]:
        raise ProtocolError(f"message too large: {len(text)} bytes > {LIMITS['message_bytes']}")
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(f"message is not valid JSON: {err}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"message must be a JSON object, got {type(message).__name__}")
    kind = message.get("type")
    if kind not in SCHEMAS:
        known = ", ".join(sorted(SCHEMAS))
        raise ProtocolError(f"unknown message type {kind!r}; known types: {known}", field="type")
    return kind, check_fields(kind, message, SCHEMAS[kind])


def check_fields(kind: str, message: dict[str, Any], schema: dict[str, Field]) -> dict[str, Any]:
    """Check ``message`` against ``schema``: no unknown fields, every value of the right kind."""
    for name in message:
        if name != "type" and name not in schema:
            allowed = ", ".join(schema) or "none"
            raise ProtocolError(
                f"unknown field {name!r} in {kind!r} (allowed: {allowed})", kind, name
            )
    fields = {}
    for name, spec in schema.items():
        if name in message:
            fields[name] = _check_value(kind, name, spec, message[name])
        elif spec.default is None:
            raise ProtocolError(f"{kind!r} needs the field {name!r}", kind, name)
        else:
            fields[name] = spec.default
    return fields


def _check_value(kind: str, name: str, spec: Field, value: Any) -> Any:
    def fail(expected: str) -> ProtocolError:
        shown = repr(value) if len(repr(value)) < 60 else repr(value)[:57] + "..."
        return ProtocolError(f"{kind}: field {name!r} must be {expected}, got {shown}", kind, name)

    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if spec.kind in ("int", "float"):
        return _check_number(spec, value, fail)
    if spec.kind == "str":
        if not isinstance(value, str):
            raise fail("a string")
        if spec.max_len and len(value) > spec.max_len:
            raise fail(f"at most {spec.max_len} characters long ({len(value)} given)")
        return value
    if spec.kind == "choice":
        if value not in spec.choices:
            raise fail("one of " + ", ".join(spec.choices))
        return value
    if not isinstance(value, list) or not spec.min_len <= len(value) <= spec.max_len:
        raise fail(f"a list of {spec.min_len} to {spec.max_len} items")
    if spec.kind == "ints":
        item = Field("int", None, spec.low, spec.high)
        return [_check_number(item, v, fail) for v in value]
    if any(v not in spec.choices for v in value) or len(set(value)) != len(value):
        raise fail("distinct items from " + ", ".join(spec.choices))
    return list(value)


def _check_number(spec: Field, value: Any, fail) -> float | int:
    # NOTE: bool is a subclass of int in Python; true/false are not numbers here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail("an integer" if spec.kind == "int" else "a number")
    if spec.kind == "int" and (isinstance(value, float) and not value.is_integer()):
        raise fail("an integer")
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        raise fail(f"between {spec.low:g} and {spec.high:g}")
    return int(value) if spec.kind == "int" else float(value)
