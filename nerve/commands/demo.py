"""``nerve demo``: the main job. A LeNet-5-style CNN learns the 8x8 handwritten digits."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="runs", help="parent directory of the run directory")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from nerve.commands.train import print_summary
    from nerve.train.run import RunConfig, train

    config = RunConfig(model="lenet5", data="digits", epochs=args.epochs, batch_size=32,
                       optimizer="adam", lr=3e-3, scheduler="cosine", seed=args.seed, out=args.out)
    print("nerve demo: a LeNet-5-style CNN (two conv+pool stages, three dense layers) learns the "
          "8x8 handwritten digits\n(1437 training / 360 test images), on nerve's own autograd.\n")
    try:
        run_dir = train(config, verbose=False if args.quiet else None)
    except ImportError as err:
        print(f"nerve demo: {err}", file=sys.stderr)
        return 2
    print_summary(run_dir)
    return 0
