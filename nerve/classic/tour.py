"""The history tour: each milestone's year, people, claim, and a live run that prints its numbers.

``run_tour()`` runs them all in order (``nerve history``); ``run_tour(["perceptron"])`` runs one.
With ``plots=DIR`` each milestone also writes a PNG there. Each ``_run_*`` function returns the
figures it printed as a dict, so tests can check them.
"""

from __future__ import annotations

import difflib
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Milestone:
    name: str
    year: str
    who: str
    title: str
    story: str
    run: Callable[[Callable[[str], None], Path | None], dict]


def _mcculloch_pitts(say, plots) -> dict:
    import itertools

    from nerve.classic import mcculloch_pitts as mp

    rows = [(0, 0), (0, 1), (1, 0), (1, 1)]
    units = {
        "AND": mp.and_unit(),
        "OR": mp.or_unit(),
        "NAND": mp.nand_unit(),
        "XOR": mp.xor_network(),
    }
    say("  x1 x2 | " + " ".join(f"{name:>4}" for name in units))
    for row in rows:
        outputs = " ".join(f"{int(unit(row)[0]):>4}" for unit in units.values())
        say(f"   {row[0]}  {row[1]} | {outputs}")
    not_off, not_on = mp.not_unit()([[0], [1]])
    say(f"  NOT: 0 -> {not_off}, 1 -> {not_on}   (one inhibitory input, threshold 0)")
    inputs = np.array(list(itertools.product((0, 1), repeat=3)))
    correct = sum(
        (mp.truth_table_network(list(table))(inputs) == np.array(table)).all()
        for table in itertools.product((0, 1), repeat=8)
    )
    say(f"  truth_table_network: {correct}/256 Boolean functions of 3 inputs computed exactly")
    return {"functions_correct": int(correct)}


def _hebb(say, plots) -> dict:
    from nerve.classic.hebb import cosine, hebb, leading_eigenvector, oja

    rng = np.random.default_rng(0)
    angle = np.pi / 6
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    x = rng.normal(size=(500, 2)) * [2.0, 0.6] @ rotation.T  # principal axis at 30 degrees
    principal = leading_eigenvector(x)
    plain = hebb(x, lr=0.005, epochs=4)
    learned = oja(x, lr=0.005, epochs=20)
    say("  plain Hebb, |w| after each epoch: " + ", ".join(f"{n:.2g}" for n in plain.norms))
    say(
        f"  Oja's rule after 20 epochs: |w| = {learned.norms[-1]:.4f}, "
        f"|cos(w, leading eigenvector)| = {cosine(learned.weight, principal):.5f}"
    )
    if plots:
        from nerve.classic import plots as draw

        draw.oja_directions(
            plots / "hebb_oja.png", x, principal, learned.weight, plain.norms, learned.norms
        )
    return {
        "oja_cosine": cosine(learned.weight, principal),
        "oja_norm": learned.norms[-1],
        "hebb_norm": plain.norms[-1],
    }


def _perceptron(say, plots) -> dict:
    from nerve.classic.perceptron import Perceptron, convergence_bound, separable_data

    x, y, separator = separable_data(n=200, margin=0.05, dim=2, seed=0)
    model = Perceptron()
    result = model.fit(x, y, max_epochs=1000)
    bound = convergence_bound(x, y, separator)
    say(
        f"  separable data (200 points, margin 0.05): converged={result.converged} after "
        f"{result.epochs} epochs, {result.updates} updates <= bound (R/gamma)^2 = {bound:.0f}"
    )
    xor = Perceptron().fit([[0, 0], [0, 1], [1, 0], [1, 1]], [-1, 1, 1, -1], max_epochs=100)
    say(
        f"  XOR: converged={xor.converged} after {xor.epochs} epochs "
        f"(mistakes in the last epoch: {xor.errors[-1]}): the rule reports failure and stops"
    )
    if plots:
        from nerve.classic import plots as draw

        draw.decision_boundary(
            plots / "perceptron.png",
            x,
            y,
            model.decision_function,
            f"perceptron: {result.updates} updates (bound {bound:.0f})",
        )
    return {"updates": result.updates, "bound": bound, "xor_converged": xor.converged}


