"""``nerve demo``: the main job. A LeNet-5-style CNN learns the 8x8 handwritten digits."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="runs", help="parent directory of the run directory")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from nerve.commands.train import print_summary
    from nerve.train.run import train

    config = demo_config(args.epochs, args.seed, args.out)
    print("nerve demo: a LeNet-5-style CNN (two conv+pool stages, three dense layers) learns the "
          "8x8 handwritten digits\n(1347 training / 450 test images), on nerve's own autograd.\n")
    try:
        run_dir = train(config, verbose=not args.quiet)
    except ImportError as err:
        print(f"nerve demo: {err}", file=sys.stderr)
        return 2
    print_summary(run_dir)
    return 0


def demo_config(epochs=30, seed=0, out="runs"):
    """LeNet-5's shape with 16 and 32 feature maps, dropout and label smoothing: the 8x8 digits
    are few (1347 training images), so the regularizers are what lift test accuracy past 98%."""
    from nerve.train.run import RunConfig

    return RunConfig(model="lenet5", data="digits", epochs=epochs, batch_size=32, optimizer="adam",
                     lr=3e-3, scheduler="cosine", label_smoothing=0.1, seed=seed, out=out,
                     model_options={"channels": [16, 32], "dropout": 0.25})
