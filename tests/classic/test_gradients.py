import numpy as np
import pytest
import torch

import nerve
from nerve.classic.gradients import KINDS, ResidualBlock, build_network, gradient_norms


def test_deep_sigmoid_gradient_vanishes_but_residual_one_does_not():
    plain = gradient_norms("sigmoid", depth=20, width=32)
    residual = gradient_norms("residual", depth=20, width=32)
    assert plain.ratio < 1e-10
    assert residual.ratio > 1e-3
    assert plain.ratio / residual.ratio < 1e-6  # many orders of magnitude apart
    # The vanishing is geometric: each layer further back loses a roughly constant factor.
    assert (np.diff(np.log10(plain.norms)) > 0).all()


def test_he_init_and_batch_norm_keep_gradients_alive():
    assert gradient_norms("relu-he", depth=20, width=32).ratio > 1e-2
    assert gradient_norms("batchnorm", depth=20, width=32).ratio > 1e-2


def test_large_init_relu_explodes():
    report = gradient_norms("relu-large", depth=20, width=32)
    assert report.norms.min() > 1e10 and report.loss > 1e10


def _to_torch(model, x):
    """Run the same network in PyTorch (float64) and return per-hidden-layer gradient norms."""

    def linear(layer):
        t = torch.nn.Linear(layer.in_features, layer.out_features).double()
        t.weight.data = torch.tensor(layer.weight.detach().numpy())
        t.bias.data = torch.tensor(layer.bias.detach().numpy())
        return t

    h = linear(model.input)(torch.tensor(x))
    weights = []
    for block in model.blocks:
        if isinstance(block, ResidualBlock):
            first, second = linear(block.linear1), linear(block.linear2)
            act = torch.sigmoid
            h = h + second(act(first(h)))
        else:
            first = linear(block[0])
            z = first(h)
            if isinstance(block[1], nerve.nn.BatchNorm1d):
                z = torch.nn.functional.batch_norm(z, None, None, training=True, eps=1e-5)
            act = torch.relu if isinstance(block[-1], nerve.nn.ReLU) else torch.sigmoid
            h = act(z)
        weights.append(first.weight)
    return weights, linear(model.output)(h)


@pytest.mark.parametrize("kind", ["sigmoid", "residual", "batchnorm", "relu-he"])
def test_gradient_norms_match_pytorch(kind):
    model = build_network(
        kind, depth=6, width=8, in_features=4, generator=nerve.Generator().manual_seed(1)
    )
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))
    loss = ((model(nerve.tensor(x)) - nerve.tensor(y)) ** 2).mean()
    loss.backward()
    ours = [float(nerve.norm(w.grad)) for w in model.hidden_weights()]
    weights, out = _to_torch(model, x)
    ((out - torch.tensor(y)) ** 2).mean().backward()
    theirs = [w.grad.norm().item() for w in weights]
    assert np.allclose(ours, theirs, rtol=1e-9)


def test_every_kind_runs_and_bad_kind_fails():
    assert set(KINDS) == {"sigmoid", "relu-large", "relu-he", "residual", "batchnorm"}
    with pytest.raises(ValueError, match="kind must be one of"):
        gradient_norms("tanh")
    with pytest.raises(ValueError, match="depth must be an int >= 2"):
        gradient_norms("sigmoid", depth=1)
