"""``nerve.classic``: the milestones of the field as code you can run, read and test.

Each module is one milestone; the ones without gradients are plain NumPy, the rest run on
nerve's engine. ``nerve history`` (``nerve.classic.tour``) walks through them in order.

- ``mcculloch_pitts``: threshold units (1943), logic gates, XOR, any truth table.
- ``hebb``: Hebb's rule (1949) and Oja's rule (1982), which finds the principal component.
- ``hopfield``: an associative memory (1982) and its capacity, about 0.14 patterns per neuron.
- ``perceptron``: Rosenblatt's rule (1958) and its (R / margin)^2 mistake bound.
- ``adaline``: the LMS / delta rule (1960), which converges to least squares.
- ``xor``: why one layer fails on XOR (1969), and backprop training a 2-2-1 network (1986).
- ``approximation``: one hidden layer approximates continuous functions (1989, 1991).
- ``depth``: a sawtooth that deep narrow ReLU networks build cheaply and shallow ones cannot.
- ``gradients``: vanishing and exploding gradients, and He init, residuals and batch norm.
"""

from nerve.classic.adaline import Adaline, least_squares
from nerve.classic.hebb import hebb, oja
from nerve.classic.hopfield import HopfieldNetwork
from nerve.classic.mcculloch_pitts import (
    MPNeuron,
    ThresholdNetwork,
    and_unit,
    nand_unit,
    not_unit,
    or_unit,
    truth_table_network,
    xor_network,
)
from nerve.classic.perceptron import Perceptron, convergence_bound

__all__ = [
    "Adaline",
    "HopfieldNetwork",
    "MPNeuron",
    "Perceptron",
    "ThresholdNetwork",
    "and_unit",
    "convergence_bound",
    "hebb",
    "least_squares",
    "nand_unit",
    "not_unit",
    "oja",
    "or_unit",
    "truth_table_network",
    "xor_network",
]
