"""Recurrent models: a sequence classifier (RNN, LSTM or GRU) and a character-level LSTM LM.

RNNClassifier reads a sequence and classifies it from the recurrent states:

    x (N, L, F)                      # a length-L sequence of F features (batch first)
    -> RNN/LSTM/GRU (num_layers, optionally bidirectional)   # out: (N, L, D*H)
    -> pool: "last" state | "mean" over time | "flatten" all steps
    -> Linear -> (N, num_classes) logits

For MNIST-1D (inputs (N, 1, 40), channels first like Conv1d) ``channels_first=True`` reads the
signal as 40 steps of 1 feature. The MNIST-1D paper's GRU (Greydanus, 2020) is a small
bidirectional GRU whose every output step feeds the classifier ("flatten").

The LSTM (Hochreiter & Schmidhuber, 1997) carries a cell state c through gates, per step t:

    i, f, g, o = sigmoid(.), sigmoid(.), tanh(.), sigmoid(.) of W_ih x_t + W_hh h_{t-1} + b
    c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)

and the GRU (Cho et al., 2014) mixes its state with an update gate z and a reset gate r:

    n_t = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))      h_t = (1 - z) * n_t + z * h_{t-1}

(``nerve.nn.LSTM`` and ``nerve.nn.GRU`` run these equations; this file builds models on them.)

CharLSTM is a character language model (Karpathy's char-rnn, 2015):

    idx (B, T) -> Embedding (B, T, E) -> LSTM (B, T, H) -> Linear -> logits (B, T, vocab)

trained to predict character t+1 from characters 0..t, the loss being the mean of
-log p(idx[t+1] | idx[..t]) in nats per character; ``sample`` draws new text one character at
a time, carrying the LSTM state, with a temperature and an optional top-k cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import nerve
from nerve import nn
from nerve.models.registry import register
from nerve.models.text import check_sampling, sample_next
from nerve.nn import functional as F

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
POOLS = ("last", "mean", "flatten")


@dataclass
class RNNClassifierConfig:
    cell: str = "gru"  # "rnn", "lstm" or "gru"
    input_size: int = 1  # F, features per step
    hidden_size: int = 64
    num_classes: int = 10
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between stacked layers
    pool: str = "last"  # "last", "mean" or "flatten"
    seq_len: int | None = None  # needed by pool="flatten"
    channels_first: bool = False  # inputs (N, F, L) instead of (N, L, F)


class RNNClassifier(nn.Module):
    """A recurrent layer over the sequence, a pooling of its outputs, a linear classifier."""

    def __init__(self, config: RNNClassifierConfig):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(
                f"RNNClassifier: cell must be one of {sorted(CELLS)}, got {config.cell!r}"
            )
        if config.pool not in POOLS:
            raise ValueError(f"RNNClassifier: pool must be one of {POOLS}, got {config.pool!r}")
        if config.pool == "flatten" and not config.seq_len:
            raise ValueError("RNNClassifier: pool='flatten' needs seq_len (the sequence length)")
        self.config = config
        self.rnn = CELLS[config.cell](
            config.input_size,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout,
            bidirectional=config.bidirectional,
        )
        width = config.hidden_size * (2 if config.bidirectional else 1)
        if config.pool == "flatten":
            width *= config.seq_len
        self.head = nn.Linear(width, config.num_classes)

    def forward(self, x):  # x: (N, L, F), or (N, F, L) with channels_first
        if x.ndim != 3:
            raise ValueError(
                f"RNNClassifier: expected input (N, L, F) or (N, F, L), got {tuple(x.shape)}"
            )
        if self.config.channels_first:
            x = x.transpose(1, 2)  # (N, L, F)
        out, _ = self.rnn(x)  # (N, L, D*H)
        if self.config.pool == "last":
            # NOTE: a bidirectional layer's backward direction has read the whole sequence at
            # step 0, so "last" takes the forward half at L-1 and the backward half at 0.
            h = self.config.hidden_size
            feats = (
                out[:, -1]
                if not self.config.bidirectional
                else nerve.cat([out[:, -1, :h], out[:, 0, h:]], dim=-1)
            )  # (N, D*H)
        elif self.config.pool == "mean":
            feats = out.mean(dim=1)  # (N, D*H)
        else:
            feats = out.flatten(1)  # (N, L*D*H)
        return self.head(feats)  # (N, num_classes)


def _sequence_shape(in_shape):
    """(L,) -> one feature per step; (C, L) -> C features per step, channels first."""
    if len(in_shape) == 1:
        return 1, in_shape[0], False
    if len(in_shape) == 2:
        return in_shape[0], in_shape[1], True
    raise ValueError(f"sequence models expect inputs (L,) or (C, L), got shape {tuple(in_shape)}")


def _build(cell, in_shape, num_classes, hidden_size, num_layers, bidirectional, pool, dropout):
    features, length, channels_first = _sequence_shape(in_shape)
    model = RNNClassifier(
        RNNClassifierConfig(
            cell,
            features,
            hidden_size,
            num_classes,
            num_layers,
            bidirectional,
            dropout,
            pool,
            length,
            channels_first,
        )
    )
    if len(in_shape) == 1:
        return _AddFeatureDim(model)
    return model


class _AddFeatureDim(nn.Module):
    """(N, L) -> (N, L, 1) for a classifier that reads plain vectors as sequences."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):  # x: (N, L)
        return self.model(x.unsqueeze(-1))


