"""GoogLeNet / Inception (nerve/models/inception.py) against torchvision's layout in torch.nn."""

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
from nerve.models.inception import (
    GOOGLENET_BLOCKS,
    GoogLeNet,
    GoogLeNetConfig,
    Inception,
    InceptionNetConfig,
)

TORCHVISION_GOOGLENET = 6_624_904  # torchvision.models.googlenet(), 1000 classes, no aux heads


class TorchConv(tnn.Sequential):
    """torchvision.models.googlenet.BasicConv2d: conv (no bias) -> BN -> ReLU."""

    def __init__(self, cin, cout, k, stride=1, padding=0, eps=1e-3):
        super().__init__(tnn.Conv2d(cin, cout, k, stride, padding, bias=False),
                         tnn.BatchNorm2d(cout, eps=eps), tnn.ReLU())


class TorchInception(tnn.Module):
    """torchvision.models.googlenet.Inception (``k3=3``: its "5x5" branch is 3x3)."""

    def __init__(self, cin, ch1, ch3r, ch3, ch5r, ch5, proj, k3=3, eps=1e-3):
        super().__init__()
        self.branch1 = TorchConv(cin, ch1, 1, eps=eps)
        self.branch2 = tnn.Sequential(TorchConv(cin, ch3r, 1, eps=eps),
                                      TorchConv(ch3r, ch3, 3, padding=1, eps=eps))
        self.branch3 = tnn.Sequential(TorchConv(cin, ch5r, 1, eps=eps),
                                      TorchConv(ch5r, ch5, k3, padding=k3 // 2, eps=eps))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                      TorchConv(cin, proj, 1, eps=eps))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def torch_googlenet(c: GoogLeNetConfig):
    """torchvision.models.GoogLeNet(aux_logits=False, transform_input=False), in torch.nn."""

    def block(cin, name):
        return TorchInception(cin, *GOOGLENET_BLOCKS[name], k3=c.branch3_kernel, eps=c.eps)

    pool = dict(stride=2, ceil_mode=True)
    return tnn.Sequential(
        TorchConv(c.in_channels, 64, 7, 2, 3), tnn.MaxPool2d(3, **pool),
        TorchConv(64, 64, 1), TorchConv(64, 192, 3, padding=1), tnn.MaxPool2d(3, **pool),
        block(192, "3a"), block(256, "3b"), tnn.MaxPool2d(3, **pool),
        block(480, "4a"), block(512, "4b"), block(512, "4c"), block(512, "4d"), block(528, "4e"),
        tnn.MaxPool2d(2, **pool),
        block(832, "5a"), block(832, "5b"),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Dropout(c.dropout),
        tnn.Linear(1024, c.num_classes),
    )  # fmt: skip


def torch_inception_net(c: InceptionNetConfig):
    layers, channels = [TorchConv(c.in_channels, c.stem, 3, padding=1, eps=1e-5)], c.stem
    for g, group in enumerate(c.groups):
        if g > 0:
            layers.append(tnn.MaxPool2d(2, 2))
        for spec in group:
            layers.append(TorchInception(channels, *spec, k3=5, eps=1e-5))
            channels = spec[0] + spec[2] + spec[4] + spec[5]
    return tnn.Sequential(*layers, tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Dropout(c.dropout),
                          tnn.Linear(channels, c.num_classes))


def test_googlenet_matches_torchvision():
    nerve.manual_seed(0)
    model = build("googlenet", (3, 224, 224), 1000)
    with torch.device("meta"):
        twin = torch_googlenet(GoogLeNetConfig())
    assert count(model) == TORCHVISION_GOOGLENET == count(twin)
    assert parameter_shapes(model) == parameter_shapes(twin)
    ours = nerve_layer_shapes(model, nerve.randn(1, 3, 224, 224))
    theirs = torch_layer_shapes(twin, torch.empty(1, 3, 224, 224, device="meta"))
    assert ours == theirs
    for shape in [(1, 64, 56, 56), (1, 192, 28, 28), (1, 480, 14, 14), (1, 832, 7, 7),
                  (1, 1024, 1, 1), (1, 1000)]:  # the rounded-up pools: 112 -> 56, not 55
        assert shape in ours
    # torchvision's init: truncated N(0, 0.01^2) on the convolutions and the classifier
    assert abs(model.fc.weight.detach().numpy().std() - 0.01) < 1e-3
    del model, twin


def test_googlenet_with_the_papers_5x5_branch():
    nerve.manual_seed(0)
    model = GoogLeNet(GoogLeNetConfig(num_classes=10, branch3_kernel=5))
    twin = torch_googlenet(GoogLeNetConfig(num_classes=10, branch3_kernel=5))
    # each "5x5" branch holds ch5x5red * ch5x5 * (25 - 9) more weights than torchvision's
    extra = sum(s[3] * s[4] * 16 for s in GOOGLENET_BLOCKS.values())
    assert count(model) == count(twin) == TORCHVISION_GOOGLENET - 1000 * 1025 + 10 * 1025 + extra
    randomize_batchnorm(model)
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    assert_same_logits(model, twin, x, atol=1e-5)


def test_inception_block_concatenates_its_branches():
    nerve.manual_seed(0)
    block = Inception(8, 4, 6, 8, 2, 3, 5).eval()  # 4 + 8 + 3 + 5 = 20 channels
    x = nerve.randn(2, 8, 6, 6)
    out = block(x)
    assert block.out_channels == 20 and out.shape == (2, 20, 6, 6)
    parts = [block.branch1(x), block.branch2(x), block.branch3(x), block.branch4(x)]
    np.testing.assert_array_equal(out.detach().numpy(),
                                  np.concatenate([p.detach().numpy() for p in parts], axis=1))
    assert block.branch3[1].conv.kernel_size == (5, 5)  # the paper's window


def test_registered_small_inception_net_equals_its_torch_twin():
    nerve.manual_seed(0)
    model = build("inception", (1, 8, 8), 10)
    twin = torch_inception_net(model.config)
    assert count(model) == count(twin) == 46_754
    assert parameter_shapes(model) == parameter_shapes(twin)
    randomize_batchnorm(model)
    x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    shapes = nerve_layer_shapes(model, nerve.tensor(x))
    assert shapes == torch_layer_shapes(twin, torch.tensor(x)) and shapes[-1] == (4, 10)
    assert_same_logits(model, twin, x)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="inception expects image inputs"):
        build("inception", (64,), 10)
    with pytest.raises(ValueError, match="googlenet expects image inputs"):
        build("googlenet", (64,), 10)
    with pytest.raises(ValueError, match="at least 15x15.*use 'inception'"):
        build("googlenet", (1, 8, 8), 10)
    model = build("googlenet", (1, 15, 15), 10).eval()  # the smallest it takes, as torchvision's
    with nerve.no_grad():
        assert model(nerve.randn(2, 1, 15, 15)).shape == (2, 10)


def test_loss_falls_in_a_short_run():
    nerve.manual_seed(0)
    x, y = digits_batch(64)
    model = build("inception", (1, 8, 8), 10, dropout=0.0)
    losses = losses_of_short_run(model, x, y, steps=20, lr=3e-3)
    assert losses[-1] < 0.2 * losses[0], losses[::5]
