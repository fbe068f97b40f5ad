import time

import numpy as np
import pytest

from nerve.classic.tour import MILESTONES, find, run_tour
from nerve.cli import main


def test_list_names_every_milestone_in_order(capsys):
    assert main(["history", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == [m.name for m in MILESTONES]
    years = [int(m.year[:4]) for m in MILESTONES]
    assert years == sorted(years)


def test_one_step_from_the_command_line(capsys):
    assert main(["history", "perceptron"]) == 0
    out = capsys.readouterr().out
    assert "1958" in out and "Rosenblatt" in out and "converged=True" in out
    assert "converged=False" in out  # XOR
    assert "1 milestone(s)" in out


def test_unknown_step_suggests_a_name(capsys):
    assert main(["history", "percepton"]) == 2
    assert "Did you mean 'perceptron'?" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown milestone 'nope'"):
        find("nope")


def test_full_tour_prints_every_claim_and_draws_pictures(tmp_path, capsys):
    cpu = time.process_time()
    figures = run_tour(plots=tmp_path)
    cpu = time.process_time() - cpu
    out = capsys.readouterr().out
    assert f"{len(MILESTONES)} milestone(s)" in out
    assert cpu < 60  # the tour's own compute stays under a minute
    assert figures["mcculloch-pitts"]["functions_correct"] == 256
    assert figures["hebb"]["oja_cosine"] > 0.999 and figures["hebb"]["hebb_norm"] > 1e6
    assert figures["perceptron"]["updates"] <= figures["perceptron"]["bound"]
    assert not figures["perceptron"]["xor_converged"]
    assert figures["adaline"]["online_gap"] < 1e-2 and figures["adaline"]["batch_gap"] < 1e-8
    assert figures["xor"]["solved"] >= 8 and figures["xor"]["best_line"] == 0.75
    assert 0.1 < figures["hopfield"]["capacity"] < 0.2
    for table in figures["approximation"]["tables"].values():
        assert (table[-1] < table[0] / 10).all()
    assert figures["gradients"]["sigmoid"] < 1e-6 * figures["gradients"]["residual"]
    assert all(r.deep_error < 1e-12 for r in figures["depth"]["rows"])
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pictures == sorted(
        [
            "hebb_oja.png",
            "perceptron.png",
            "adaline.png",
            "xor.png",
            "hopfield.png",
            "approximation.png",
            "gradients.png",
            "depth.png",
        ]
    )
    assert all((tmp_path / name).stat().st_size > 5000 for name in pictures)


def test_a_subset_runs_in_the_order_given(capsys):
    figures = run_tour(["adaline", "mcculloch-pitts"])
    assert list(figures) == ["adaline", "mcculloch-pitts"]
    out = capsys.readouterr().out
    assert out.index("[1/2] 1960") < out.index("[2/2] 1943")
    assert np.isfinite(figures["adaline"]["online_gap"])
