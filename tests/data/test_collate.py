from collections import namedtuple

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate as torch_collate

import nerve
from nerve.data import default_collate, default_convert

Point = namedtuple("Point", "x y")


def same(ours, theirs):
    """Same nesting, container types, dtypes and values (nerve vs torch)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, nerve.Tensor)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b)
    else:
        assert ours == theirs


@pytest.mark.parametrize(
    "samples",
    [
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        ["a", "b"],
        [np.float32(1), np.float32(2)],
        [np.arange(3), np.arange(3, 6)],
        [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
        [(np.ones(2), 1), (np.zeros(2), 0)],
        [[1, "x"], [2, "y"]],
        [{"a": 1, "b": np.ones(2)}, {"a": 2, "b": np.zeros(2)}],
        [Point(1, 2.0), Point(3, 4.0)],
        [{"nested": (1, {"deep": np.ones(1)})}, {"nested": (2, {"deep": np.zeros(1)})}],
    ],
)
def test_matches_torch_default_collate(samples):
    same(default_collate(samples), torch_collate(samples))


def test_stacks_nerve_tensors():
    batch = default_collate([nerve.ones(2, 3), nerve.zeros(2, 3)])
    assert tuple(batch.shape) == (2, 2, 3) and batch.sum().item() == 6


def test_stack_keeps_autograd_when_needed():
    w = nerve.ones(3, requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0, 5.0]


def test_errors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([nerve.ones(2), nerve.ones(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="non-empty list"):
        default_collate([])


def test_default_convert():
    out = default_convert({"x": np.ones(2), "y": [np.zeros(1), 3], "t": (np.ones(1),)})
    assert isinstance(out["x"], nerve.Tensor) and isinstance(out["y"][0], nerve.Tensor)
    assert out["y"][1] == 3 and isinstance(out["t"], tuple)
