"""One neuron, y = f(w.x + b), worked out on paper: its value, its gradients, one second derivative.

The numbers are chosen so that every intermediate is exact in binary floating point (or nearly),
and the test states the arithmetic in comments, so a reader can check it with a pencil.
"""

import math

import pytest

import nerve
import nerve.nn.functional as F


def test_sigmoid_neuron_with_squared_error():
    # x = (1, 2), w = (0.5, -0.5), b = 0.5, target t = 1
    x = nerve.tensor([1.0, 2.0], dtype=nerve.float64, requires_grad=True)
    w = nerve.tensor([0.5, -0.5], dtype=nerve.float64, requires_grad=True)
    b = nerve.tensor(0.5, dtype=nerve.float64, requires_grad=True)
    z = (w * x).sum() + b  # z = 0.5*1 + (-0.5)*2 + 0.5 = 0.5 - 1 + 0.5 = 0
    y = F.sigmoid(z)  # y = 1 / (1 + e^0) = 1/2
    loss = (y - 1.0) ** 2  # L = (1/2 - 1)^2 = 1/4
    assert z.item() == 0.0 and y.item() == 0.5 and loss.item() == 0.25

    loss.backward()
    # dL/dy = 2 (y - t) = 2 (-1/2) = -1
    # dy/dz = sigma(z) (1 - sigma(z)) = 1/2 * 1/2 = 1/4      so dL/dz = -1/4
    # dL/dw = dL/dz * x = -1/4 * (1, 2) = (-0.25, -0.5)
    # dL/db = dL/dz = -0.25
    # dL/dx = dL/dz * w = -1/4 * (0.5, -0.5) = (-0.125, 0.125)
    assert w.grad.tolist() == [-0.25, -0.5]
    assert b.grad.item() == -0.25
    assert x.grad.tolist() == [-0.125, 0.125]


def test_tanh_neuron_and_its_second_derivative():
    # x = (2, 1), w = (0.5, -1), b = ln 2, and the output itself is the objective
    x = nerve.tensor([2.0, 1.0], dtype=nerve.float64)
    w = nerve.tensor([0.5, -1.0], dtype=nerve.float64, requires_grad=True)
    b = nerve.tensor(math.log(2.0), dtype=nerve.float64, requires_grad=True)
    z = w @ x + b  # z = 0.5*2 + (-1)*1 + ln 2 = ln 2
    y = z.tanh()  # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 1.5 / 2.5 = 0.6
    assert y.item() == pytest.approx(0.6, abs=1e-15)

    dw, db = nerve.autograd.grad(y, (w, b), create_graph=True)
    # dy/dz = 1 - tanh^2 = 1 - 0.36 = 0.64
    # dy/dw = 0.64 * x = (1.28, 0.64);  dy/db = 0.64
    assert dw.tolist() == pytest.approx([1.28, 0.64], abs=1e-15)
    assert db.item() == pytest.approx(0.64, abs=1e-15)

    (d2b,) = nerve.autograd.grad(db, b)
    # d2y/db2 = d/dz (1 - tanh^2 z) = -2 tanh z (1 - tanh^2 z) = -2 * 0.6 * 0.64 = -0.768
    assert d2b.item() == pytest.approx(-0.768, abs=1e-15)


def test_relu_neuron_batch_of_two():
    # two inputs in a batch: X = [[1, 2], [-3, 1]], w = (1, 1), b = -1, f = relu, L = sum of outputs
    X = nerve.tensor([[1.0, 2.0], [-3.0, 1.0]])
    w = nerve.tensor([1.0, 1.0], requires_grad=True)
    b = nerve.tensor(-1.0, requires_grad=True)
    z = X @ w + b  # z = (1 + 2 - 1, -3 + 1 - 1) = (2, -3)
    y = F.relu(z)  # y = (2, 0)
    y.sum().backward()
    assert z.tolist() == [2.0, -3.0] and y.tolist() == [2.0, 0.0]
    # only the first example is active (z > 0): dL/dz = (1, 0)
    # dL/dw = X^T (1, 0) = (1, 2);  dL/db = 1 + 0 = 1
    assert w.grad.tolist() == [1.0, 2.0] and b.grad.item() == 1.0
