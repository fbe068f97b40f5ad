"""``nerve.autograd.detect_anomaly``: names the op that first produced NaN or Inf, in the forward
pass or the backward pass."""

import pytest

import nerve
from nerve.autograd import detect_anomaly, is_anomaly_enabled


def test_forward_nan_names_the_op():
    x = nerve.tensor([-1.0, 4.0], requires_grad=True)
    with detect_anomaly():
        assert is_anomaly_enabled()
        y = x * 2
        with pytest.raises(RuntimeError, match="anomaly detected: Log produced NaN or Inf in its"):
            y.log()
    assert not is_anomaly_enabled()


def test_forward_check_works_without_a_graph():
    with detect_anomaly():
        with pytest.raises(RuntimeError, match="anomaly detected: Div produced NaN or Inf"):
            nerve.ones(2) / nerve.zeros(2)


def test_only_the_first_op_is_blamed():
    with detect_anomaly():
        with pytest.raises(RuntimeError, match="Exp produced"):
            y = (nerve.tensor([1000.0]).exp() - 1.0) * 2
        bad = nerve.tensor([float("nan"), 1.0])
        y = bad * 2 + 1  # NaN in, NaN out: not this op's fault
        assert y.isnan().any().item()


def test_backward_nan_names_the_op_and_the_forward_line():
    x = nerve.tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = x.sqrt()  # finite forward; the gradient 1 / (2 sqrt(0)) is inf
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    message = str(info.value)
    assert "anomaly detected: SqrtBackward returned NaN or Inf gradients" in message
    assert "y = x.sqrt()" in message  # where the op was created


def test_without_detection_nothing_is_raised():
    x = nerve.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert x.grad.isinf().all().item()
    assert (nerve.ones(1) / nerve.zeros(1)).isinf().all().item()


def test_detect_anomaly_restores_on_exit_and_can_be_switched_off():
    with detect_anomaly(check_nan=False):
        assert not is_anomaly_enabled()
        (nerve.ones(1) / nerve.zeros(1)).sum()
    with pytest.raises(ValueError):
        with detect_anomaly():
            raise ValueError
    assert not is_anomaly_enabled()
