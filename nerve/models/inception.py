"""Inception (Szegedy et al., 2014, "Going Deeper with Convolutions"): GoogLeNet's block.

Which window size should a layer use? An Inception block uses several at once, side by side, and
concatenates what they find along the channels. 1x1 convolutions first reduce the channels, so
the wide 3x3 and 5x5 branches stay cheap: in block 3a, a 5x5 convolution from 192 to 32 channels
would hold 25 * 192 * 32 = 153,600 weights; through a 1x1 reduction to 16 it is
192 * 16 + 25 * 16 * 32 = 15,872.

    x (N, C, H, W) -+-> 1x1 (ch1x1)                        -+
                    +-> 1x1 (ch3x3red) -> 3x3 (ch3x3)       +-> cat -> (N, ch1x1 + ch3x3 +
                    +-> 1x1 (ch5x5red) -> 5x5 (ch5x5)       |          ch5x5 + pool_proj, H, W)
                    +-> maxpool 3x3/1 -> 1x1 (pool_proj)   -+

Every branch keeps H x W (padding), which is what lets them be concatenated. Each convolution is
conv -> BatchNorm -> ReLU (as in torchvision's GoogLeNet; BatchNorm came a year after the paper).

``GoogLeNet`` is the full network of the paper's Table 1, in torchvision's layout (for 224x224):

    x (N, 3, 224, 224)
    -> conv 7x7/2 (64) -> maxpool 3/2                       # (N, 64, 56, 56)
    -> conv 1x1 (64) -> conv 3x3 (192) -> maxpool 3/2       # (N, 192, 28, 28)
    -> inception 3a, 3b -> maxpool 3/2                      # (N, 480, 14, 14)
    -> inception 4a, 4b, 4c, 4d, 4e -> maxpool 2/2          # (N, 832, 7, 7)
    -> inception 5a, 5b                                     # (N, 1024, 7, 7)
    -> global avgpool -> dropout 0.2 -> linear              # (N, num_classes)
                                            6,624,904 parameters for 1000 classes

The pools round up (``ceil_mode``: 112 -> 56, not 55). The paper's two auxiliary classifiers (on
4a and 4d, used only in training) are left out, as torchvision leaves them out of its weights.
NOTE: torchvision's "5x5" branch is a 3x3 convolution (a slip it keeps for its pretrained
weights); ``GoogLeNetConfig(branch3_kernel=3)``, the default, reproduces that layout and its
parameter count; ``branch3_kernel=5`` is the paper's.

``InceptionNet`` is a small GoogLeNet for small images: a 3x3 stem, Inception blocks with a 2x2
max-pool between groups, global average pooling, dropout and a linear classifier; its blocks use
the paper's 5x5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nerve
from nerve import nn
from nerve.models.registry import register


class ConvBlock(nn.Module):
    """conv (no bias: BatchNorm shifts) -> BatchNorm -> ReLU (torchvision's ``BasicConv2d``)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=eps)
        self.relu = nn.ReLU()

    def forward(self, x):  # x: (N, C_in, H, W) -> (N, C_out, H, W) with "same" padding
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches side by side, concatenated along the channels (see the module docstring).

    ``branch3_kernel``: the window of the "5x5" branch (5 in the paper, 3 in torchvision).
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 branch3_kernel=5, eps=1e-5):
        super().__init__()
        k = branch3_kernel
        self.branch1 = ConvBlock(in_channels, ch1x1, 1, eps=eps)
        self.branch2 = nn.Sequential(
            ConvBlock(in_channels, ch3x3red, 1, eps=eps),
            ConvBlock(ch3x3red, ch3x3, 3, padding=1, eps=eps),
        )
        self.branch3 = nn.Sequential(
            ConvBlock(in_channels, ch5x5red, 1, eps=eps),
            ConvBlock(ch5x5red, ch5x5, k, padding=k // 2, eps=eps),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            ConvBlock(in_channels, pool_proj, 1, eps=eps),
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


# The paper's Table 1: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) per block.
GOOGLENET_BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32),  # 192 -> 256 channels
    "3b": (128, 128, 192, 32, 96, 64),  # -> 480
    "4a": (192, 96, 208, 16, 48, 64),  # -> 512
    "4b": (160, 112, 224, 24, 64, 64),  # -> 512
    "4c": (128, 128, 256, 24, 64, 64),  # -> 512
    "4d": (112, 144, 288, 32, 64, 64),  # -> 528
    "4e": (256, 160, 320, 32, 128, 128),  # -> 832
    "5a": (256, 160, 320, 32, 128, 128),  # -> 832
    "5b": (384, 192, 384, 48, 128, 128),  # -> 1024
}


