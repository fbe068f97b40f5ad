"""A Vision Transformer (Dosovitskiy et al., 2020) learns the 8x8 handwritten digits.

Each 8x8 digit is cut into a 4x4 grid of 2x2 patches; each patch is embedded linearly, a learned
class token goes in front, learned position embeddings are added, and four pre-norm Transformer
blocks let every token attend to every other; the class token's final state is classified.
Recipe: AdamW (lr 2e-3, weight decay 0.05) with a cosine schedule, label smoothing 0.1, dropout
0.2; no augmentation (shifting the digits by a pixel cuts across the 2x2 patches, and this small
ViT then underfits: measured 96-97% with shifts). Writes the test
accuracy per epoch and, for a few test digits, where the class token looks in the last block
(its attention over the 16 patches, averaged over the heads) to examples/output/vit_digits.png.
About a minute on 2 cores:

    python examples/vit_digits.py [--epochs EPOCHS] [--seed 0]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import nerve
from nerve import nn, optim
from nerve.data import DataLoader
from nerve.datasets import load_digits
from nerve.models import build
from nerve.optim.lr_scheduler import CosineAnnealingLR

OUT = Path(__file__).parent / "output"


RECIPE = dict(epochs=30, lr=2e-3, weight_decay=0.05, label_smoothing=0.1)
MODEL = dict(dropout=0.2)


def accuracy(model, x, y):
    model.eval()
    with nerve.no_grad():
        predicted = model(x).argmax(-1)
    return (predicted == y).float().mean().item(), predicted.numpy()


def class_token_attention(model, x):
    """The last block's attention from the class token to each patch, averaged over the heads:
    softmax(q_cls . k_j / sqrt(d_head)) for x: (N, 1, H, W) -> (N, H/P, W/P)."""
    block, c = model.blocks[-1], model.config
    seen = []
    handle = block.ln_1.register_forward_hook(lambda m, i, out: seen.append(out.numpy()))
    with nerve.no_grad():
        model(x)
    handle.remove()
    h = seen[0]  # (N, T+1, D): the normalized input of the last block's attention
    w, b = block.attn.qkv.weight.detach().numpy(), block.attn.qkv.bias.detach().numpy()
    q, k, _ = np.split(h @ w.T + b, 3, axis=-1)  # 3 x (N, T+1, D)
    n, t, d = q.shape
    q = q.reshape(n, t, c.heads, d // c.heads).transpose(0, 2, 1, 3)  # (N, heads, T+1, D/heads)
    k = k.reshape(n, t, c.heads, d // c.heads).transpose(0, 2, 1, 3)
    scores = q[:, :, :1] @ k.transpose(0, 1, 3, 2) / np.sqrt(d // c.heads)  # (N, heads, 1, T+1)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    side = c.image_size // c.patch_size
    return weights[:, :, 0, 1:].mean(1).reshape(n, side, side)  # the patches, not the cls itself


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves

    nerve.manual_seed(args.seed)
    train_set, test_set = load_digits(flatten=False, test_fraction=0.25)  # (N, 1, 8, 8) in [0, 1]
    x_test, y_test = test_set.tensors
    model = build("vit", (1, 8, 8), 10, **MODEL)
    params = sum(p.numel() for p in model.parameters())
    print(f"ViT: {params:,} parameters, {model.num_patches} patches + a class token; "
          f"{len(train_set)} training / {len(test_set)} test digits")

    opt = optim.AdamW(model.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"])
    loader = DataLoader(train_set, batch_size=32, shuffle=True,
                        generator=nerve.Generator().manual_seed(args.seed + 1))
    schedule = CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=RECIPE["label_smoothing"])
    curve, start = [], time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
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
    print(f"\ntest accuracy {final:.2%}, {params:,} parameters, trained in {seconds:.0f} s")
    attention = class_token_attention(model, x_test[:8])
    draw(curve, x_test.numpy()[:8, 0], y_test.numpy()[:8], predicted[:8], attention)


def draw(curve, images, labels, predicted, attention):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no picture)")
        return
    fig = plt.figure(figsize=(11, 4.8))
    grid = fig.add_gridspec(2, 7)
    ax = fig.add_subplot(grid[:, :3])
    ax.plot(range(1, len(curve) + 1), curve)
    ax.axhline(0.97, color="gray", linestyle="--", label="bar: 97%")
    ax.set_ylim(0.5, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("ViT on the 8x8 digits")
    ax.legend(loc="lower right")
    for k in range(len(images)):  # 8 digits in a 2 x 4 block on the right
        sub = fig.add_subplot(grid[k // 4, 3 + k % 4])
        sub.imshow(images[k], cmap="gray_r", vmin=0, vmax=1)
        # the attention over the 4x4 patch grid, drawn over the digit (each patch is 2x2 pixels)
        sub.imshow(np.kron(attention[k], np.ones((2, 2))), cmap="Reds", alpha=0.45)
        sub.set_title(f"{labels[k]} -> {predicted[k]}", fontsize=9)
        sub.axis("off")
    fig.suptitle("right: where the class token looks in the last block (red: more attention)",
                 fontsize=9, x=0.72)
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "vit_digits.png", dpi=120)
    print(f"wrote {OUT / 'vit_digits.png'}")


if __name__ == "__main__":
    main()
