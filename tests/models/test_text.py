"""The character corpus, its vocabulary, batches, evaluation and sampling (nerve/models/text.py)."""

import math

import numpy as np
import pytest

import nerve
from nerve.models import text


@pytest.fixture(scope="module")
def data():
    return text.load_text()


def test_corpus_is_deterministic_and_sized(data):
    corpus = text.load_corpus()
    assert corpus == text.load_corpus()
    assert 300_000 < len(corpus) < 800_000
    assert corpus.startswith("# ---- argparse.py\n")
    assert set(corpus) <= set(text.CHARS)
    assert len(data.train) + len(data.val) == len(corpus)
    assert abs(len(data.val) / len(corpus) - 0.1) < 1e-3
    # the split is contiguous: train then validation
    assert data.vocab.decode(data.train[:18]) == "# ---- argparse.py"


def test_vocab_roundtrip_and_cleaning():
    vocab = text.CharVocab()
    assert len(vocab) == 96
    s = "def f(x):\n    return x ** 2  # ok ~"
    assert vocab.decode(vocab.encode(s)) == s
    assert text.clean("a\tb\u00e9c") == "a b?c"
    assert vocab.decode(vocab.encode("\u00e9")) == "?"
    with pytest.raises(TypeError, match="text must be a str"):
        vocab.encode(3)


def test_get_batch_shifts_targets_by_one(data):
    g = nerve.Generator().manual_seed(0)
    x, y = text.get_batch(data.train, 4, 16, generator=g)
    assert x.shape == (4, 16) and y.shape == (4, 16)
    assert x.dtype == nerve.int64
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    x2, _ = text.get_batch(data.train, 4, 16, generator=nerve.Generator().manual_seed(0))
    np.testing.assert_array_equal(x.numpy(), x2.numpy())
    with pytest.raises(ValueError, match="shorter than block_size"):
        text.get_batch(data.train[:10], 2, 16)


class _Uniform(nerve.nn.Module):
    """A language model that knows nothing: equal logits for every character."""

    def forward(self, idx, targets=None):
        logits = nerve.zeros(*idx.shape, 96)
        loss = nerve.nn.functional.cross_entropy(logits.reshape(-1, 96), targets.reshape(-1))
        return logits, loss


def test_evaluate_loss_of_a_uniform_model_is_log_vocab(data):
    loss = text.evaluate_loss(_Uniform(), data.val, block_size=32, max_batches=2)
    assert loss == pytest.approx(math.log(96), rel=1e-6)


def test_sample_next_greedy_topk_topp():
    logits = nerve.tensor([[0.0, 3.0, 1.0, 2.0]])  # order of likelihood: 1, 3, 2, 0
    assert text.sample_next(logits, temperature=0).item() == 1
    g = nerve.Generator().manual_seed(0)
    draws = [text.sample_next(logits, top_k=2, generator=g).item() for _ in range(300)]
    assert set(draws) == {1, 3}
    # softmax([0, 3, 1, 2]) = [0.032, 0.644, 0.087, 0.237]: top_p=0.8 keeps {1, 3}
    draws = [text.sample_next(logits, top_p=0.8, generator=g).item() for _ in range(2000)]
    assert set(draws) == {1, 3}
    share = draws.count(1) / len(draws)  # 0.644 / (0.644 + 0.237) = 0.731
    assert abs(share - 0.731) < 0.04
    # top_p below the largest probability keeps just the most likely id
    assert {text.sample_next(logits, top_p=0.1, generator=g).item() for _ in range(50)} == {1}
    # plain sampling matches the softmax frequencies
    draws = [text.sample_next(logits, generator=g).item() for _ in range(3000)]
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.032, 0.644, 0.087, 0.237], atol=0.03)
    # a high temperature flattens the distribution
    draws = [text.sample_next(logits, temperature=100.0, generator=g).item() for _ in range(2000)]
    assert np.bincount(draws, minlength=4).min() > 400


def test_sampling_arguments_are_checked():
    logits = nerve.zeros(1, 4)
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        text.sample_next(logits, temperature=-1)
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        text.sample_next(logits, top_k=0)
    with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]"):
        text.sample_next(logits, top_p=1.5)
    with pytest.raises(ValueError, match="val_fraction"):
        text.load_text(val_fraction=0)


class _Bigram(nerve.nn.Module):
    """The smallest trainable language model: a table of next-character logits."""

    def __init__(self):
        super().__init__()
        self.table = nerve.nn.Embedding(96, 96)

    def forward(self, idx, targets=None):
        logits = self.table(idx)  # (B, T, 96)
        loss = nerve.nn.functional.cross_entropy(logits.reshape(-1, 96), targets.reshape(-1))
        return logits, loss


def test_lm_trainer_schedule_slices_and_budget(data):
    nerve.manual_seed(0)
    trainer = text.LMTrainer(
        _Bigram(), data, block_size=16, batch_size=8, lr=0.1, max_steps=40, warmup=10
    )
    assert trainer.lr_now() == pytest.approx(0.01)  # warm-up: step 1 of 10
    trainer.train(seconds=0.0)  # an empty slice trains nothing
    assert trainer.steps == 0 and not trainer.done
    trainer.steps = 20  # halfway: the cosine is at (1 + 0.1) / 2 of lr
    assert trainer.lr_now() == pytest.approx(0.1 * 0.55)
    trainer.steps = 40
    assert trainer.lr_now() == pytest.approx(0.01) and trainer.done  # the floor: 0.1 lr
    trainer.steps = 0
    trainer.train()
    assert trainer.steps == 40 and trainer.done and len(trainer.history) == 40
    steps, seconds, losses = zip(*trainer.history, strict=True)
    assert steps == tuple(range(1, 41)) and all(np.diff(seconds) >= 0)
    result = trainer.result(eval_windows=64)
    assert set(result) == {"steps", "seconds", "train_loss", "val_loss"}
    assert result["val_loss"] < math.log(96) - 0.5 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="give max_steps or max_seconds"):
        text.LMTrainer(_Bigram(), data, 16)


def test_train_side_by_side_gives_each_model_its_budget(data):
    nerve.manual_seed(0)
    fast = text.LMTrainer(_Bigram(), data, 16, batch_size=4, max_seconds=0.3)
    slow = text.LMTrainer(_Bigram(), data, 16, batch_size=64, max_seconds=0.3)
    text.train_side_by_side([fast, slow], slice_seconds=0.05)
    for trainer in (fast, slow):
        assert trainer.done and 0.3 <= trainer.seconds < 0.6
    assert fast.steps > slow.steps  # the same time, more (cheaper) steps
    # train_lm is one LMTrainer run to its budget
    result = text.train_lm(_Bigram(), data, 16, batch_size=4, max_steps=5, eval_windows=64)
    assert result["steps"] == 5
