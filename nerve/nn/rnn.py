"""Recurrent layers: RNN, LSTM, GRU (stacked, optionally bidirectional) and their single-step cells.

The parameters have PyTorch's names and shapes, so a ``state_dict`` loads across: for layer k and
direction suffix s ('' or '_reverse'), ``weight_ih_l{k}{s}`` (G*H, in), ``weight_hh_l{k}{s}``
(G*H, H), ``bias_ih_l{k}{s}`` and ``bias_hh_l{k}{s}`` (G*H,), with G = 1 (RNN), 4 (LSTM: gates
i, f, g, o) or 3 (GRU: r, z, n). Every parameter starts uniform in (-1/sqrt(H), 1/sqrt(H)).

    >>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
    >>> out, (h_n, c_n) = lstm(nerve.randn(3, 5, 10))   # out: (3, 5, 20); h_n, c_n: (2, 3, 20)

Each layer projects its whole input sequence in one matmul, then runs a fused time-loop Function
(``nerve.nn.functional.rnn``). Dropout (training only) is applied to every layer's output but the
last, as in PyTorch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from nerve import _dtype
from nerve.device import array_module
from nerve.nn.functional import rnn as R
from nerve.nn.functional.dropout import dropout
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.linalg import linear
from nerve.ops.shape import cat, stack
from nerve.random import _generator
from nerve.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


def _check_dropout(layer, dropout):
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"{layer}: dropout must be a number in [0, 1], got {dropout!r}")


def _parameter(shape, dtype):
    """An uninitialized Parameter (``reset_parameters`` fills it)."""
    np_dtype = _dtype.to_np(dtype) if dtype is not None else _dtype.default_float.np
    return Parameter(Tensor._wrap(np.empty(shape, dtype=np_dtype)))


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters, shape checks, layer stacking."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        layer = type(self).__name__
        _check_positive_int(layer, "input_size", input_size)
        _check_positive_int(layer, "hidden_size", hidden_size)
        _check_positive_int(layer, "num_layers", num_layers)
        _check_dropout(layer, dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{layer}: dropout={dropout} has no effect with num_layers=1: it acts "
                "between layers",
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = 0
        gates = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for k in range(num_layers):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                in_size = input_size if k == 0 else hidden_size * self.num_directions
                shapes = {"weight_ih": (gates, in_size), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for base, shape in shapes.items():
                    name = f"{base}_l{k}{suffix}"
                    setattr(self, name, _parameter(shape, dtype))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        rng = _generator(None)
        for p in self.parameters():
            p._data[...] = rng.uniform(-bound, bound, p._data.shape)

    def flatten_parameters(self) -> None:
        """Does nothing: kept so that PyTorch code calling it runs unchanged."""

    def _layer_params(self, k, suffix):
        get = self._parameters.get
        return (
            get(f"weight_ih_l{k}{suffix}"),
            get(f"weight_hh_l{k}{suffix}"),
            get(f"bias_ih_l{k}{suffix}"),
            get(f"bias_hh_l{k}{suffix}"),
        )

    def _check_input(self, x):
        layer = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{layer}: input must be a Tensor, got {type(x).__name__}")
        order = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{layer}: expected input of shape {order} or (L, H_in) with H_in = "
                f"{self.input_size}, got {tuple(x.shape)}"
            )

    def _check_state(self, state, name, batch, batched):
        layer = type(self).__name__
        rows = self.num_layers * self.num_directions
        expected = (rows, batch, self.hidden_size) if batched else (rows, self.hidden_size)
        if not isinstance(state, Tensor) or tuple(state.shape) != expected:
            got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(f"{layer}: expected {name} of shape {expected}, got {got}")

    def _run(self, x, states):
        """Run all layers. x: batched input; states: list of per-kind (D*L, N, H) tensors or None.

        Returns the output and, per state kind, the stacked final states (D*L, N, H).
        """
        finals = [[] for _ in states]
        layer_input = x
        for k in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[: self.num_directions]):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(k, suffix)
                row = k * self.num_directions + d
                init = [None if s is None else s[row] for s in states]
                result = self._layer(layer_input, w_ih, w_hh, b_ih, b_hh, init, bool(d))
                outputs.append(result[0])
                for acc, final in zip(finals, result[1:], strict=True):
                    acc.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, -1)
            if k < self.num_layers - 1:
                layer_input = dropout(layer_input, self.dropout, self.training)
        return layer_input, [stack(acc, 0) for acc in finals]

    def _forward(self, x, states, names):
        self._check_input(x)
        batched = x.ndim == 3
        if not batched:  # (L, H_in) -> (1, L, H_in) or (L, 1, H_in)
            x = x.unsqueeze(0 if self.batch_first else 1)
        batch = x.shape[0 if self.batch_first else 1]
        for i, (s, name) in enumerate(zip(states, names, strict=True)):
            if s is not None:
                self._check_state(s, name, batch, batched)
                if s.dtype != x.dtype:
                    raise TypeError(
                        f"{type(self).__name__}: {name} dtype {s.dtype} does not "
                        f"match the input dtype {x.dtype}"
                    )
                states[i] = s if batched else s.unsqueeze(1)
        out, finals = self._run(x, states)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            finals = [f.squeeze(1) for f in finals]
        return out, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    input: (L, N, H_in) ((N, L, H_in) with batch_first) or unbatched (L, H_in); h0: (D*num_layers,
    N, H). Returns (output (L, N, D*H), h_n (D*num_layers, N, H)).
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def _layer(self, x, w_ih, w_hh, b_ih, b_hh, init, reverse):
        gx = linear(x, w_ih, b_ih)  # all input projections in one matmul
        return R.rnn_layer(gx, w_hh, b_hh, init[0], self.nonlinearity, reverse, self.batch_first)

    def forward(self, input, hx=None):
        out, (h_n,) = self._forward(input, [hx], ["hx"])
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), gates in PyTorch's order:

        i, f, g, o = sigma, sigma, tanh, sigma (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    input: (L, N, H_in) ((N, L, H_in) with batch_first) or (L, H_in); hx = (h0, c0), each
    (D*num_layers, N, H). Returns (output (L, N, D*H), (h_n, c_n)).
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        if proj_size != 0:
            raise ValueError(f"LSTM: proj_size is not supported (expected 0), got {proj_size!r}")
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def _layer(self, x, w_ih, w_hh, b_ih, b_hh, init, reverse):
        return R.lstm_layer(x, w_ih, w_hh, b_ih, b_hh, init[0], init[1], reverse, self.batch_first)

    def forward(self, input, hx=None):
        if hx is None:
            states = [None, None]
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            states = list(hx)
        else:
            raise TypeError("LSTM: hx must be a tuple (h0, c0)")
        out, (h_n, c_n) = self._forward(input, states, ["h0", "c0"])
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), gates in PyTorch's order r, z, n:

        r, z = sigma(x_t W_i[r,z]^T + b_i[r,z] + h_{t-1} W_h[r,z]^T + b_h[r,z])
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)),   h_t = (1 - z) n + z h_{t-1}

    Shapes as for ``RNN``. Returns (output, h_n).
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def _layer(self, x, w_ih, w_hh, b_ih, b_hh, init, reverse):
        gx = linear(x, w_ih, b_ih)
        return R.gru_layer(gx, w_hh, b_hh, init[0], reverse, self.batch_first)

    def forward(self, input, hx=None):
        out, (h_n,) = self._forward(input, [hx], ["hx"])
        return out, h_n


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, gates, dtype=None):
        super().__init__()
        layer = type(self).__name__
        _check_positive_int(layer, "input_size", input_size)
        _check_positive_int(layer, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _parameter((gates * hidden_size, input_size), dtype)
        self.weight_hh = _parameter((gates * hidden_size, hidden_size), dtype)
        if bias:
            self.bias_ih = _parameter((gates * hidden_size,), dtype)
            self.bias_hh = _parameter((gates * hidden_size,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            p._data[...] = _generator(None).uniform(-bound, bound, p._data.shape)

    def _prepare(self, x, states, names):
        """Check shapes; lift unbatched (H_in,) input to (1, H_in); zeros for missing states."""
        layer = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"{layer}: expected input of shape (N, {self.input_size}) or "
                f"({self.input_size},), got {got}"
            )
        batched = x.ndim == 2
        x = x if batched else x.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        out = []
        for s, name in zip(states, names, strict=True):
            if s is None:
                xp = array_module(x._data)
                s = Tensor._wrap(xp.zeros((x.shape[0], self.hidden_size), dtype=x._data.dtype))
            else:
                if not isinstance(s, Tensor) or tuple(s.shape) != expected:
                    got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
                    raise ValueError(f"{layer}: expected {name} of shape {expected}, got {got}")
                s = s if batched else s.unsqueeze(0)
            out.append(s)
        return x, out, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). x: (N, H_in), h: (N, H)."""

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx], ["hx"])
        pre = linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        h_new = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return h_new if batched else h_new.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step. x: (N, H_in), hx = (h, c) each (N, H); returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input, hx=None):
        states = [None, None] if hx is None else list(hx)
        x, (h, c), batched = self._prepare(input, states, ["h", "c"])
        pre = linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        h_new, c_new = R.lstm_cell_gates(pre, c)
        return (h_new, c_new) if batched else (h_new.squeeze(0), c_new.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step. x: (N, H_in), h: (N, H); returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx], ["hx"])
        gi = linear(x, self.weight_ih, self.bias_ih)
        gh = linear(h, self.weight_hh, self.bias_hh)
        h_new = R.gru_cell_gates(gi, gh, h)
        return h_new if batched else h_new.squeeze(0)


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
