"""nerve.summary: rows (name, type, output shape, parameters), totals, printing, errors."""

import pytest
import torch

import nerve
from nerve import nn


def _mlp():
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))


def test_mlp_rows_and_totals(capsys):
    result = nerve.summary(_mlp(), (10, 2))
    printed = capsys.readouterr().out
    assert printed.strip() == str(result).strip()
    assert [(r.name, r.type, r.output_shape, r.num_params) for r in result.rows] == [
        ("0", "Linear", [10, 8], 24),
        ("1", "Tanh", [10, 8], 0),
        ("2", "Linear", [10, 8], 72),
        ("3", "Tanh", [10, 8], 0),
        ("4", "Linear", [10, 1], 9),
    ]
    twin = torch.nn.Sequential(
        torch.nn.Linear(2, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1),
    )
    assert result.total_params == sum(p.numel() for p in twin.parameters()) == 105
    assert "Total params: 105" in printed and "Trainable params: 105" in printed
    assert "Non-trainable params: 0" in printed
    assert "0 (Linear)" in printed and "[10, 8]" in printed


def test_nested_containers_frozen_params_and_buffers():
    model = nn.Sequential(
        nn.Linear(4, 6),
        nn.Residual(nn.Sequential(nn.Linear(6, 6), nn.ReLU())),
        nn.BatchNorm1d(6),
        nn.Linear(6, 3),
    )
    model[0].requires_grad_(False)
    result = nerve.summary(model, (5, 4), print_fn=None)
    by_name = {(r.name, r.depth): r for r in result.rows}
    assert by_name[("1", 0)].type == "Residual" and by_name[("1", 0)].num_params == 42
    assert by_name[("fn", 1)].type == "Sequential" and by_name[("0", 2)].depth == 2
    assert result.total_params == 30 + 42 + 12 + 21
    assert result.non_trainable_params == 30
    assert result.buffer_bytes > 0  # running statistics
    assert "    0 (Linear)" in str(result)  # indented by depth


def test_mode_and_random_state_are_restored():
    model = _mlp()
    model[1].eval()
    nerve.manual_seed(0)
    expected = nerve.rand(3).numpy()
    nerve.manual_seed(0)
    nerve.summary(model, (1, 2), print_fn=None)
    assert nerve.rand(3).numpy().tolist() == expected.tolist()
    assert model.training and model[0].training and not model[1].training


def test_integer_inputs_and_tuple_outputs():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    result = nerve.summary(model, (2, 3), dtype=nerve.int64, print_fn=None)
    assert result.rows[0].output_shape == [2, 3, 4] and result.input_dtype == "int64"

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 5)

        def forward(self, x):
            return self.a(x), self.b(x)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.pair = Pair()

        def forward(self, x):
            return self.pair(x)

    result = nerve.summary(Outer(), (4, 3), print_fn=None)
    assert result.rows[0].output_shape == [[4, 2], [4, 5]]
    assert "[[4, 2], [4, 5]]" in str(result)


def test_shared_module_is_counted_once():
    shared = nn.Linear(3, 3)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = shared

        def forward(self, x):
            return self.layer(self.layer(x))

    result = nerve.summary(Twice(), (1, 3), print_fn=None)
    assert len(result.rows) == 2 and result.rows[1].repeated
    assert result.total_params == 12


def test_errors():
    with pytest.raises(
        RuntimeError,
        match=r"summary: the forward pass of Sequential failed on an "
        r"input of shape \[1, 3\]: ValueError: Linear",
    ):
        nerve.summary(_mlp(), (1, 3), print_fn=None)
    with pytest.raises(TypeError, match=r"summary: model must be an nn.Module"):
        nerve.summary(lambda x: x, (1, 2))
    with pytest.raises(ValueError, match=r"summary: give input_shape"):
        nerve.summary(_mlp())
