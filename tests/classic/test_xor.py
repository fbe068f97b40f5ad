import numpy as np
import pytest
import torch

from nerve.classic.xor import (
    best_linear_accuracy,
    single_layer_on_xor,
    train_xor_mlp,
    xor_data,
)


def test_no_single_layer_model_separates_xor():
    report = single_layer_on_xor(max_epochs=50)
    assert not report.perceptron_converged and report.perceptron_epochs == 50
    assert report.perceptron_accuracy <= 0.75
    # ADALINE's least-squares line through XOR is the constant 0: it says nothing.
    assert np.allclose(report.adaline_weight, 0.0, atol=1e-9)
    assert report.adaline_accuracy <= 0.75
    assert report.best_line_accuracy == 0.75


def test_best_linear_accuracy_on_separable_functions_is_one():
    x, _ = xor_data()
    for labels in ([0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]):
        assert best_linear_accuracy(x, labels) == 1.0


def test_mlp_solves_xor_from_several_seeds():
    result = train_xor_mlp(seeds=range(40))
    assert result.solved[:10].all()
    # A 2-2-1 net can stall in a local minimum; with these settings that is rare.
    assert result.solved.mean() >= 0.8
    solved = result.outputs[result.solved]
    assert (np.abs(solved - [0, 1, 1, 0]) < 0.1).all()
    assert (result.losses[-1, result.solved] < result.losses[0, result.solved]).all()
    # Solved networks computed XOR through two non-trivial hidden features.
    for k in np.nonzero(result.solved)[0][:10]:
        assert all(f not in ("always 0", "always 1") for f in result.features(k))


def test_three_hidden_units_solve_every_seed():
    assert train_xor_mlp(seeds=range(20), hidden=3).solved.all()


def test_seeds_are_independent_of_their_batch():
    alone = train_xor_mlp(seeds=[3], epochs=50)
    together = train_xor_mlp(seeds=[0, 3, 7], epochs=50)
    assert np.allclose(alone.outputs[0], together.outputs[1])


def test_backprop_steps_match_pytorch():
    result = train_xor_mlp(seeds=[5], epochs=3, lr=0.7, momentum=0.9)
    draws = np.random.default_rng(5).uniform(-0.5, 0.5, 9)
    w1 = torch.tensor(draws[:4].reshape(2, 2), requires_grad=True)
    b1 = torch.tensor(draws[4:6].reshape(1, 2), requires_grad=True)
    w2 = torch.tensor(draws[6:8].reshape(2, 1), requires_grad=True)
    b2 = torch.tensor(draws[8:].reshape(1, 1), requires_grad=True)
    x, y = (torch.tensor(a) for a in xor_data())
    optimizer = torch.optim.SGD([w1, b1, w2, b2], lr=0.7, momentum=0.9)
    for _ in range(3):
        out = torch.sigmoid(torch.sigmoid(x @ w1 + b1) @ w2 + b2)
        loss = ((out - y[:, None]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for ours, theirs in zip(result.weights, (w1, b1, w2, b2), strict=True):
        assert np.allclose(ours[0], theirs.detach().numpy(), atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        train_xor_mlp(seeds=[])
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        train_xor_mlp(hidden=0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        best_linear_accuracy(np.ones((4, 3)), [0, 1, 1, 0])