def _adaline(say, plots) -> dict:
    from nerve.classic.adaline import Adaline, least_squares

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.3 + 0.5 * rng.normal(size=200)
    reference = least_squares(x, y)
    model = Adaline(lr=0.01, mode="online")
    mse = model.fit(x, y, epochs=100)
    gap = float(np.abs(np.append(model.weight, model.bias) - reference).max())
    say(f"  LMS rule, sample by sample, 100 epochs: MSE {mse[0]:.3f} -> {mse[-1]:.3f}")
    say(f"  max |[w, b] - numpy.linalg.lstsq| = {gap:.1e}   (lstsq: {np.round(reference, 3)})")
    batch = Adaline(lr=0.5, mode="batch")
    batch.fit(x, y, epochs=300)
    batch_gap = float(np.abs(np.append(batch.weight, batch.bias) - reference).max())
    say(f"  full-batch LMS, 300 steps: max difference {batch_gap:.1e}")
    if plots:
        from nerve.classic import plots as draw

        draw.line_plot(
            plots / "adaline.png",
            np.arange(1, len(mse) + 1),
            {"online LMS": mse},
            "ADALINE: mean squared error per epoch",
            "epoch",
            "MSE",
            log_y=True,
            markers=False,
        )
    return {"online_gap": gap, "batch_gap": batch_gap}


def _xor(say, plots) -> dict:
    from nerve.classic.xor import single_layer_on_xor, train_xor_mlp

    single = single_layer_on_xor()
    say(
        f"  perceptron: converged={single.perceptron_converged} in "
        f"{single.perceptron_epochs} epochs, accuracy {single.perceptron_accuracy:.2f}"
    )
    say(
        f"  ADALINE: least-squares [w1, w2, b] = {np.round(single.adaline_weight, 3) + 0.0}, "
        f"accuracy {single.adaline_accuracy:.2f}"
    )
    say(f"  best of every line through the plane: {single.best_line_accuracy:.2f} of the points")
    result = train_xor_mlp(seeds=range(10))
    say(
        f"  2-2-1 sigmoid network, backprop, 1000 epochs: solved from "
        f"{int(result.solved.sum())}/10 seeds"
    )
    k = int(np.argmax(result.solved))
    say(
        f"  seed {result.seeds[k]}: outputs {np.round(result.outputs[k], 3)}; hidden units "
        f"learned {result.features(k)[0]!r} and {result.features(k)[1]!r}"
    )
    for corner, h in zip([(0, 0), (0, 1), (1, 0), (1, 1)], result.hidden[k], strict=True):
        say(f"    x = {corner}: hidden = ({h[0]:.2f}, {h[1]:.2f})")
    if plots:
        from nerve.classic import plots as draw

        w1, b1, w2, b2 = (w[k] for w in result.weights)

        def predict(points):
            hidden = 1 / (1 + np.exp(-(points @ w1 + b1)))
            return (1 / (1 + np.exp(-(hidden @ w2 + b2))))[:, 0]

        draw.xor_network(plots / "xor.png", predict, result.hidden[k], result.features(k))
    return {"solved": int(result.solved.sum()), "best_line": single.best_line_accuracy}


def _hopfield(say, plots) -> dict:
    from nerve.classic.hopfield import capacity_curve, capacity_estimate

    n = 200
    loads = np.array([0.05, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25])
    rates = capacity_curve(n, loads, noise=0.1, trials=2, seed=0)
    say(f"  {n} neurons, cues with 10% of units flipped, recall = final overlap >= 0.95")
    say("  load P/N   " + " ".join(f"{a:5.2f}" for a in loads))
    say("  recalled   " + " ".join(f"{r:5.2f}" for r in rates))
    crossing = capacity_estimate(loads, rates)
    say(f"  recall falls below one half at P/N = {crossing:.3f} (theory as N grows: 0.138)")
    if plots:
        from nerve.classic import plots as draw

        draw.line_plot(
            plots / "hopfield.png",
            loads,
            {f"N = {n}": rates},
            "Hopfield memory: recall against load",
            "patterns per neuron",
            "fraction recalled",
        )
    return {"rates": rates, "capacity": crossing}


