"""ResNet (He et al., 2015, "Deep Residual Learning for Image Recognition"): y = relu(F(x) + x).

A residual block learns the change F(x) to its input instead of a whole new mapping. Because
dy/dx = I + dF/dx, the gradient reaches the first layers through the shortcuts even when F's own
Jacobian is small, so a deep stack can start out as (nearly) the identity and still train.
``BasicBlock`` is the two-convolution block of ResNet-18/34:

    x -> conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN --(+)--> ReLU -> y
    x -------------- shortcut: identity, or conv1x1(stride) -> BN --^

BN is batch normalization (Ioffe & Szegedy, 2015): per channel, (x - mean) / sqrt(var + eps)
over the batch and the image (running averages in eval mode), then a learned scale and shift.
The shortcut projects (a strided 1x1 convolution, "option B") only where F changes the shape.

Two stems:
    "imagenet": conv7x7/2 -> BN -> ReLU -> maxpool3x3/2   # 224 -> 56 (ResNet-18/34, torchvision)
    "cifar":    conv3x3/1 -> BN -> ReLU                   # keeps small images' size (He et al. 4.2)

then one stage per entry of ``layers`` (the first keeps the size, each later one halves it with a
stride-2 first block and widens), global average pooling and a linear classifier:

    x (N, 3, 224, 224) -> stem (N, 64, 56, 56) -> stages (N, 512, 7, 7) -> pool, fc (N, 1000)

    ResNet-18: layers (2, 2, 2, 2), widths (64, 128, 256, 512) -> 11,689,512 parameters
    ResNet-34: layers (3, 4, 6, 3), same widths                -> 21,797,672 parameters
    small CIFAR-style ("resnet"): layers (2, 2, 2), widths (16, 32, 64), cifar stem
        x (N, 1, 8, 8) -> (N, 16, 8, 8) -> (N, 32, 4, 4) -> (N, 64, 2, 2) -> (N, 10)
                                                            -> 174,970 parameters for 10 classes

(1000 classes for the first two: torchvision's layout and counts.)
"""

from __future__ import annotations

from dataclasses import dataclass

from nerve import nn
from nerve.models.registry import register


@dataclass
class ResNetConfig:
    in_channels: int = 3
    num_classes: int = 1000
    layers: tuple = (2, 2, 2, 2)  # BasicBlocks per stage
    widths: tuple = (64, 128, 256, 512)  # channels per stage
    stem: str = "imagenet"  # "imagenet" (7x7/2 + maxpool) or "cifar" (3x3/1)
    dropout: float = 0.0  # before the classifier


def conv3x3(in_channels, out_channels, stride=1):
    # NOTE: no bias: the BatchNorm that follows has its own shift.
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            # the shortcut must match F(x)'s shape: a strided 1x1 projection ("option B")
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):  # x: (N, C_in, H, W) -> (N, C_out, H/stride, W/stride)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, config: ResNetConfig):
        super().__init__()
        if config.stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {config.stem!r}")
        if len(config.layers) != len(config.widths) or not config.layers:
            raise ValueError(
                f"ResNet: layers and widths need one entry per stage, got layers={config.layers} "
                f"and widths={config.widths}"
            )
        self.config = config
        width = config.widths[0]
        if config.stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(config.in_channels, width, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        else:
            self.stem = nn.Sequential(
                conv3x3(config.in_channels, width), nn.BatchNorm2d(width), nn.ReLU()
            )
        stages = []
        for i, (blocks, out_width) in enumerate(zip(config.layers, config.widths)):
            stride = 1 if i == 0 else 2
            stage = [BasicBlock(width, out_width, stride)]
            stage += [BasicBlock(out_width, out_width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            width = out_width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(width, config.num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        # He et al.'s initialization for ReLU networks, as torchvision does.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # x: (N, C, H, W)
        x = self.stem(x)  # (N, w0, H, W) cifar; (N, w0, H/4, W/4) imagenet
        x = self.stages(x)  # (N, w_last, H / 2^(stages-1), ...) for the cifar stem
        x = self.flatten(self.pool(x))  # (N, w_last)
        return self.fc(self.dropout(x))  # (N, num_classes) logits


def resnet18(in_channels=3, num_classes=1000):
    return ResNet(ResNetConfig(in_channels, num_classes, (2, 2, 2, 2)))


def resnet34(in_channels=3, num_classes=1000):
    return ResNet(ResNetConfig(in_channels, num_classes, (3, 4, 6, 3)))


def _image_channels(name, in_shape):
    if len(in_shape) != 3:
        raise ValueError(f"{name} expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    return in_shape[0]


@register("resnet", "small CIFAR-style ResNet (3x3 stem, 3 stages of BasicBlocks)", inputs="image")
def build_resnet(in_shape, num_classes, layers=(2, 2, 2), widths=(16, 32, 64), dropout=0.0):
    channels = _image_channels("resnet", in_shape)
    return ResNet(ResNetConfig(channels, num_classes, tuple(layers), tuple(widths), "cifar", dropout))


@register("resnet18", "ResNet-18 (He et al. 2015; torchvision's layout)", inputs="image")
def build_resnet18(in_shape, num_classes):
    return resnet18(_image_channels("resnet18", in_shape), num_classes)


@register("resnet34", "ResNet-34 (He et al. 2015; torchvision's layout)", inputs="image")
def build_resnet34(in_shape, num_classes):
    return resnet34(_image_channels("resnet34", in_shape), num_classes)
