"""A training run as the ``nerve`` command does it: config -> data -> model -> fit -> report.

The run directory holds everything needed to look at, evaluate and reuse the run:

    runs/digits-lenet5-20261123-101500/
      config.toml          the settings used (``nerve train --config`` reads this format)
      model.safetensors    the trained weights (+ the config in the metadata)
      last.safetensors     the full training state at the last epoch (resumable)
      best.safetensors     the full training state at the best validation epoch
      history.csv          loss and metrics per epoch
      curves.png           the curves; confusion.png: the test confusion matrix
      report.md            data, model, parameter count, time, final metrics
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np


# ---------------------------------------------------------------------------- datasets by name
@dataclass
class DataInfo:
    name: str
    in_shape: tuple
    num_classes: int
    class_names: list
    description: str


def _sk(loader, name, description, classes=None, image=False, test_fraction=0.2):
    def load(seed):
        kwargs = {"seed": seed, "test_fraction": test_fraction}
        if image:
            kwargs["flatten"] = False
        train, test = loader(**kwargs)
        x = train.tensors[0]
        n_classes = int(max(train.tensors[1].numpy().max(), test.tensors[1].numpy().max())) + 1
        info = DataInfo(name, tuple(x.shape[1:]), n_classes,
                        classes or [str(i) for i in range(n_classes)], description)
        return train, test, info

    return load


def _mnist1d(seed):
    from nerve.data import TensorDataset
    from nerve.datasets import load_mnist1d

    train, test = load_mnist1d(seed=42)
    tr = TensorDataset(train.tensors[0].unsqueeze(1), train.tensors[1])
    te = TensorDataset(test.tensors[0].unsqueeze(1), test.tensors[1])
    info = DataInfo("mnist1d", (1, 40), 10, [str(i) for i in range(10)],
                    "MNIST-1D (Greydanus 2020): 4000 train / 1000 test signals of length 40")
    return tr, te, info


def _toy(name):
    def load(seed):
        from nerve.data import TensorDataset
        from nerve.datasets import make_toy2d
        from nerve.ops.creation import from_numpy

        X, y = make_toy2d(name, n=1000, noise=0.1, seed=seed)
        cut = int(0.8 * len(X))
        tr = TensorDataset(from_numpy(X[:cut]), from_numpy(y[:cut]))
        te = TensorDataset(from_numpy(X[cut:]), from_numpy(y[cut:]))
        k = int(y.max()) + 1
        return tr, te, DataInfo(name, (2,), k, [str(i) for i in range(k)], f"2-D '{name}' set, 1000 points")

    return load


def _datasets():
    from nerve import datasets as D

    return {
        # NOTE: the 75/25 split on which scikit-learn's MLPClassifier is usually quoted.
        "digits": _sk(D.load_digits, "digits", "8x8 handwritten digits (scikit-learn), 1347 train / 450 test",
                      image=True, test_fraction=0.25),
        "iris": _sk(D.load_iris, "iris", "Fisher's iris, 4 features, 3 classes",
                    ["setosa", "versicolor", "virginica"]),
        "wine": _sk(D.load_wine, "wine", "wine recognition, 13 features, 3 classes"),
        "breast_cancer": _sk(D.load_breast_cancer, "breast_cancer",
                             "Wisconsin breast cancer, 30 features, malignant/benign",
                             ["malignant", "benign"]),
        "mnist1d": _mnist1d,
        **{name: _toy(name) for name in ("xor", "circle", "gaussian", "spiral", "moons")},
    }


def dataset_names() -> list[str]:
    return ["digits", "iris", "wine", "breast_cancer", "mnist1d", "xor", "circle", "gaussian", "spiral", "moons"]


def load_data(name: str, seed: int = 0):
    table = _datasets()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown dataset {name!r}.{hint} Valid names: {', '.join(table)}")
    return table[name](seed)


# ---------------------------------------------------------------------------- the config
@dataclass
class RunConfig:
    model: str = "lenet5"
    data: str = "digits"
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    seed: int = 0
    val_fraction: float = 0.1
    patience: int = 0  # 0: no early stopping
    scheduler: str = "cosine"  # "none", "cosine" (stepped per epoch) or "onecycle" (per batch)
    label_smoothing: float = 0.0
    # Augmentation of the training inputs (nerve.data.transforms); validation and test data are
    # left as they are. shift and hflip need image data (C, H, W).
    shift: int = 0  # shift each training image by up to this many pixels (0: off)
    hflip: bool = False  # mirror half of the training images left-right
    noise: float = 0.0  # add Gaussian noise of this standard deviation (0: off)
    out: str = "runs"
    model_options: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}")
        if not isinstance(self.shift, int) or isinstance(self.shift, bool) or self.shift < 0:
            raise ValueError(f"shift must be an int >= 0 (pixels), got {self.shift!r}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be >= 0 (a standard deviation), got {self.noise!r}")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")

    @classmethod
    def from_toml(cls, path) -> RunConfig:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise ImportError("reading TOML on Python 3.10 needs `pip install tomli`") from None
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        raw = raw.get("train", raw)
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**raw)

    def to_toml(self) -> str:
        lines = ["[train]"]
        options = {}
        for key, value in asdict(self).items():
            if key == "model_options":
                options = value
                continue
            lines.append(f"{key} = {json.dumps(value)}")
        if options:
            lines.append("\n[train.model_options]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
        return "\n".join(lines) + "\n"


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULERS = ("none", "cosine", "onecycle")


def make_optimizer(name, params, lr, weight_decay=0.0, momentum=0.9):
    from nerve import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay or 0.01)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def make_augmentation(config: RunConfig, info: DataInfo):
    """The training-input transform that ``config`` asks for, or None."""
    from nerve.data import transforms as T

    if (config.shift or config.hflip) and len(info.in_shape) != 3:
        raise ValueError(
            f"shift and hflip augment images (C, H, W); {info.name} inputs have shape "
            f"{tuple(info.in_shape)}. Use noise, or a dataset of images such as digits."
        )
    steps = []
    if config.shift:
        steps.append(T.RandomShift(config.shift))
    if config.hflip:
        steps.append(T.RandomHorizontalFlip())
    if config.noise:
        steps.append(T.GaussianNoise(config.noise))
    return T.Compose(steps) if steps else None


def describe_augmentation(config: RunConfig) -> str:
    parts = []
    if config.shift:
        parts.append(f"shifts up to {config.shift} px")
    if config.hflip:
        parts.append("horizontal flips")
    if config.noise:
        parts.append(f"Gaussian noise (std {config.noise})")
    return ", ".join(parts) if parts else "none"


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------- train
def train(config: RunConfig, verbose: bool | None = None, run_dir: str | None = None,
          resume: bool = False) -> Path:
    """Run ``config`` end to end; return the run directory. With ``resume``, continue the run in
    ``run_dir`` from its interrupted (or last) checkpoint, with the config it was started with."""
    import nerve
    from nerve import models, nn
    from nerve.data import DataLoader, random_split
    from nerve.train import CSVLogger, EarlyStopping, ModelCheckpoint, Trainer
    from nerve.train.metrics import ConfusionMatrix

    checkpoint = None
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run directory")
        run_path = Path(run_dir)
        if not (run_path / "config.toml").exists():
            raise FileNotFoundError(f"{run_dir} has no config.toml: not a nerve run directory")
        config = RunConfig.from_toml(run_path / "config.toml")
        for name in ("interrupted.safetensors", "last.safetensors"):
            if (run_path / name).exists():
                checkpoint = run_path / name
                break
        else:
            raise FileNotFoundError(f"{run_dir} has no checkpoint to resume from")
    config.validate()
    nerve.manual_seed(config.seed)
    train_set, test_set, info = load_data(config.data)  # a fixed split: the test set never moves
    augment = make_augmentation(config, info)
    model = models.build(config.model, info.in_shape, info.num_classes, **config.model_options)
    n_params = count_parameters(model)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = Path(run_dir) if run_dir else Path(config.out) / f"{config.data}-{config.model}-{stamp}"
    run.mkdir(parents=True, exist_ok=True)
    if not resume:
        (run / "config.toml").write_text(config.to_toml())

    val_set = None
    if config.val_fraction > 0:
        n_val = max(1, int(round(len(train_set) * config.val_fraction)))
        split_gen = nerve.Generator().manual_seed(config.seed)
        train_set, val_set = random_split(train_set, [len(train_set) - n_val, n_val], generator=split_gen)
    loader_gen = nerve.Generator().manual_seed(config.seed + 1)
    train_loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, generator=loader_gen)
    val_loader = DataLoader(val_set, batch_size=256) if val_set is not None else None
    test_loader = DataLoader(test_set, batch_size=256)

    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr,
                               config.weight_decay, config.momentum)
    scheduler = None
    if config.scheduler == "cosine":
        from nerve.optim.lr_scheduler import CosineAnnealingLR

        scheduler = CosineAnnealingLR(optimizer, T_max=config.epochs)
    elif config.scheduler == "onecycle":  # lr rises to config.lr over 30% of the steps, then anneals
        from nerve.optim.lr_scheduler import OneCycleLR

        scheduler = OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs,
                               steps_per_epoch=len(train_loader))
    monitor = "val_loss" if val_loader is not None else "loss"
    callbacks = [CSVLogger(run / "history.csv"), ModelCheckpoint(run, monitor=monitor)]
    if config.patience:
        callbacks.append(EarlyStopping(monitor, patience=config.patience))
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
                      metrics=["accuracy"],
                      callbacks=callbacks, scheduler=scheduler,
                      scheduler_per_batch=config.scheduler == "onecycle", verbose=verbose,
                      checkpoint_path=run / "interrupted.safetensors",
                      augment=augment)
    start = time.perf_counter()
    trainer.fit(train_loader, val_data=val_loader, epochs=config.epochs, resume=checkpoint)
    seconds = time.perf_counter() - start
    if checkpoint is not None and checkpoint.name == "interrupted.safetensors":
        checkpoint.unlink()

    # The model to keep is the best validation epoch's.
    best = run / "best.safetensors"
    if best.exists():
        model.load_state_dict(nerve.load(best)["model"])
    save_model(model, config, info, run / "model.safetensors")
    test = trainer.evaluate(test_loader)
    cm = ConfusionMatrix(max(info.num_classes, 2))
    outputs = trainer.predict(test_loader)
    cm.update(outputs, test_set.tensors[1].numpy() if hasattr(test_set, "tensors") else
              np.concatenate([y.numpy() for _, y in test_loader]))
    images = {}
    try:
        from nerve.train.plots import plot_confusion, plot_history

        images["curves"] = plot_history(trainer.history, run / "curves.png")
        images["confusion"] = plot_confusion(cm.compute(), run / "confusion.png", info.class_names,
                                             title=f"{config.data} test set")
    except ImportError as err:
        images["note"] = str(err)
    write_report(run, config, info, n_params, seconds, trainer.history, test, cm.compute(), images)
    (run / "metrics.json").write_text(json.dumps({"test": test, "seconds": seconds,
                                                  "parameters": n_params}, indent=2))
    return run


def save_model(model, config: RunConfig, info: DataInfo, path) -> None:
    import nerve

    nerve.save({"state_dict": model.state_dict(), "config": asdict(config), "data": asdict(info)}, path)


def load_run(run_dir):
    """(model in eval mode, RunConfig, DataInfo) of a finished run directory."""
    import nerve
    from nerve import models

    run = Path(run_dir)
    path = run / "model.safetensors"
    if not path.exists():
        raise FileNotFoundError(
            f"{run} is not a finished nerve run (no model.safetensors); train one with `nerve train`"
        )
    saved = nerve.load(path)
    config = RunConfig(**saved["config"])
    data = dict(saved["data"])
    data["in_shape"] = tuple(data["in_shape"])
    info = DataInfo(**data)
    model = models.build(config.model, info.in_shape, info.num_classes, **config.model_options)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, config, info


def write_report(run: Path, config, info, n_params, seconds, history, test, cm, images) -> None:
    epochs_run = len(history.get("loss", []))
    lines = [
        f"# nerve run: {config.model} on {config.data}",
        "",
        f"- data: {info.description}; input shape {tuple(info.in_shape)}, {info.num_classes} classes",
        f"- model: `{config.model}` with {n_params:,} parameters",
        f"- training: {epochs_run} epochs of {config.optimizer} (lr {config.lr}, batch {config.batch_size}, "
        f"scheduler {config.scheduler}), seed {config.seed}, {seconds:.1f} s",
        f"- augmentation of the training inputs: {describe_augmentation(config)}",
        f"- best validation epoch kept; final train loss {history['loss'][-1]:.4f}"
        + (f", validation accuracy {history['val_accuracy'][-1]:.4f}" if "val_accuracy" in history else ""),
        "",
        "## Test set",
        "",
        f"- loss {test['loss']:.4f}",
        f"- accuracy **{test.get('accuracy', float('nan')) * 100:.2f}%**",
        "",
        "Confusion matrix (rows: true class, columns: predicted):",
        "",
        "```",
        "\n".join(" ".join(f"{v:4d}" for v in row) for row in np.asarray(cm)),
        "```",
        "",
    ]
    if "curves" in images:
        lines += ["![curves](curves.png)", "", "![confusion](confusion.png)", ""]
    elif "note" in images:
        lines += [f"(no plots: {images['note']})", ""]
    lines += ["Files: `model.safetensors` (weights), `best.safetensors`/`last.safetensors` (resumable "
              "training state), `history.csv`, `config.toml`.", ""]
    (run / "report.md").write_text("\n".join(lines))
