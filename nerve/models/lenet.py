"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998): two convolution + pooling stages, then three
dense layers. The first network to learn its own features for reading digits.

A convolution slides one small filter over the whole image, so a stroke is detected wherever it
is (weight sharing), with k*k*C weights per map instead of H*W*C; pooling then keeps the strongest
response in each 2x2 window, which halves the image and tolerates small shifts:

    out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j] x[n, c, y + i - p, x + j - p]

    x (N, C, H, W)
    -> conv k x k (c1) -> ReLU -> maxpool 2      # (N, c1, H/2, W/2)
    -> conv k x k (c2) -> ReLU -> maxpool 2      # (N, c2, side, side)
    -> flatten -> 120 -> ReLU -> 84 -> ReLU -> num_classes

The classic form reads 1x28x28 with 5x5 kernels (padding 2 on the first, none on the second:
28 -> 14 -> 10 -> 5) and 6 and 16 feature maps: 61,706 parameters for 10 classes. For the 8x8
digits the kernels are 3x3 with padding 1 so each stage just halves the image: 8 -> 4 -> 2.
``channels`` and ``dropout`` (before each hidden dense layer) widen and regularize it; the
``nerve demo`` model is channels (16, 32) with dropout 0.25 (31,294 parameters).

NOTE: the 1998 network squashed with scaled tanh and subsampled by a trained average; ReLU and
max-pooling are the modern reading that every course (and torchvision-era code) uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from nerve import nn
from nerve.models.registry import register


@dataclass
class LeNet5Config:
    in_channels: int = 1
    num_classes: int = 10
    image_size: int = 28  # H = W of the input
    kernel_size: int = 5
    channels: tuple = (6, 16)  # feature maps of the two convolutions
    hidden: tuple = (120, 84)  # the two hidden dense layers
    dropout: float = 0.0  # before each hidden dense layer


class LeNet5(nn.Module):
    def __init__(self, config: LeNet5Config | None = None):
        super().__init__()
        config = config or LeNet5Config()
        if len(config.channels) != 2 or len(config.hidden) != 2:
            raise ValueError(
                f"LeNet5: channels and hidden need 2 entries each, got channels="
                f"{tuple(config.channels)} and hidden={tuple(config.hidden)}"
            )
        self.config = config
        c1, c2 = config.channels
        h1, h2 = config.hidden
        k = config.kernel_size
        pad = k // 2
        self.conv1 = nn.Conv2d(config.in_channels, c1, k, padding=pad)
        self.pool1 = nn.MaxPool2d(2)
        # NOTE: the classic second convolution is 'valid' (14 -> 10); small images keep their size.
        pad2 = 0 if config.image_size >= 28 else pad
        self.conv2 = nn.Conv2d(c1, c2, k, padding=pad2)
        self.pool2 = nn.MaxPool2d(2)
        side = (config.image_size // 2 - (k - 1 if pad2 == 0 else 0)) // 2
        if side < 1:
            raise ValueError(f"LeNet5: image_size {config.image_size} is too small for {k}x{k}")
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * side * side, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.fc3 = nn.Linear(h2, config.num_classes)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x):  # x: (N, C, H, W)
        x = self.pool1(self.act(self.conv1(x)))  # (N, c1, H/2, W/2)
        x = self.pool2(self.act(self.conv2(x)))  # (N, c2, side, side)
        x = self.flatten(x)  # (N, c2 * side * side)
        x = self.act(self.fc1(self.drop(x)))  # (N, 120)
        x = self.act(self.fc2(self.drop(x)))  # (N, 84)
        return self.fc3(x)  # (N, num_classes) logits


@register("lenet5", "LeNet-5 CNN (two conv+pool stages, three dense layers)", inputs="image")
def build_lenet5(in_shape, num_classes, channels=(6, 16), dropout=0.0):
    if len(in_shape) != 3:
        raise ValueError(f"lenet5 expects image inputs (C, H, W), got shape {tuple(in_shape)}")
    in_channels, height, _ = in_shape
    kernel = 5 if height >= 28 else 3
    return LeNet5(LeNet5Config(in_channels, num_classes, height, kernel, tuple(channels),
                               dropout=dropout))
