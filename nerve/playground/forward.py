"""The forward view's engine: a small network, a random input each cycle, every value kept.

The default is the texts' 5-7-6-2 network with tanh hidden units. ``sample`` draws an input
``x ~ U(-1, 1)^n``, runs it through nerve layer by layer and returns each layer's
pre-activation ``z`` and activation ``a``, the logits, and ``softmax(logits / T)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.playground.model import build_mlp, layer_outputs, softmax, weights


class ForwardNet:
    """``ForwardNet([5, 7, 6, 2], seed)``: the network the forward view animates."""

    def __init__(self, layers: list[int], seed: int):
        self.layers = list(layers)
        self.seed = seed
        self.model = build_mlp(self.layers, "tanh", 0.0, seed)
        self.model.eval()
        self.rng = np.random.default_rng(seed)
        self.x: np.ndarray | None = None

    def network_message(self) -> dict[str, Any]:
        w, b = weights(self.model)
        return {
            "type": "forward.network",
            "layers": self.layers,
            "seed": self.seed,
            "activation": "tanh",
            "weights": [m.tolist() for m in w],
            "biases": [v.tolist() for v in b],
        }

    def sample(self, temperature: float, new: bool = True) -> dict[str, Any]:
        """Run a (new) input through the network; ``probs = softmax(logits / temperature)``."""
        if new or self.x is None:
            self.x = self.rng.uniform(-1.0, 1.0, size=(1, self.layers[0])).astype(np.float32)
        outputs = layer_outputs(self.model, self.x)
        logits = outputs[-1][0]
        return {
            "type": "forward.sample",
            "input": self.x[0].tolist(),
            "z": [z[0].tolist() for z, _ in outputs],
            "a": [a[0].tolist() for _, a in outputs],
            "logits": logits[0].tolist(),
            "temperature": temperature,
            "probs": softmax(logits, temperature)[0].tolist(),
        }
