"""LeNet-5 (LeCun et al., 1998): two convolution + pooling stages, then three dense layers.

    x (N, C, H, W)
    -> conv k x k (6)  -> ReLU -> maxpool 2      # (N, 6, H/2, W/2)
    -> conv k x k (16) -> ReLU -> maxpool 2      # (N, 16, H/4, W/4)
    -> flatten -> 120 -> ReLU -> 84 -> ReLU -> num_classes

The classic form reads 1x28x28 (5x5 kernels, padding 2 on the first) with 6 and 16 feature maps;
for the 8x8 digits the kernels are 3x3 with padding 1 so each stage halves the image: 8 -> 4 -> 2.
``channels`` and ``dropout`` (before each hidden dense layer) widen and regularize it.
"""

from __future__ import annotations

from nerve import nn
from nerve.models.registry import register


class LeNet5(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, image_size=28, kernel_size=5,
                 channels=(6, 16), dropout=0.0):
        super().__init__()
        c1, c2 = channels
        pad = kernel_size // 2
        self.conv1 = nn.Conv2d(in_channels, c1, kernel_size, padding=pad)
        self.pool1 = nn.MaxPool2d(2)
        # The classic second convolution is 'valid' (28 -> 14 -> 10 -> 5); small images keep size.
        pad2 = 0 if image_size >= 28 else pad
        self.conv2 = nn.Conv2d(c1, c2, kernel_size, padding=pad2)
        self.pool2 = nn.MaxPool2d(2)
        side = (image_size // 2 - (kernel_size - 1 if pad2 == 0 else 0)) // 2
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x):  # x: (N, C, H, W)
        x = self.pool1(self.act(self.conv1(x)))  # (N, 6, H/2, W/2)
        x = self.pool2(self.act(self.conv2(x)))  # (N, 16, side, side)
        x = self.flatten(x)  # (N, c2 * side * side)
        x = self.act(self.fc1(self.drop(x)))
        x = self.act(self.fc2(self.drop(x)))
        return self.fc3(x)  # (N, num_classes) logits


@register("lenet5", "LeNet-5 CNN (two conv+pool stages, three dense layers)", inputs="image")
def build_lenet5(in_shape, num_classes, channels=(6, 16), dropout=0.0):
    if len(in_shape) != 3:
        raise ValueError(f"lenet5 expects image inputs (C, H, W), got shape {in_shape}")
    in_channels, height, _ = in_shape
    kernel = 5 if height >= 28 else 3
    return LeNet5(in_channels, num_classes, image_size=height, kernel_size=kernel,
                  channels=tuple(channels), dropout=dropout)
