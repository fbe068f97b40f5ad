"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): the convolutional network that won ImageNet.

Five convolutions (ReLU; max-pooling after the 1st, 2nd and 5th), then three dense layers with
dropout. torchvision's single-GPU layout ("One weird trick", Krizhevsky 2014), for 3x224x224:

    x (N, 3, 224, 224)
    -> conv 11x11/4 (64)  -> ReLU -> maxpool 3/2      # (N, 64, 27, 27)
    -> conv 5x5 (192)     -> ReLU -> maxpool 3/2      # (N, 192, 13, 13)
    -> conv 3x3 (384) -> ReLU -> conv 3x3 (256) -> ReLU -> conv 3x3 (256) -> ReLU
    -> maxpool 3/2                                    # (N, 256, 6, 6)
    -> adaptive avgpool 6x6 -> flatten                # (N, 9216)
    -> dropout -> 4096 -> ReLU -> dropout -> 4096 -> ReLU -> num_classes
                                                      # 61,100,840 parameters for 1000 classes

What made it work in 2012: ReLU, max(0, x), which does not saturate as tanh does; dropout, which
zeroes each hidden unit with probability p in training (and scales the rest by 1 / (1 - p)), so
no unit can rely on another; and GPUs. The paper's local response normalization and its split
over two GPUs are left out, as torchvision leaves them out.

``small=True`` keeps the shape of the network for small images (8x8 digits, 32x32 CIFAR): 3x3
convolutions with stride 1, 2x2 pooling, widths divided by ``width_divisor``, a ``hidden``-wide
classifier on a ``pool_size`` x ``pool_size`` grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from nerve import nn
from nerve.models.registry import register


@dataclass
class AlexNetConfig:
    in_channels: int = 3
    num_classes: int = 1000
    widths: tuple = (64, 192, 384, 256, 256)  # the five convolutions
    hidden: int = 4096  # width of the two dense hidden layers
    pool_size: int = 6  # the adaptive average pool's output side
    dropout: float = 0.5
    small: bool = False  # 3x3/1 convolutions and 2x2 pools for small images


class AlexNet(nn.Module):
    def __init__(self, config: AlexNetConfig):
        super().__init__()
        if len(config.widths) != 5:
            raise ValueError(f"AlexNet: widths needs 5 entries, got {config.widths}")
        self.config = config
        c1, c2, c3, c4, c5 = config.widths
        if config.small:
            first = nn.Conv2d(config.in_channels, c1, 3, padding=1)
            second = nn.Conv2d(c1, c2, 3, padding=1)
            pool = nn.MaxPool2d
            pool_args = (2, 2)
        else:
            first = nn.Conv2d(config.in_channels, c1, 11, stride=4, padding=2)
            second = nn.Conv2d(c1, c2, 5, padding=2)
            pool = nn.MaxPool2d
            pool_args = (3, 2)
        self.features = nn.Sequential(
            first, nn.ReLU(), pool(*pool_args),
            second, nn.ReLU(), pool(*pool_args),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), pool(*pool_args),
        )  # fmt: skip
        self.avgpool = nn.AdaptiveAvgPool2d(config.pool_size)
        self.flatten = nn.Flatten()
        flat = c5 * config.pool_size * config.pool_size
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(flat, config.hidden), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, config.num_classes),
        )  # fmt: skip

    def forward(self, x):  # x: (N, C, H, W)
        x = self.features(x)  # (N, c5, H', W'): 6x6 at 224; 1x1 for 8x8 with small=True
        x = self.flatten(self.avgpool(x))  # (N, c5 * pool_size^2)
        return self.classifier(x)  # (N, num_classes) logits


@register("alexnet", "AlexNet (Krizhevsky 2012); a narrow 3x3 form for images under 64 px",
          inputs="image")
def build_alexnet(in_shape, num_classes, width_divisor=4, hidden=256, dropout=0.5):
    if len(in_shape) != 3:
        raise ValueError(f"alexnet expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    channels, height, width = in_shape
    if min(height, width) >= 64:
        return AlexNet(AlexNetConfig(channels, num_classes, dropout=dropout))
    widths = tuple(max(8, w // width_divisor) for w in AlexNetConfig.widths)
    # three 2x2 pools: 8 -> 1, 32 -> 4; average what is left down to at most 2x2
    pool_size = max(1, min(2, min(height, width) // 8))
    return AlexNet(AlexNetConfig(channels, num_classes, widths, hidden, pool_size, dropout, True))
