"""``nerve eval RUN_DIR``: evaluate a trained run on its test data."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a directory written by `nerve train` or `nerve demo`")


def run(args) -> int:
    from nerve import nn
    from nerve.data import DataLoader
    from nerve.train import Trainer
    from nerve.train.run import load_data, load_run

    try:
        model, config, info = load_run(args.run_dir)
    except (FileNotFoundError, ValueError) as err:
        print(f"nerve eval: {err}", file=sys.stderr)
        return 2
    _, test_set, _ = load_data(config.data)
    trainer = Trainer(model, _NoOptimizer(), nn.CrossEntropyLoss(), metrics=["accuracy"], verbose=False)
    result = trainer.evaluate(DataLoader(test_set, batch_size=256))
    print(f"{config.model} on {config.data} test set ({len(test_set)} samples): "
          f"accuracy {result['accuracy'] * 100:.2f}%, loss {result['loss']:.4f}")
    return 0


class _NoOptimizer:
    param_groups = [{"lr": 0.0}]
