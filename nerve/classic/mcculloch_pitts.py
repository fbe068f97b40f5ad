"""The McCulloch-Pitts neuron (1943): a binary threshold unit, and networks of them.

McCulloch and Pitts, "A logical calculus of the ideas immanent in nervous activity" (1943). A unit
reads binary inputs, some excitatory and some inhibitory, and fires (outputs 1) when

    no inhibitory input is active   and   sum_i w_i x_i >= threshold

The 1943 paper uses unit weights and *absolute* inhibition: one active inhibitory input silences
the unit whatever the rest say. We also allow integer (possibly negative) weights, the form later
texts call a linear threshold unit; NAND below uses them. Networks of such units compute any
Boolean function (``truth_table_network``). Plain NumPy: there is nothing to learn here.

Example:
    >>> xor = xor_network()
    >>> xor([[0, 0], [0, 1], [1, 0], [1, 1]]).tolist()
    [0, 1, 1, 0]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np


def _as_binary(x, n_inputs: int, name: str = "x") -> np.ndarray:
    """Check and convert binary inputs to an int array of shape (N, n_inputs)."""
    array = np.asarray(x)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_inputs:
        raise ValueError(
            f"{name} must have shape ({n_inputs},) or (N, {n_inputs}), got shape {np.shape(x)}"
        )
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1, got values {np.unique(array)}")
    return array.astype(np.int64)


class MPNeuron:
    """A McCulloch-Pitts threshold unit.

    y = 1  if  x_j = 0 for every inhibitory j  and  sum_i w_i x_i >= threshold,  else 0.

    Args:
        n_inputs: number of binary inputs.
        threshold: the firing threshold (an integer in the 1943 model).
        inhibitory: indices of the inputs with absolute inhibition; they take no part in the sum.
        weights: integer weights of the inputs (default 1 for each, as in the 1943 paper).

    Input x: (n_inputs,) or (N, n_inputs) of 0/1. Output: (N,) of 0/1 (N = 1 for a single input).
    """

    def __init__(
        self,
        n_inputs: int,
        threshold: float,
        inhibitory: Sequence[int] = (),
        weights: Sequence[float] | None = None,
    ):
        if not isinstance(n_inputs, int) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
        inhibitory = tuple(int(j) for j in inhibitory)
        if any(j < 0 or j >= n_inputs for j in inhibitory):
            raise ValueError(
                f"inhibitory indices must lie in [0, {n_inputs - 1}], got {list(inhibitory)}"
            )
        if weights is None:
            weights = np.ones(n_inputs)
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (n_inputs,):
            raise ValueError(f"weights must have shape ({n_inputs},), got shape {weights.shape}")
        self.n_inputs = n_inputs
        self.threshold = float(threshold)
        self.inhibitory = inhibitory
        self.weights = weights.copy()
        self.weights[list(inhibitory)] = 0.0

    def __call__(self, x) -> np.ndarray:
        x = _as_binary(x, self.n_inputs)
        vetoed = x[:, list(self.inhibitory)].any(axis=1)
        fires = (x @ self.weights >= self.threshold) & ~vetoed
        return fires.astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"MPNeuron(n_inputs={self.n_inputs}, threshold={self.threshold:g}, "
            f"inhibitory={list(self.inhibitory)}, weights={self.weights.tolist()})"
        )


class ThresholdNetwork:
    """A feed-forward network of McCulloch-Pitts units, evaluated layer by layer.

    ``layers[k]`` is a list of units that all read the outputs of layer k - 1 (layer 0 reads the
    network's input). Input x: (N, n_inputs); output: (N,) if the last layer has one unit, else
    (N, units).
    """

    def __init__(self, layers: Sequence[Sequence[MPNeuron]]):
        if not layers or any(len(layer) == 0 for layer in layers):
            raise ValueError("layers must be a non-empty list of non-empty lists of MPNeuron")
        for k in range(1, len(layers)):
            for unit in layers[k]:
                if unit.n_inputs != len(layers[k - 1]):
                    raise ValueError(
                        f"a unit in layer {k} has n_inputs={unit.n_inputs}, but layer {k - 1} "
                        f"has {len(layers[k - 1])} units"
                    )
        self.layers = [list(layer) for layer in layers]
        self.n_inputs = self.layers[0][0].n_inputs

    def __call__(self, x) -> np.ndarray:
        h = _as_binary(x, self.n_inputs)
        for layer in self.layers:
            h = np.stack([unit(h) for unit in layer], axis=1)  # (N, units)
        return h[:, 0] if h.shape[1] == 1 else h

    def n_units(self) -> int:
        return sum(len(layer) for layer in self.layers)


def and_unit(n_inputs: int = 2) -> MPNeuron:
    """AND: fires when all inputs are on (threshold n)."""
    return MPNeuron(n_inputs, threshold=n_inputs)


def or_unit(n_inputs: int = 2) -> MPNeuron:
    """OR: fires when any input is on (threshold 1)."""
    return MPNeuron(n_inputs, threshold=1)


def not_unit() -> MPNeuron:
    """NOT: one inhibitory input and threshold 0, so it fires exactly when the input is off."""
    return MPNeuron(1, threshold=0, inhibitory=[0])


def nand_unit(n_inputs: int = 2) -> MPNeuron:
    """NAND with weights -1 and threshold -(n - 1): fires unless every input is on."""
    return MPNeuron(n_inputs, threshold=-(n_inputs - 1), weights=[-1] * n_inputs)


def xor_network() -> ThresholdNetwork:
    """XOR from two layers: h1 = x1 AND NOT x2, h2 = x2 AND NOT x1, y = h1 OR h2."""
    x1_not_x2 = MPNeuron(2, threshold=1, inhibitory=[1])
    x2_not_x1 = MPNeuron(2, threshold=1, inhibitory=[0])
    return ThresholdNetwork([[x1_not_x2, x2_not_x1], [or_unit(2)]])


def truth_table(fn: Callable[..., int], n_inputs: int) -> dict[tuple[int, ...], int]:
    """Tabulate a Boolean function of n_inputs bits: {(x1, ..., xn): fn(x1, ..., xn)}."""
    return {bits: int(bool(fn(*bits))) for bits in itertools.product((0, 1), repeat=n_inputs)}


def truth_table_network(table: Mapping[tuple[int, ...], int] | Sequence[int]) -> ThresholdNetwork:
    """Build a two-layer threshold network that computes any truth table.

    This is the disjunctive normal form made of neurons: one hidden "minterm" unit per row whose
    output is 1. The minterm unit for row r is excitatory on the inputs that are 1 in r and
    inhibitory on those that are 0, with threshold = the number of ones, so it fires on r alone.
    The output unit ORs the minterms. (A table with no 1 gets a single silent unit.)

    Args:
        table: a dict {(x1, ..., xn): 0 or 1} covering all 2**n rows, or a sequence of 2**n
            outputs in the order of ``itertools.product((0, 1), repeat=n)``.
    """
    if isinstance(table, Mapping):
        rows = {tuple(int(b) for b in k): v for k, v in table.items()}
        lengths = {len(k) for k in rows}
        if len(lengths) != 1:
            raise ValueError(f"table keys must all have the same length, got lengths {lengths}")
        n_inputs = lengths.pop()
        missing = [b for b in itertools.product((0, 1), repeat=n_inputs) if b not in rows]
        if missing:
            raise ValueError(f"table must cover all {2**n_inputs} rows, missing {missing[:4]}")
    else:
        outputs = list(table)
        n_inputs = max(len(outputs), 1).bit_length() - 1
        if n_inputs < 1 or len(outputs) != 2**n_inputs:
            raise ValueError(
                f"table must have 2**n outputs (n >= 1), got a sequence of length {len(outputs)}"
            )
        rows = dict(zip(itertools.product((0, 1), repeat=n_inputs), outputs, strict=True))
    if any(v not in (0, 1) for v in rows.values()):
        raise ValueError(f"table outputs must be 0 or 1, got {sorted(set(rows.values()))}")

    minterms = []
    for bits, out in rows.items():
        if out == 1:
            zeros = [j for j, b in enumerate(bits) if b == 0]
            minterms.append(MPNeuron(n_inputs, threshold=sum(bits), inhibitory=zeros))
    if not minterms:
        # NOTE: a unit whose every input is inhibitory and whose threshold is 1 never fires.
        silent = MPNeuron(n_inputs, threshold=1, inhibitory=range(n_inputs))
        return ThresholdNetwork([[silent], [or_unit(1)]])
    return ThresholdNetwork([minterms, [or_unit(len(minterms))]])
