"""Quality bars of the training issue, trained end to end through ``nerve.train.run``.

Each test states its seed and budget. They are marked slow; the default budgets below are the
bounded form CI runs, and they assert the full bars. Seconds are measured on 2 cores.
"""

import json
import time

import pytest

from nerve.commands.demo import demo_config
from nerve.train.run import RunConfig, train

pytestmark = pytest.mark.slow


def run_and_score(config, tmp_path):
    start = time.perf_counter()
    run = train(config, verbose=False, run_dir=tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    accuracy = metrics["test"]["accuracy"]
    print(f"{config.model} on {config.data}: test accuracy {accuracy:.4f} in "
          f"{time.perf_counter() - start:.1f} s")
    return accuracy


def test_digits_lenet_reaches_98_percent(tmp_path):
    # The `nerve demo` configuration: seed 0, 30 epochs.
    assert run_and_score(demo_config(seed=0, out=str(tmp_path)), tmp_path) >= 0.98


def test_digits_mlp_reaches_97_percent(tmp_path):
    config = RunConfig(model="mlp", data="digits", epochs=40, lr=2e-3, label_smoothing=0.1,
                       model_options={"hidden": [512], "dropout": 0.3}, seed=0)
    assert run_and_score(config, tmp_path) >= 0.97


def test_breast_cancer_mlp_reaches_95_percent(tmp_path):
    config = RunConfig(model="mlp", data="breast_cancer", epochs=30, lr=1e-3,
                       model_options={"hidden": [64, 32], "dropout": 0.2}, seed=0)
    assert run_and_score(config, tmp_path) >= 0.95


def test_mnist1d_mlp_reaches_the_papers_68_percent(tmp_path):
    # MNIST-1D paper (Greydanus 2020): MLP 68% test accuracy. 4000 train / 1000 test.
    config = RunConfig(model="mlp", data="mnist1d", epochs=100, lr=3e-3, batch_size=100,
                       label_smoothing=0.1, val_fraction=0.0,
                       model_options={"hidden": [256, 256], "dropout": 0.2}, seed=0)
    assert run_and_score(config, tmp_path) >= 0.68
