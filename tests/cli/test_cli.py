"""The ``nerve`` command: help, errors that a new user can act on, and a train/eval/predict cycle."""

import subprocess
import sys

import numpy as np
import pytest

from nerve.cli import main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "train", "eval", "predict", "summary", "history", "playground", "embed"):
        assert name in out


def test_unknown_command_suggests(capsys):
    assert main(["trian"]) == 2
    assert "Did you mean 'train'?" in capsys.readouterr().err


def test_unknown_model_lists_valid_names(capsys, tmp_path):
    assert main(["train", "--model", "lenet", "--data", "iris", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'lenet'" in err and "Did you mean" in err and "lenet5" in err and "mlp" in err


def test_unknown_dataset_lists_valid_names(capsys, tmp_path):
    assert main(["train", "--data", "irs", "--out", str(tmp_path)]) == 2
    assert "unknown dataset 'irs'. Did you mean 'iris'?" in capsys.readouterr().err


def test_bad_numbers_are_named(capsys, tmp_path):
    assert main(["train", "--model", "mlp", "--data", "iris", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "epochs must be >= 1, got 0" in capsys.readouterr().err


def test_train_eval_predict_summary_cycle(capsys, tmp_path):
    run_dir = tmp_path / "iris-run"
    code = main(["train", "--model", "mlp", "--data", "iris", "--epochs", "15", "--lr", "0.01",
                 "--run-dir", str(run_dir), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(run_dir) in out
    for name in ("config.toml", "model.safetensors", "history.csv", "report.md", "curves.png",
                 "confusion.png", "best.safetensors", "last.safetensors"):
        assert (run_dir / name).exists(), name
    report = (run_dir / "report.md").read_text()
    assert "parameters" in report and "accuracy" in report

    assert main(["eval", str(run_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out

    from nerve.datasets import load_iris

    _, (x_test, y_test) = load_iris(as_arrays=True)
    np.save(tmp_path / "x.npy", x_test[:5])
    assert main(["predict", str(run_dir), str(tmp_path / "x.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and all("%" in ln for ln in lines)

    # the saved config reproduces the run
    assert main(["train", "--config", str(run_dir / "config.toml"), "--run-dir",
                 str(tmp_path / "again"), "--quiet"]) == 0
    capsys.readouterr()

    assert main(["summary", "mlp", "--data", "iris"]) == 0
    assert "Linear" in capsys.readouterr().out


def test_predict_rejects_wrong_sizes(capsys, tmp_path):
    run_dir = tmp_path / "r"
    assert main(["train", "--model", "mlp", "--data", "iris", "--epochs", "1", "--run-dir",
                 str(run_dir), "--quiet"]) == 0
    np.save(tmp_path / "bad.npy", np.zeros((2, 3)))
    assert main(["predict", str(run_dir), str(tmp_path / "bad.npy")]) == 2
    assert "each sample needs 4 numbers" in capsys.readouterr().err


def test_eval_of_a_non_run_directory(capsys, tmp_path):
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a finished nerve run" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"]])
def test_console_script_runs(args):
    out = subprocess.run([sys.executable, "-m", "nerve.cli", *args], capture_output=True, text=True)
    assert out.returncode == 0 and "nerve" in out.stdout


def test_train_with_augmentation_and_one_cycle(capsys, tmp_path):
    import csv

    run_dir = tmp_path / "aug"
    code = main(["train", "--model", "mlp", "--data", "digits", "--epochs", "4", "--lr", "0.01",
                 "--scheduler", "onecycle", "--shift", "1", "--hflip", "--noise", "0.05",
                 "--label-smoothing", "0.1", "--val-fraction", "0", "--run-dir", str(run_dir),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert "test accuracy" in capsys.readouterr().out
    report = (run_dir / "report.md").read_text()
    assert "shifts up to 1 px, horizontal flips, Gaussian noise (std 0.05)" in report
    config = (run_dir / "config.toml").read_text()
    assert "shift = 1" in config and "hflip = true" in config and 'scheduler = "onecycle"' in config
    with open(run_dir / "history.csv") as f:
        lrs = [float(row["lr"]) for row in csv.DictReader(f)]
    # one-cycle stepped once per batch: replay the schedule and read it at each epoch's end
    import math

    import nerve
    from nerve.optim.lr_scheduler import OneCycleLR
    from nerve.train.run import load_data

    steps = math.ceil(len(load_data("digits")[0]) / 32)
    opt = nerve.optim.Adam([nerve.zeros(1, requires_grad=True)], lr=0.01)
    schedule = OneCycleLR(opt, max_lr=0.01, epochs=4, steps_per_epoch=steps)
    expected = []
    for _ in range(4):
        for _ in range(steps):
            opt.step()
            schedule.step()
        expected.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)
    assert lrs[-1] < 0.01 / 1000  # annealed to almost nothing by the last batch


def test_image_augmentation_of_non_images_is_refused(capsys, tmp_path):
    assert main(["train", "--model", "mlp", "--data", "iris", "--shift", "2", "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "shift and hflip augment images (C, H, W); iris inputs have shape (4,)" in err
    assert not any(tmp_path.iterdir())  # refused before a run directory is made
    assert main(["train", "--model", "mlp", "--data", "iris", "--noise", "-1", "--out",
                 str(tmp_path)]) == 2
    assert "noise must be >= 0" in capsys.readouterr().err
