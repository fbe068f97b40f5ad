"""Export from the learning view: the trained weights (safetensors) and a Python snippet.

The snippet rebuilds the same ``nn.Sequential`` in nerve, loads the file with ``nerve.load``
and defines ``features(points)`` and ``predict(points)`` for points in the data's own
coordinates (for an uploaded CSV, its units; for a built-in set, ``nerve.datasets.toy2d``'s).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

import nerve
from nerve.playground.model import linears
from nerve.playground.trainer import Trainer

_FEATURE_CODE = {
    "x1": "x1",
    "x2": "x2",
    "x1^2": "x1 * x1",
    "x2^2": "x2 * x2",
    "x1*x2": "x1 * x2",
    "sin x1": "np.sin(x1)",
    "sin x2": "np.sin(x2)",
}
_ACTIVATION_CODE = {"relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()"}


def weights_bytes(trainer: Trainer) -> bytes:
    """The model's ``state_dict`` in safetensors format, written by ``nerve.save``."""
    buffer = io.BytesIO()
    nerve.save(trainer.model.state_dict(), buffer)
    return buffer.getvalue()


def snippet(trainer: Trainer, filename: str) -> str:
    """Python source that rebuilds the network, loads ``filename`` and predicts."""
    c = trainer.config
    activation = _ACTIVATION_CODE.get(c["activation"], "nn.Identity()")
    lines = []
    for index, layer in enumerate(linears(trainer.model)):
        lines.append(f"    nn.Linear({layer.in_features}, {layer.out_features}),")
        if index < len(trainer.sizes) - 2:
            lines.append(f"    {activation},")
            lines.append(f"    nn.Dropout({c['dropout']}),")
    layers = "\n".join(lines)
    feats = ", ".join(_FEATURE_CODE[name] for name in c["features"])
    points = trainer.points
    center = f"({points.center[0]!r}, {points.center[1]!r})"
    scale = points.scale
    if trainer.problem == "regression":
        head, meaning = "logits", "the predicted value"
    elif trainer.num_classes > 2:
        head, meaning = "logits.softmax(dim=1)", "class probabilities (n, K)"
    else:
        head, meaning = "logits.sigmoid()", "p(class 1) (n, 1)"
    shape = "-".join(map(str, trainer.sizes))
    names = ", ".join(c["features"])
    return f'''"""A network trained in nerve's playground: {c["dataset"]}, {shape}.

Rebuilds the network, loads {filename} and predicts for points in the data's own coordinates.
"""

import numpy as np

import nerve
from nerve import nn

model = nn.Sequential(
{layers}
)
model.load_state_dict(nerve.load("{filename}"))
model.eval()

CENTER, SCALE = {center}, {scale!r}  # data coordinates -> the playground's plane


def features(points):
    """Points (n, 2) -> the network's inputs (n, {len(c["features"])}): {names}."""
    p = (np.asarray(points, dtype=np.float32) - np.float32(CENTER)) * np.float32(SCALE)
    x1, x2 = p[:, 0], p[:, 1]
    return np.stack([{feats}], axis=1).astype(np.float32)


def predict(points):
    """{meaning} for points (n, 2)."""
    with nerve.no_grad():
        logits = model(nerve.from_numpy(features(points)))
        return ({head}).numpy()


if __name__ == "__main__":
    print(predict([[0.0, 0.0], [1.0, -1.0]]))
'''


def export_message(trainer: Trainer) -> dict[str, Any]:
    """The ``learn.export`` reply: file name, weights (base64), snippet, and probe predictions."""
    name = f"playground-{trainer.config['dataset']}"
    filename = f"{name}.safetensors"
    plane_points = trainer.points.x[trainer.test_index[:16]]
    raw_points = plane_points / trainer.points.scale + np.asarray(
        trainer.points.center, dtype=np.float32
    )
    outputs = trainer.predict(trainer.x_test[:16])
    return {
        "type": "learn.export",
        "filename": filename,
        "snippet_filename": f"{name}.py",
        "safetensors": base64.b64encode(weights_bytes(trainer)).decode(),
        "snippet": snippet(trainer, filename),
        "probe": {"points": raw_points.tolist(), "outputs": outputs.tolist()},
    }