def _approximation(say, plots) -> dict:
    from nerve.classic.approximation import width_table

    widths = (2, 4, 8, 16, 32)
    targets = ("sin", "abs", "bump")
    say("  max error on [0, 1] of one hidden layer; targets sin(2 pi x), |2x - 1|, a bump")
    activations = ("sigmoid", "tanh", "relu")
    say("  width |" + " |".join(f"{a:^23}" for a in activations))
    say("        |" + " |".join(" ".join(f"{t:>7}" for t in targets) for _ in activations))
    tables, sigmoid_fits = {}, None
    for activation in activations:
        tables[activation], fits = width_table(targets, widths, activation, steps=100)
        sigmoid_fits = sigmoid_fits or fits
    for i, width in enumerate(widths):
        cells = " |".join(" ".join(f"{tables[a][i, j]:7.4f}" for j in range(3)) for a in tables)
        say(f"  {width:5d} |{cells}")
    if plots:
        from nerve.classic import plots as draw

        draw.fitted_functions(plots / "approximation.png", sigmoid_fits, target_index=0)
    return {"tables": tables, "widths": widths}


def _gradients(say, plots) -> dict:
    from nerve.classic.gradients import KINDS, gradient_norms

    reports = [gradient_norms(kind, depth=20, width=64) for kind in KINDS]
    say("  20 hidden layers of width 64, one batch; |dL/dW| of the first and last hidden layer")
    say(f"  {'network':38} {'first':>9} {'last':>9} {'first/last':>11}")
    for report in reports:
        say(
            f"  {KINDS[report.kind]:38} {report.norms[0]:9.2e} {report.norms[-1]:9.2e} "
            f"{report.ratio:11.2e}"
        )
    if plots:
        from nerve.classic import plots as draw

        draw.gradient_norms(plots / "gradients.png", reports)
    return {report.kind: report.ratio for report in reports}


def _depth(say, plots) -> dict:
    from nerve.classic.depth import depth_table

    rows = depth_table(depths=(2, 3, 4, 5, 6, 8), steps=100)
    say("  sawtooth = tent map composed k times (2^k linear pieces) on [0, 1]")
    say(
        "   k  pieces | deep (width 2): params  max err | shallow, same params: width  max err"
        " | shallow, exact: params"
    )
    for r in rows:
        say(
            f"  {r.k:2d}  {2**r.k:6d} | {r.deep_parameters:21d} {r.deep_error:8.1e} | "
            f"{r.small_shallow_width:27d} {r.small_shallow_error:8.3f} | "
            f"{r.exact_shallow_parameters:22d}"
        )
    if plots:
        import nerve
        from nerve.classic import plots as draw
        from nerve.classic.approximation import fit_one_hidden_layer
        from nerve.classic.depth import deep_sawtooth_network, sawtooth_fn

        k = 4
        shallow = fit_one_hidden_layer(
            [sawtooth_fn(k)], 2 * k, "relu", steps=100, n_eval=1025, n_train=4 * 2**k + 1
        )
        with nerve.no_grad():
            deep = deep_sawtooth_network(k)(nerve.tensor(shallow.x[:, None])).numpy()[:, 0]
        draw.sawtooth_fits(
            plots / "depth.png",
            shallow.x,
            shallow.target[0],
            deep,
            shallow.prediction[0],
            k,
            6 * k + 1,
        )
    return {"rows": rows}


