"""A small ResNet (He et al., 2015) learns the 8x8 handwritten digits.

The CIFAR-style ResNet of nerve.models.resnet: a 3x3 stem, three stages of two BasicBlocks
(16, 32, 64 maps; y = relu(F(x) + x)), global average pooling and a linear classifier, 174,970
parameters. Recipe: Adam (lr 3e-3, cosine schedule), label smoothing 0.1, dropout 0.2, and each
training image shifted by up to one pixel every time it is seen. Trains on the 1347 training
images of the fixed 75/25 split and reports accuracy on the 450 test images; writes the test
accuracy per epoch and the test digits it gets wrong to examples/output/cnn_digits_resnet.png.
About a minute on 2 cores:

    python examples/cnn_digits_resnet.py [--epochs 30] [--seed 0]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import nerve
from nerve import nn, optim
from nerve.data import DataLoader
from nerve.data.transforms import RandomShift
from nerve.datasets import load_digits
from nerve.models import build
from nerve.optim.lr_scheduler import CosineAnnealingLR

OUT = Path(__file__).parent / "output"


def accuracy(model, x, y):
    model.eval()
    with nerve.no_grad():
        predicted = model(x).argmax(-1)
    return (predicted == y).float().mean().item(), predicted.numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves

    nerve.manual_seed(args.seed)
    train_set, test_set = load_digits(flatten=False, test_fraction=0.25)  # (N, 1, 8, 8) in [0, 1]
    x_test, y_test = test_set.tensors
    model = build("resnet", (1, 8, 8), 10, dropout=0.2)
    params = sum(p.numel() for p in model.parameters())
    print(f"ResNet: {params:,} parameters; {len(train_set)} training / {len(test_set)} test digits")

    opt = optim.Adam(model.parameters(), lr=3e-3)
    schedule = CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    loader = DataLoader(train_set, batch_size=32, shuffle=True,
                        generator=nerve.Generator().manual_seed(args.seed + 1))
    shift = RandomShift(1)  # each image moves by -1, 0 or +1 pixel in each direction
    curve, start = [], time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(shift(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        schedule.step()
        curve.append(accuracy(model, x_test, y_test)[0])
        print(f"epoch {epoch + 1:2d}/{args.epochs}  loss {total / len(loader.dataset):.4f}  "
              f"test accuracy {curve[-1]:.4f}", flush=True)
    seconds = time.perf_counter() - start
    final, predicted = accuracy(model, x_test, y_test)
    wrong = np.flatnonzero(predicted != y_test.numpy())
    print(f"\ntest accuracy {final:.2%} ({len(wrong)} of {len(y_test)} wrong), {params:,} "
          f"parameters, trained in {seconds:.0f} s")
    draw(curve, x_test.numpy(), y_test.numpy(), predicted, wrong)


def draw(curve, images, labels, predicted, wrong):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no picture)")
        return
    shown = wrong[:12]
    fig = plt.figure(figsize=(10, 4))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3)
    ax.axhline(0.985, color="gray", linestyle="--", label="bar: 98.5%")
    ax.set_ylim(max(0.8, min(curve) - 0.01), 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("small ResNet on the 8x8 digits")
    ax.legend(loc="lower right")
    for k, i in enumerate(shown):
        sub = fig.add_subplot(3, 8, 8 * (k // 4) + 5 + k % 4)
        sub.imshow(images[i, 0], cmap="gray_r", vmin=0, vmax=1)
        sub.set_title(f"{labels[i]} -> {predicted[i]}", fontsize=9, color="crimson")
        sub.axis("off")
    if len(shown):
        fig.text(0.73, 0.95, "test digits it gets wrong (true -> predicted)", ha="center")
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "cnn_digits_resnet.png", dpi=120)
    print(f"wrote {OUT / 'cnn_digits_resnet.png'}")


if __name__ == "__main__":
    main()
