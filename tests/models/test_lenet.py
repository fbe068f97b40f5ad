"""LeNet-5 (nerve/models/lenet.py) against the same network written in torch.nn."""

import numpy as np
import pytest
import torch
from torch import nn as tnn
from zoo_oracle import (
    assert_same_logits,
    count,
    digits_batch,
    losses_of_short_run,
    nerve_layer_shapes,
    parameter_shapes,
    torch_layer_shapes,
)

import nerve
from nerve.models import build
from nerve.models.lenet import LeNet5, LeNet5Config

LENET5_CLASSIC = 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850: the textbook count for 1x28x28


def torch_lenet5(c: LeNet5Config):
    k = c.kernel_size
    pad2 = 0 if c.image_size >= 28 else k // 2
    side = (c.image_size // 2 - (k - 1 if pad2 == 0 else 0)) // 2
    (c1, c2), (h1, h2) = c.channels, c.hidden
    return tnn.Sequential(
        tnn.Conv2d(c.in_channels, c1, k, padding=k // 2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(c1, c2, k, padding=pad2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Dropout(c.dropout), tnn.Linear(c2 * side * side, h1), tnn.ReLU(),
        tnn.Dropout(c.dropout), tnn.Linear(h1, h2), tnn.ReLU(),
        tnn.Linear(h2, c.num_classes),
    )  # fmt: skip


def _images(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_classic_lenet5_on_28x28_equals_its_torch_twin():
    nerve.manual_seed(0)
    model = build("lenet5", (1, 28, 28), 10)
    twin = torch_lenet5(model.config)
    assert model.config.kernel_size == 5
    assert count(model) == count(twin) == LENET5_CLASSIC
    assert parameter_shapes(model) == parameter_shapes(twin)
    x = _images((3, 1, 28, 28))
    shapes = nerve_layer_shapes(model, nerve.tensor(x))
    # conv1 keeps 28 (padding 2), pool -> 14, conv2 is 'valid' -> 10, pool -> 5
    assert shapes[0] == (3, 6, 28, 28) and shapes[2] == (3, 6, 14, 14)
    assert shapes[3] == (3, 16, 10, 10) and shapes[5] == (3, 16, 5, 5)
    assert_same_logits(model, twin, x)


@pytest.mark.parametrize("channels, dropout, params", [((6, 16), 0.0, 19_754),
                                                        ((16, 32), 0.25, 31_294)])
def test_digits_lenet5_equals_its_torch_twin(channels, dropout, params):
    # (16, 32) with dropout 0.25 is the `nerve demo` model (README: 31,294 parameters)
    nerve.manual_seed(0)
    model = build("lenet5", (1, 8, 8), 10, channels=channels, dropout=dropout)
    twin = torch_lenet5(model.config)
    assert model.config.kernel_size == 3
    assert count(model) == count(twin) == params
    x = _images((4, 1, 8, 8), seed=1)
    assert nerve_layer_shapes(model, nerve.tensor(x)) == torch_layer_shapes(twin, torch.tensor(x))
    assert_same_logits(model, twin, x)


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="lenet5 expects image inputs"):
        build("lenet5", (64,), 10)
    with pytest.raises(ValueError, match="channels and hidden need 2 entries"):
        LeNet5(LeNet5Config(channels=(6, 16, 32)))
    with pytest.raises(ValueError, match="too small"):
        LeNet5(LeNet5Config(image_size=3, kernel_size=3))  # 3 -> 1 -> 0 after two pools


def test_loss_falls_in_a_short_run():
    nerve.manual_seed(0)
    x, y = digits_batch(64)
    losses = losses_of_short_run(build("lenet5", (1, 8, 8), 10), x, y, steps=40, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0], losses[::5]
