"""Inception (Szegedy et al., 2014, "Going Deeper with Convolutions"): GoogLeNet's block.

Which window size should a layer use? An Inception block uses several at once, side by side, and
concatenates what they find along the channels. 1x1 convolutions first reduce the channels, so
the wide 3x3 and 5x5 branches stay cheap:

    x (N, C, H, W) -+-> 1x1 (ch1x1)                        -+
                    +-> 1x1 (ch3x3red) -> 3x3 (ch3x3)       +-> cat -> (N, ch1x1 + ch3x3 +
                    +-> 1x1 (ch5x5red) -> 5x5 (ch5x5)       |          ch5x5 + pool_proj, H, W)
                    +-> maxpool 3x3/1 -> 1x1 (pool_proj)   -+

Every branch keeps H x W (padding), which is what lets them be concatenated. Each convolution is
conv -> BatchNorm -> ReLU (as in torchvision's GoogLeNet; BatchNorm came a year after the paper).
NOTE: torchvision's GoogLeNet uses 3x3 in the "5x5" branch (a known slip it keeps for its weights);
this file follows the paper.

``InceptionNet`` is a small GoogLeNet for small images: a 3x3 stem, Inception blocks with a 2x2
max-pool between groups, global average pooling, dropout and a linear classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nerve
from nerve import nn
from nerve.models.registry import register


class ConvBlock(nn.Module):
    """conv (no bias: BatchNorm shifts) -> BatchNorm -> ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x):  # x: (N, C_in, H, W) -> (N, C_out, H, W) with "same" padding
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = ConvBlock(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(
            ConvBlock(in_channels, ch3x3red, 1), ConvBlock(ch3x3red, ch3x3, 3, padding=1)
        )
        self.branch3 = nn.Sequential(
            ConvBlock(in_channels, ch5x5red, 1), ConvBlock(ch5x5red, ch5x5, 5, padding=2)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), ConvBlock(in_channels, pool_proj, 1)
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):  # x: (N, C, H, W)
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return nerve.cat(branches, dim=1)  # (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)


@dataclass
class InceptionNetConfig:
    in_channels: int = 1
    num_classes: int = 10
    stem: int = 32  # channels of the 3x3 stem
    # groups of Inception blocks, each block (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj);
    # a 2x2 max-pool follows every group but the last
    groups: list = field(
        default_factory=lambda: [
            [(16, 16, 24, 4, 8, 8), (24, 24, 32, 8, 16, 16)],  # -> 56, -> 88 channels
            [(32, 32, 48, 8, 16, 16)],  # -> 112 channels
        ]
    )
    dropout: float = 0.2


class InceptionNet(nn.Module):
    def __init__(self, config: InceptionNetConfig):
        super().__init__()
        self.config = config
        self.stem = ConvBlock(config.in_channels, config.stem, 3, padding=1)
        layers, channels = [], config.stem
        for g, group in enumerate(config.groups):
            if g > 0:
                layers.append(nn.MaxPool2d(2, 2))
            for spec in group:
                block = Inception(channels, *spec)
                layers.append(block)
                channels = block.out_channels
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(channels, config.num_classes)

    def forward(self, x):  # x: (N, C, H, W)
        x = self.stem(x)  # (N, stem, H, W)
        x = self.blocks(x)  # (N, channels, H / 2^(groups-1), W / 2^(groups-1))
        x = self.flatten(self.pool(x))  # (N, channels)
        return self.fc(self.dropout(x))  # (N, num_classes) logits


@register("inception", "small GoogLeNet-style network of Inception blocks", inputs="image")
def build_inception(in_shape, num_classes, stem=32, dropout=0.2):
    if len(in_shape) != 3:
        raise ValueError(f"inception expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    return InceptionNet(InceptionNetConfig(in_shape[0], num_classes, stem, dropout=dropout))