MILESTONES: list[Milestone] = [
    Milestone(
        "mcculloch-pitts",
        "1943",
        "Warren McCulloch and Walter Pitts",
        "the neuron as a logic gate",
        "A neuron fires when enough excitatory inputs are on and no inhibitory one is. "
        "Networks of such threshold units can compute any logical function.",
        _mcculloch_pitts,
    ),
    Milestone(
        "hebb",
        "1949 / 1982",
        "Donald Hebb; Erkki Oja",
        "learning by correlation",
        "Connections between units that are active together grow stronger. Alone, the "
        "rule grows weights without bound; Oja's normalised form finds the data's "
        "principal component.",
        _hebb,
    ),
    Milestone(
        "perceptron",
        "1958",
        "Frank Rosenblatt",
        "a neuron that learns",
        "Add the input to the weights whenever the unit answers wrong. On linearly "
        "separable data this stops after at most (R/margin)^2 mistakes.",
        _perceptron,
    ),
    Milestone(
        "adaline",
        "1960",
        "Bernard Widrow and Marcian (Ted) Hoff",
        "the delta rule",
        "Learn from the linear output's error, not the thresholded one: stochastic "
        "gradient descent on squared error, which settles at the least-squares solution.",
        _adaline,
    ),
    Milestone(
        "xor",
        "1969 / 1986",
        "Minsky and Papert; Werbos; Rumelhart, Hinton and Williams",
        "the limits of one layer, and backpropagation",
        "No single threshold unit computes XOR. A hidden layer can, and backpropagating "
        "the error through it finds the weights.",
        _xor,
    ),
    Milestone(
        "hopfield",
        "1982",
        "John Hopfield",
        "memories as energy minima",
        "Store patterns with Hebb's rule in a recurrent network; a corrupted cue rolls "
        "downhill to the stored pattern, until too many patterns crowd the memory.",
        _hopfield,
    ),
    Milestone(
        "approximation",
        "1989 / 1991",
        "George Cybenko; Kurt Hornik",
        "universal approximation",
        "One hidden layer of sigmoids can approximate any continuous function on an "
        "interval, and other activations do as well; the error falls as the layer widens.",
        _approximation,
    ),
    Milestone(
        "gradients",
        "1991 / 2010 / 2015",
        "Hochreiter; Glorot and Bengio; He et al.; Ioffe and Szegedy",
        "vanishing gradients and their cures",
        "In a deep sigmoid network the gradient shrinks layer by layer, so the first "
        "layers barely learn. Careful initialization, residual connections and batch "
        "normalization keep it alive.",
        _gradients,
    ),
    Milestone(
        "depth",
        "2014 / 2016",
        "Montufar et al.; Matus Telgarsky",
        "why depth",
        "Composing a simple fold k times makes 2^k pieces with a few parameters per "
        "layer; a one-hidden-layer network needs about 2^k units for the same function.",
        _depth,
    ),
]


def names() -> list[str]:
    return [m.name for m in MILESTONES]


def find(name: str) -> Milestone:
    """The milestone called name, or a ValueError listing the names (with a close match)."""
    for milestone in MILESTONES:
        if milestone.name == name:
            return milestone
    close = difflib.get_close_matches(name, names(), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"unknown milestone {name!r}.{hint} Milestones: {', '.join(names())}")


def _limit_blas_threads():
    # NOTE: tiny matrices run far slower with many BLAS threads on a busy machine.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1, user_api="blas")


def run_tour(
    selected: Sequence[str] | None = None, plots: str | Path | None = None, file=None
) -> dict[str, dict]:
    """Run the milestones (all, or the named ones in tour order) and print each one's story.

    Returns {name: the figures that milestone printed}. With plots=DIR, PNGs go to DIR.
    """
    file = file or sys.stdout
    chosen = MILESTONES if not selected else [find(name) for name in selected]
    plot_dir = None
    if plots is not None:
        from nerve.classic.plots import require_pyplot

        require_pyplot()
        plot_dir = Path(plots)
        plot_dir.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        print(line, file=file, flush=True)

    limits = _limit_blas_threads()
    figures, start = {}, time.perf_counter()
    try:
        for index, milestone in enumerate(chosen, 1):
            say(f"\n[{index}/{len(chosen)}] {milestone.year}  {milestone.who}: {milestone.title}")
            say(textwrap.fill(milestone.story, 96, initial_indent="  ", subsequent_indent="  "))
            began = time.perf_counter()
            figures[milestone.name] = milestone.run(say, plot_dir)
            say(f"  ({time.perf_counter() - began:.1f}s)")
    finally:
        if limits is not None:
            limits.restore_original_limits()
    say(
        f"\n{len(chosen)} milestone(s) in {time.perf_counter() - start:.1f}s"
        + (f"; pictures in {plot_dir}" if plot_dir else "")
    )
    return figures