@register(
    "rnn",
    "Elman RNN sequence classifier (reads (C, L) inputs as L steps of C features)",
    inputs="sequence",
)
def build_rnn(
    in_shape,
    num_classes,
    hidden_size=64,
    num_layers=1,
    bidirectional=False,
    pool="mean",
    dropout=0.0,
):
    return _build(
        "rnn", in_shape, num_classes, hidden_size, num_layers, bidirectional, pool, dropout
    )


@register(
    "lstm",
    "LSTM sequence classifier (reads (C, L) inputs as L steps of C features)",
    inputs="sequence",
)
def build_lstm(
    in_shape,
    num_classes,
    hidden_size=64,
    num_layers=1,
    bidirectional=False,
    pool="mean",
    dropout=0.0,
):
    return _build(
        "lstm", in_shape, num_classes, hidden_size, num_layers, bidirectional, pool, dropout
    )


@register(
    "gru",
    "GRU sequence classifier (the MNIST-1D paper's: bidirectional, flattened)",
    inputs="sequence",
)
def build_gru(
    in_shape,
    num_classes,
    hidden_size=24,
    num_layers=1,
    bidirectional=True,
    pool="flatten",
    dropout=0.0,
):
    return _build(
        "gru", in_shape, num_classes, hidden_size, num_layers, bidirectional, pool, dropout
    )


# ---------------------------------------------------------------------------- char LSTM LM
@dataclass
class CharLSTMConfig:
    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0


class CharLSTM(nn.Module):
    """Character embedding, LSTM, and a linear read-out of next-character logits."""

    def __init__(self, config: CharLSTMConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.lstm = nn.LSTM(
            config.embed_dim,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout,
        )
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, idx, targets=None, state=None):
        """idx: (B, T) ids -> (logits (B, T, vocab), loss or None, state (h, c)).

        With ``targets`` (B, T), loss is the mean cross-entropy in nats per character.
        """
        x = self.embed(idx)  # (B, T, E)
        out, state = self.lstm(x, state)  # (B, T, H); h, c: (num_layers, B, H)
        logits = self.head(out)  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss, state

    @nerve.no_grad()
    def sample(self, prompt, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Continue ``prompt`` (B, T0) ids by ``max_new_tokens`` ids -> (B, T0 + max_new_tokens).

        Each step samples from softmax(logits / temperature), restricted to the ``top_k`` most
        likely characters when given. The prompt is read once; then one character per step.
        """
        check_sampling("CharLSTM.sample", temperature, top_k, None)
        was_training = self.training
        self.eval()
        idx = prompt
        logits, _, state = self(idx)
        for _ in range(max_new_tokens):
            next_id = sample_next(logits[:, -1], temperature, top_k, None, generator)  # (B, 1)
            idx = nerve.cat([idx, next_id], dim=1)
            logits, _, state = self(next_id, state=state)
        self.train(was_training)
        return idx
