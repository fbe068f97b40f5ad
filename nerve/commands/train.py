"""``nerve train``: train a model from the zoo (or a Python file) on a dataset."""

from __future__ import annotations

import json
import sys

from nerve.train.run import OPTIMIZERS, SCHEDULERS, RunConfig, dataset_names


def add_arguments(parser) -> None:
    defaults = RunConfig()
    parser.add_argument("--model", default=defaults.model,
                        help="a zoo model name (see `nerve summary --list`) or path/to/file.py:ClassName "
                             f"(default {defaults.model})")
    parser.add_argument("--data", default=defaults.data, help=f"one of {', '.join(dataset_names())}")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--patience", type=int, default=defaults.patience,
                        help="early stopping patience in epochs (0: off)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default=defaults.scheduler,
                        help="cosine: annealed per epoch; onecycle: warm up to --lr over 30%% of the "
                             "steps, then anneal (per batch)")
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--val-fraction", type=float, default=defaults.val_fraction,
                        help="share of the training data held out for validation (0: none; the "
                             "best epoch is then chosen by training loss)")
    parser.add_argument("--shift", type=int, default=defaults.shift,
                        help="augment: shift training images by up to this many pixels")
    parser.add_argument("--hflip", action="store_true", help="augment: mirror half of the training images")
    parser.add_argument("--noise", type=float, default=defaults.noise,
                        help="augment: Gaussian noise of this std on the training inputs")
    parser.add_argument("--model-options", default="{}",
                        help='JSON keyword options for the model builder, e.g. \'{"hidden": [256, 128]}\'')
    parser.add_argument("--out", default=defaults.out, help="parent directory of the run directory")
    parser.add_argument("--run-dir", default=None, help="exact run directory (default: OUT/DATA-MODEL-TIME)")
    parser.add_argument("--config", default=None, help="a TOML file with these settings (a [train] table)")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR",
                        help="continue an interrupted run (Ctrl-C / SIGTERM writes its checkpoint)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(args) -> RunConfig:
    if args.config:
        return RunConfig.from_toml(args.config)
    try:
        options = json.loads(args.model_options)
    except json.JSONDecodeError as err:
        raise ValueError(f"--model-options is not valid JSON: {err}") from None
    return RunConfig(model=args.model, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                     optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
                     seed=args.seed, patience=args.patience, scheduler=args.scheduler,
                     label_smoothing=args.label_smoothing, val_fraction=args.val_fraction,
                     shift=args.shift, hflip=args.hflip, noise=args.noise,
                     out=args.out, model_options=options)


def run(args) -> int:
    from nerve.train import TrainingInterrupted
    from nerve.train.run import train

    try:
        config = config_from_args(args)
        if ".py:" in config.model:
            _register_file_model(config.model)
        if args.resume:
            run_dir = train(config, verbose=False if args.quiet else None, run_dir=args.resume,
                            resume=True)
        else:
            run_dir = train(config, verbose=False if args.quiet else None, run_dir=args.run_dir)
    except TrainingInterrupted as stop:
        run_dir = stop.path.parent if hasattr(stop.path, "parent") else stop.path
        print(f"\nnerve train: interrupted in epoch {stop.epoch + 1} after batch {stop.batch}; "
              f"the checkpoint is in {run_dir}.\nResume with: nerve train --resume {run_dir}",
              file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"nerve train: {err}", file=sys.stderr)
        return 2
    print_summary(run_dir)
    return 0


def _register_file_model(spec: str) -> None:
    """``path/to/file.py:ClassName``: a model class from a file, built as Class(in_shape, num_classes)."""
    import importlib.util

    from nerve.models.registry import register

    path, _, class_name = spec.rpartition(":")
    module_spec = importlib.util.spec_from_file_location("nerve_user_model", path)
    if module_spec is None:
        raise FileNotFoundError(f"--model: no Python file at {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not hasattr(module, class_name):
        raise ValueError(f"--model: {path} has no class {class_name!r}")
    cls = getattr(module, class_name)
    register(spec, f"{class_name} from {path}")(lambda in_shape, num_classes, **kw: cls(in_shape, num_classes, **kw))


def print_summary(run_dir) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    print(f"\ntest accuracy {test.get('accuracy', float('nan')) * 100:.2f}%  (loss {test['loss']:.4f}), "
          f"{metrics['parameters']:,} parameters, trained in {metrics['seconds']:.1f} s")
    print(f"run directory: {run_dir}")
    for name, what in (("report.md", "report"), ("model.safetensors", "model"),
                       ("curves.png", "curves"), ("confusion.png", "confusion matrix")):
        if (run_dir / name).exists():
            print(f"  {what:<17} {run_dir / name}")
