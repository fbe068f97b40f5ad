"""VGG (nerve/models/vgg.py) against torchvision's layout, written in torch.nn here."""

import time

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
    randomize_batchnorm,
    torch_layer_shapes,
)

import nerve
from nerve.models import build
from nerve.models.vgg import LAYOUTS, VGG, VGGConfig, vgg11, vgg16

# torchvision.models.vgg11(), vgg11_bn(), vgg16(), vgg16_bn(): 1000 classes (published counts)
TORCHVISION_VGG = {
    (11, False): 132_863_336,
    (11, True): 132_868_840,
    (16, False): 138_357_544,
    (16, True): 138_365_992,
}


def torch_vgg(c: VGGConfig):
    """torchvision.models.VGG's layout (``make_layers`` + classifier), in torch.nn."""
    layers, channels, side = [], c.in_channels, c.image_size
    for item in LAYOUTS[c.depth]:
        if item == "M":
            if side >= 2:
                layers.append(tnn.MaxPool2d(2, 2))
                side //= 2
            continue
        width = max(8, item // c.width_divisor)
        layers.append(tnn.Conv2d(channels, width, 3, padding=1))
        if c.batch_norm:
            layers.append(tnn.BatchNorm2d(width))
        layers.append(tnn.ReLU())
        channels = width
    return tnn.Sequential(
        tnn.Sequential(*layers),
        tnn.AdaptiveAvgPool2d(c.pool_size),
        tnn.Flatten(),
        tnn.Sequential(
            tnn.Linear(channels * c.pool_size**2, c.hidden), tnn.ReLU(), tnn.Dropout(c.dropout),
            tnn.Linear(c.hidden, c.hidden), tnn.ReLU(), tnn.Dropout(c.dropout),
            tnn.Linear(c.hidden, c.num_classes),
        ),
    )  # fmt: skip


@pytest.mark.parametrize("depth, batch_norm", list(TORCHVISION_VGG))
def test_full_size_vgg_matches_torchvision(depth, batch_norm):
    nerve.manual_seed(0)
    start = time.perf_counter()
    model = (vgg11 if depth == 11 else vgg16)(batch_norm=batch_norm)  # 133-138M parameters
    built = time.perf_counter() - start
    with torch.device("meta"):
        twin = torch_vgg(VGGConfig(depth, batch_norm=batch_norm))
    assert count(model) == TORCHVISION_VGG[depth, batch_norm] == count(twin)
    assert parameter_shapes(model) == parameter_shapes(twin)
    # torchvision's initialization: He-normal convolutions (fan_out), N(0, 0.01) dense layers
    fc1 = model.classifier[0].weight.detach().numpy()
    assert abs(fc1[:256].std() - 0.01) < 5e-4 and not model.classifier[0].bias.detach().numpy().any()
    first = model.features[0].weight.detach().numpy()  # fan_out = 64 * 3 * 3
    assert abs(first.std() - np.sqrt(2 / (64 * 9))) < 0.1 * np.sqrt(2 / (64 * 9))
    # The per-layer output shapes of one image. NOTE: a 224x224 VGG-16 forward is ~15 GFLOP;
    # 64x64 goes through the same layers (five pools: 64 -> 2, where 224 -> 7; the adaptive pool
    # brings either to 7x7) in 1/12 of the time.
    side = 64
    ours = nerve_layer_shapes(model, nerve.randn(1, 3, side, side))
    theirs = torch_layer_shapes(twin, torch.empty(1, 3, side, side, device="meta"))
    assert ours == theirs
    n_features = len(model.features)
    assert ours[n_features - 1] == (1, 512, side // 32, side // 32)
    assert ours[n_features] == (1, 512, 7, 7) and ours[-1] == (1, 1000)
    print(f"vgg{depth}{'_bn' if batch_norm else ''}: built in {built:.1f} s")
    del model, twin


@pytest.mark.parametrize("name, params", [("vgg11", 171_226), ("vgg16", 257_602)])
def test_registered_small_vgg_equals_its_torch_twin(name, params):
    nerve.manual_seed(0)
    model = build(name, (1, 8, 8), 10)
    c = model.config
    assert c.batch_norm and c.width_divisor == 8 and c.pool_size == 1 and c.image_size == 8
    assert sum(isinstance(m, nerve.nn.MaxPool2d) for m in model.features) == 3  # 8 -> 4 -> 2 -> 1
    twin = torch_vgg(c)
    assert count(model) == count(twin) == params
    randomize_batchnorm(model)
    x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    assert nerve_layer_shapes(model, nerve.tensor(x)) == torch_layer_shapes(twin, torch.tensor(x))
    assert_same_logits(model, twin, x)


def test_builder_picks_the_full_layout_for_large_images_and_checks_inputs():
    with pytest.raises(ValueError, match="vgg16 expects image inputs"):
        build("vgg16", (64,), 10)
    with pytest.raises(ValueError, match="depth must be one of"):
        VGG(VGGConfig(depth=12))
    # 32x32 CIFAR-sized inputs keep all five pools (32 -> 1)
    small = build("vgg11", (3, 32, 32), 10)
    assert sum(isinstance(m, nerve.nn.MaxPool2d) for m in small.features) == 5
    assert small(nerve.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", ["vgg11", "vgg16"])
def test_loss_falls_in_a_short_run(name):
    # measured (seed 0): vgg11 2.31 -> 0.001, vgg16 2.29 -> 0.003 in 30 full-batch Adam steps
    nerve.manual_seed(0)
    x, y = digits_batch(64)
    model = build(name, (1, 8, 8), 10, dropout=0.0)
    losses = losses_of_short_run(model, x, y, steps=30, lr=3e-3)
    assert losses[-1] < 0.1 * losses[0], losses[::5]