@dataclass
class GoogLeNetConfig:
    in_channels: int = 3
    num_classes: int = 1000
    branch3_kernel: int = 3  # torchvision's; the paper's is 5
    dropout: float = 0.2
    eps: float = 1e-3  # BatchNorm's epsilon, torchvision's value


class GoogLeNet(nn.Module):
    def __init__(self, config: GoogLeNetConfig | None = None):
        super().__init__()
        config = config or GoogLeNetConfig()
        self.config = config
        eps, k = config.eps, config.branch3_kernel

        def block(in_channels, name):
            return Inception(in_channels, *GOOGLENET_BLOCKS[name], branch3_kernel=k, eps=eps)

        self.conv1 = ConvBlock(config.in_channels, 64, 7, stride=2, padding=3, eps=eps)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = ConvBlock(64, 64, 1, eps=eps)
        self.conv3 = ConvBlock(64, 192, 3, padding=1, eps=eps)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = block(192, "3a")
        self.inception3b = block(256, "3b")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = block(480, "4a")
        self.inception4b = block(512, "4b")
        self.inception4c = block(512, "4c")
        self.inception4d = block(512, "4d")
        self.inception4e = block(528, "4e")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = block(832, "5a")
        self.inception5b = block(832, "5b")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(1024, config.num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        # torchvision's: truncated N(0, 0.01^2) weights for convolutions and the classifier
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.01, a=-2.0, b=2.0)

    def forward(self, x):  # x: (N, C, 224, 224)
        x = self.maxpool1(self.conv1(x))  # (N, 64, 56, 56)
        x = self.maxpool2(self.conv3(self.conv2(x)))  # (N, 192, 28, 28)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (N, 480, 14, 14)
        x = self.inception4a(x)  # (N, 512, 14, 14)
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, 14, 14)
        x = self.maxpool4(self.inception4e(x))  # (N, 832, 7, 7)
        x = self.inception5b(self.inception5a(x))  # (N, 1024, 7, 7)
        x = self.flatten(self.avgpool(x))  # (N, 1024)
        return self.fc(self.dropout(x))  # (N, num_classes) logits


@register("googlenet", "GoogLeNet (Szegedy et al. 2014; torchvision's layout, no aux heads)",
          inputs="image")
def build_googlenet(in_shape, num_classes, dropout=0.2):
    if len(in_shape) != 3:
        raise ValueError(f"googlenet expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    if min(in_shape[1:]) < 15:  # its five strided layers take 15 -> 8 -> 4 -> 2 -> 1 -> 1
        raise ValueError(
            f"googlenet needs images of at least 15x15, got {tuple(in_shape[1:])}; for small "
            "images use 'inception', a small GoogLeNet-style network"
        )
    return GoogLeNet(GoogLeNetConfig(in_shape[0], num_classes, dropout=dropout))


@register("inception", "small GoogLeNet-style network of Inception blocks", inputs="image")
def build_inception(in_shape, num_classes, stem=32, dropout=0.2):
    if len(in_shape) != 3:
        raise ValueError(f"inception expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    return InceptionNet(InceptionNetConfig(in_shape[0], num_classes, stem, dropout=dropout))
