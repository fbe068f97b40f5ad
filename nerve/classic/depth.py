"""Depth efficiency: a function a deep narrow ReLU network builds cheaply and a shallow one cannot.

The tent map on [0, 1] is one layer of two ReLUs:

    tent(x) = 2 relu(x) - 4 relu(x - 1/2)       (= 2x for x <= 1/2, 2 - 2x after)

Composing it k times gives the sawtooth with 2^(k-1) teeth (2^k linear pieces). A ReLU network of
depth k and width 2 computes it exactly with 6k + 1 parameters. A network with one hidden layer of
m ReLUs is piecewise linear with at most m + 1 pieces, so it needs about 2^k units (3 * 2^k
parameters) to follow every tooth: exponentially many in k (Telgarsky, "Benefits of depth in
neural networks", 2016; Montufar et al., 2014).

``deep_sawtooth_network(k)`` builds the deep network in ``nerve.nn`` with the weights written in,
``shallow_sawtooth_network(k)`` the exact shallow one (2^k units), and ``depth_table`` also trains
a shallow network with as many parameters as the deep one, to compare errors at equal size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nerve.classic.approximation import fit_one_hidden_layer


def tent(x):
    """The tent map on [0, 1]: 2x for x <= 1/2, 2 - 2x after."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.5, 2 * x, 2 - 2 * x)


def sawtooth(x, k: int):
    """tent composed k times: 2^(k-1) teeth of height 1 on [0, 1]."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    for _ in range(k):
        x = tent(x)
    return x


def sawtooth_fn(k: int):
    """sawtooth(., k) as a named one-argument function (for approximation's targets)."""

    def fn(x):
        return sawtooth(x, k)

    fn.__name__ = f"sawtooth{k}"
    return fn


def deep_sawtooth_network(k: int):
    """The exact depth-k, width-2 ReLU network for sawtooth(x, k), as a float64 nn.Sequential.

    Layer 1 reads x: (N, 1) and computes relu([x, x - 1/2]); every later hidden layer reads the
    previous two units, forms t = 2 h1 - 4 h2 (a tent of its input) and computes relu([t, t - 1/2]);
    the output is 2 h1 - 4 h2. Parameters: 4 + 6 (k - 1) + 3 = 6k + 1.
    """
    import nerve
    from nerve import nn

    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    layers = [nn.Linear(1, 2), nn.ReLU()]
    for _ in range(k - 1):
        layers += [nn.Linear(2, 2), nn.ReLU()]
    layers.append(nn.Linear(2, 1))
    model = nn.Sequential(*layers).double()
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    with nerve.no_grad():
        linears[0].weight.copy_(nerve.tensor([[1.0], [1.0]]))
        linears[0].bias.copy_(nerve.tensor([0.0, -0.5]))
        for linear in linears[1:-1]:
            linear.weight.copy_(nerve.tensor([[2.0, -4.0], [2.0, -4.0]]))
            linear.bias.copy_(nerve.tensor([0.0, -0.5]))
        linears[-1].weight.copy_(nerve.tensor([[2.0, -4.0]]))
        linears[-1].bias.copy_(nerve.tensor([0.0]))
    return model


def n_parameters(model) -> int:
    """Number of scalars in a module's parameters."""
    return sum(p.numel() for p in model.parameters())


def shallow_sawtooth_network(k: int):
    """A one-hidden-layer ReLU network for sawtooth(x, k) with 2^k units: exact on [0, 1].

    Unit j is relu(x - j / 2^k), a knot at every breakpoint (the knot at 0 gives the first slope);
    the output weights come from least squares, which here recovers the sawtooth exactly.
    Parameters: 3 * 2^k + 1. Returns a float64 nn.Sequential(Linear(1, m), ReLU(), Linear(m, 1)).
    """
    import nerve
    from nerve import nn

    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    width = 2**k
    knots = np.arange(width) / width
    x = np.linspace(0, 1, 4 * width + 1)
    design = np.hstack([np.maximum(x[:, None] - knots, 0), np.ones((len(x), 1))])
    solution = np.linalg.lstsq(design, sawtooth(x, k), rcond=None)[0]
    model = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1)).double()
    with nerve.no_grad():
        model[0].weight.copy_(nerve.tensor(np.ones((width, 1))))
        model[0].bias.copy_(nerve.tensor(-knots))
        model[2].weight.copy_(nerve.tensor(solution[None, :-1].copy()))
        model[2].bias.copy_(nerve.tensor(solution[-1:].copy()))
    return model


def network_error(model, k: int, n_eval: int = 4097) -> float:
    """max |model(x) - sawtooth(x, k)| on a uniform grid of [0, 1]."""
    import nerve

    x = np.linspace(0, 1, n_eval)[:, None]
    with nerve.no_grad():
        y = model(nerve.tensor(x)).numpy()[:, 0]
    return float(np.abs(y - sawtooth(x[:, 0], k)).max())


@dataclass
class DepthRow:
    """One sawtooth: the deep net, a trained shallow net of about the same size, the exact one."""

    k: int
    deep_parameters: int
    deep_error: float
    small_shallow_width: int
    small_shallow_parameters: int
    small_shallow_error: float
    exact_shallow_parameters: int
    exact_shallow_error: float


def depth_table(depths: Sequence[int] = (2, 3, 4, 5, 6), steps: int = 200, seed: int = 0):
    """For each k: the deep network, a trained shallow one with width 2k, and the exact shallow.

    The shallow network of width m = 2k has 6k + 1 parameters, exactly the deep network's
    count. It is trained with ``approximation.fit_one_hidden_layer`` (least-squares start, then
    Adam) on a dyadic grid that contains every breakpoint. NOTE: with fewer than 2^k - 1 units
    its max error is at least 1/4 whatever the training: the sawtooth crosses 1/2 2^k times and
    each linear piece can cross it once. Returns a list of DepthRow.
    """
    rows = []
    for k in depths:
        deep = deep_sawtooth_network(int(k))
        exact = shallow_sawtooth_network(int(k))
        width = 2 * int(k)
        fit = fit_one_hidden_layer(
            [sawtooth_fn(int(k))], width, "relu", steps=steps, n_train=4 * 2**k + 1, seed=seed
        )
        rows.append(
            DepthRow(
                k=int(k),
                deep_parameters=n_parameters(deep),
                deep_error=network_error(deep, int(k)),
                small_shallow_width=width,
                small_shallow_parameters=fit.n_parameters,
                small_shallow_error=float(fit.max_error[0]),
                exact_shallow_parameters=n_parameters(exact),
                exact_shallow_error=network_error(exact, int(k)),
            )
        )
    return rows
