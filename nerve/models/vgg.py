"""VGG (Simonyan & Zisserman, 2014, "Very Deep Convolutional Networks"): depth from 3x3 stacks.

Only 3x3 convolutions (padding 1, so they keep the size) and 2x2 max-pools that halve it. Two
stacked 3x3 layers see a 5x5 window with 2 * 9 C^2 = 18 C^2 weights instead of 25 C^2, three see
7x7 with 27 C^2 instead of 49 C^2, and each layer adds a nonlinearity. A stage is a few
convolutions at one width, then a pool ("M"); the width doubles per stage up to 512:

    VGG-11: 64 M 128 M 256 256 M 512 512 M 512 512 M
    VGG-16: 64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M

    x (N, 3, 224, 224) -> features              # (N, 512, 7, 7): five pools, 224 / 2^5
    -> adaptive avgpool 7x7 -> flatten          # (N, 25088)
    -> 4096 -> ReLU -> dropout -> 4096 -> ReLU -> dropout -> num_classes

Parameters for 1000 classes, torchvision's layout (``batch_norm=True``: conv -> BN -> ReLU, as
torchvision's ``vgg11_bn``, adds a scale and a shift per channel):

    VGG-11: 132,863,336    VGG-11-BN: 132,868,840
    VGG-16: 138,357,544    VGG-16-BN: 138,365,992

Nearly 90% of them sit in the first dense layer (25088 x 4096 = 102.8M): the convolutions are
cheap in weights and expensive in arithmetic. The initialization is torchvision's: He-normal
(fan_out) convolutions, N(0, 0.01^2) dense weights, zero biases.

For small images the builder divides the widths, adds BatchNorm, uses a narrow classifier on a
1x1 grid, and leaves out the pools that would shrink the image below 1x1 (8x8 keeps 3 of 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from nerve import nn
from nerve.models.registry import register

LAYOUTS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}  # fmt: skip


@dataclass
class VGGConfig:
    depth: int = 16  # 11, 13, 16 or 19 weight layers
    in_channels: int = 3
    num_classes: int = 1000
    batch_norm: bool = False
    width_divisor: int = 1  # every convolution's width is divided by this
    hidden: int = 4096  # width of the two dense hidden layers
    pool_size: int = 7  # the adaptive average pool's output side
    dropout: float = 0.5
    image_size: int = 224  # pools that would go below 1x1 are left out
    # torchvision's N(0, 0.01^2) for the dense weights; None keeps nn.Linear's own
    # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which a narrow classifier needs (see ``_build``)
    linear_std: float | None = 0.01


class VGG(nn.Module):
    def __init__(self, config: VGGConfig):
        super().__init__()
        if config.depth not in LAYOUTS:
            raise ValueError(f"VGG: depth must be one of {sorted(LAYOUTS)}, got {config.depth!r}")
        self.config = config
        layers, channels, side = [], config.in_channels, config.image_size
        for item in LAYOUTS[config.depth]:
            if item == "M":
                if side >= 2:  # NOTE: an 8x8 image has room for 3 of the 5 pools
                    layers.append(nn.MaxPool2d(2, 2))
                    side //= 2
                continue
            width = max(8, item // config.width_divisor)
            layers.append(nn.Conv2d(channels, width, 3, padding=1))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU())
            channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(config.pool_size)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(channels * config.pool_size**2, config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )  # fmt: skip
        self.reset_parameters()

    def reset_parameters(self):
        # torchvision's VGG initialization (its ``_initialize_weights``)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear) and self.config.linear_std is not None:
                nn.init.normal_(m.weight, 0.0, self.config.linear_std)
                nn.init.zeros_(m.bias)

    def forward(self, x):  # x: (N, C, H, W)
        x = self.features(x)  # (N, 512 / width_divisor, H / 2^pools, W / 2^pools)
        x = self.flatten(self.avgpool(x))  # (N, channels * pool_size^2)
        return self.classifier(x)  # (N, num_classes) logits


def vgg11(in_channels=3, num_classes=1000, batch_norm=False):
    """VGG-11 (configuration "A"), torchvision's layout for 224x224 images."""
    return VGG(VGGConfig(11, in_channels, num_classes, batch_norm))


def vgg16(in_channels=3, num_classes=1000, batch_norm=False):
    """VGG-16 (configuration "D"), torchvision's layout for 224x224 images."""
    return VGG(VGGConfig(16, in_channels, num_classes, batch_norm))


def _build(depth, in_shape, num_classes, width_divisor, hidden, dropout):
    if len(in_shape) != 3:
        raise ValueError(f"vgg{depth} expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    channels, height, width = in_shape
    if min(height, width) >= 64:
        return VGG(VGGConfig(depth, channels, num_classes, image_size=min(height, width)))
    # NOTE: std 0.01 suits 4096-wide layers (~0.6 / sqrt(fan_in)); on a 128-wide classifier it is
    # ~10x too small and the network stalls (measured: VGG-16's loss on 64 digits stuck at 1.3).
    return VGG(VGGConfig(depth, channels, num_classes, True, width_divisor, hidden, 1, dropout,
                         min(height, width), linear_std=None))


@register("vgg11", "VGG-11 (Simonyan 2014); narrow, with BatchNorm, for images under 64 px",
          inputs="image")
def build_vgg11(in_shape, num_classes, width_divisor=8, hidden=128, dropout=0.3):
    return _build(11, in_shape, num_classes, width_divisor, hidden, dropout)


@register("vgg16", "VGG-16 (Simonyan 2014); narrow, with BatchNorm, for images under 64 px",
          inputs="image")
def build_vgg16(in_shape, num_classes, width_divisor=8, hidden=128, dropout=0.3):
    return _build(16, in_shape, num_classes, width_divisor, hidden, dropout)
