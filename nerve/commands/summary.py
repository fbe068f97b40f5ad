"""``nerve summary MODEL``: a model's layers, output shapes and parameter counts."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("model", nargs="?", help="a zoo model name")
    parser.add_argument("--data", default="digits", help="the dataset that fixes input shape and classes")
    parser.add_argument("--list", action="store_true", help="list the zoo's models")


def run(args) -> int:
    from nerve import models
    from nerve.nn.summary import summary
    from nerve.train.run import load_data

    if args.list or not args.model:
        for name, entry in models.available().items():
            print(f"{name:<16} {entry.description}")
        return 0
    try:
        _, _, info = load_data(args.data)
        model = models.build(args.model, info.in_shape, info.num_classes)
    except ValueError as err:
        print(f"nerve summary: {err}", file=sys.stderr)
        return 2
    summary(model, (1, *info.in_shape))
    return 0
