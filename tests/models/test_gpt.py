"""GPT (nerve/models/gpt.py): shapes, parameters, causality, PyTorch oracle, sampling, training."""

import os

import numpy as np
import pytest
import torch
from zoo_oracle import blas_threads

import nerve
from nerve.models.gpt import GPT, GPTConfig

SLOW = bool(os.environ.get("NERVE_SLOW"))


def _tiny(**kw):
    cfg = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    cfg.update(kw)
    nerve.manual_seed(0)
    return GPT(GPTConfig(**cfg))


def test_shapes_and_parameter_count():
    model = _tiny()
    V, T, L, C = 11, 8, 2, 16
    per_block = (
        2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (4 * C * C + 4 * C) + (4 * C * C + C)
    )
    expected = V * C + T * C + L * per_block + 2 * C  # lm_head is tied: no extra matrix
    assert model.num_parameters() == expected
    assert model.num_parameters(non_embedding=True) == expected - T * C
    assert model.lm_head.weight is model.wte.weight
    untied = _tiny(tie_weights=False)
    assert untied.num_parameters() == expected + V * C
    idx = nerve.randint(0, V, (3, 5))
    logits, loss = model(idx)
    assert logits.shape == (3, 5, V) and loss is None
    _, loss = model(idx, idx)
    assert loss.ndim == 0 and abs(loss.item() - np.log(V)) < 0.5


def test_errors_are_clear():
    model = _tiny()
    with pytest.raises(ValueError, match="exceeds block_size 8"):
        model(nerve.zeros(1, 9, dtype=nerve.int64))
    with pytest.raises(ValueError, match="must be divisible by n_head"):
        GPT(GPTConfig(n_embd=10, n_head=3))
    with pytest.raises(ValueError, match="top_p"):
        model.generate(nerve.zeros(1, 1, dtype=nerve.int64), 1, top_p=0)


def test_attention_is_causal():
    model = _tiny()
    idx = nerve.randint(0, 11, (2, 8))
    changed = idx.detach().numpy().copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11  # change the future of position 4
    a, _ = model(idx)
    b, _ = model(nerve.from_numpy(changed))
    np.testing.assert_allclose(a[:, :5].detach().numpy(), b[:, :5].detach().numpy(), atol=1e-6)
    assert not np.allclose(a[:, 5:].detach().numpy(), b[:, 5:].detach().numpy())


def test_alibi_bias_by_hand_and_model():
    from nerve.models.gpt import attention_bias

    bias = attention_bias(n_head=2, block_size=3, alibi=True)  # slopes 2^-4, 2^-8
    inf = np.inf
    expected = [
        [[0, -inf, -inf], [-1 / 16, 0, -inf], [-2 / 16, -1 / 16, 0]],
        [[0, -inf, -inf], [-1 / 256, 0, -inf], [-2 / 256, -1 / 256, 0]],
    ]
    np.testing.assert_array_equal(bias, np.array(expected, dtype=np.float32))
    causal = np.triu(np.full((3, 3), -inf), 1)  # -inf above the diagonal, 0 elsewhere
    np.testing.assert_array_equal(attention_bias(2, 3, alibi=False), causal[None])

    learned, alibi = _tiny(), _tiny(position="alibi")
    assert alibi.wpe is None
    assert alibi.num_parameters() == learned.num_parameters() - 8 * 16  # no (T, C) table
    idx = nerve.randint(0, 11, (2, 8))
    changed = idx.numpy().copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a, _ = alibi(idx)
    b, _ = alibi(nerve.from_numpy(changed))
    np.testing.assert_allclose(
        a[:, :5].detach().numpy(), b[:, :5].detach().numpy(), atol=1e-6
    )  # still causal
    assert alibi.generate(idx[:, :2], 10, top_k=3).shape == (2, 12)
    with pytest.raises(ValueError, match="position must be 'learned' or 'alibi'"):
        _tiny(position="rotary")


def test_init_std():
    for std in (0.02, 0.1):
        model = _tiny(init_std=std, vocab_size=500, n_embd=64)
        assert model.wte.weight.detach().numpy().std() == pytest.approx(std, rel=0.05)
        # the projections into the residual stream are scaled by 1/sqrt(2 n_layer)
        proj = model.h[0].mlp.c_proj.weight.detach().numpy().std()
        assert proj == pytest.approx(std / 2, rel=0.05)


def _torch_gpt(model, idx, targets):
    """The same network written directly in PyTorch (float64), sharing the weights."""
    w = {
        k: torch.tensor(v.detach().numpy(), dtype=torch.float64, requires_grad=True)
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"
    }
    F = torch.nn.functional
    cfg = model.config
    idx_t, tgt_t = torch.tensor(idx), torch.tensor(targets)
    B, T = idx_t.shape
    x = w["wte.weight"][idx_t] + w["wpe.weight"][:T]
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        h = F.layer_norm(x, (cfg.n_embd,), w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        qkv = F.linear(h, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"])
        q, k, v = (
            t.reshape(B, T, cfg.n_head, -1).transpose(1, 2) for t in qkv.split(cfg.n_embd, 2)
        )
        y = (
            F.scaled_dot_product_attention(q, k, v, is_causal=True)
            .transpose(1, 2)
            .reshape(B, T, -1)
        )
        x = x + F.linear(y, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])
        h = F.layer_norm(x, (cfg.n_embd,), w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = F.gelu(
            F.linear(h, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"]), approximate="tanh"
        )
        x = x + F.linear(h, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (cfg.n_embd,), w["ln_f.weight"], w["ln_f.bias"])
    logits = x @ w["wte.weight"].T
    loss = F.cross_entropy(logits.reshape(B * T, -1), tgt_t.reshape(-1))
    loss.backward()
    return logits, loss, w


def test_matches_pytorch_forward_and_gradients():
    model = _tiny()
    model.double()
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 11, (2, 8)), rng.integers(0, 11, (2, 8))
    logits, loss = model(nerve.from_numpy(idx), nerve.from_numpy(targets))
    loss.backward()
    t_logits, t_loss, t_w = _torch_gpt(model, idx, targets)
    np.testing.assert_allclose(
        logits.detach().numpy(), t_logits.detach().numpy(), rtol=1e-9, atol=1e-10
    )
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-10)
    params = dict(model.named_parameters())
    for name, t in t_w.items():
        # the tied matrix's gradient sums its two uses, as PyTorch's does
        np.testing.assert_allclose(
            params[name].grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=name
        )


def test_generate_greedy_topk_and_seeds():
    model = _tiny()
    prompt = nerve.randint(0, 11, (2, 3))
    out = model.generate(
        prompt, 10, temperature=0.9, top_k=4, top_p=0.9, generator=nerve.Generator().manual_seed(3)
    )
    assert out.shape == (2, 13)  # longer than block_size: the context is cropped
    np.testing.assert_array_equal(out[:, :3].numpy(), prompt.numpy())
    again = model.generate(
        prompt, 10, temperature=0.9, top_k=4, top_p=0.9, generator=nerve.Generator().manual_seed(3)
    )
    np.testing.assert_array_equal(out.numpy(), again.numpy())
    greedy = model.generate(prompt, 4, temperature=0)
    top1 = model.generate(prompt, 4, top_k=1)  # top-1 sampling is greedy
    np.testing.assert_array_equal(greedy.numpy(), top1.numpy())
    logits, _ = model(greedy[:, :-1])
    np.testing.assert_array_equal(logits.argmax(-1).numpy()[:, 2:], greedy.numpy()[:, 3:])
    assert model.training  # generate restores the mode


def test_short_run_loss_falls():
    from nerve.models.text import load_text, train_lm

    data = load_text()
    nerve.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=96, block_size=32, n_layer=1, n_head=2, n_embd=32))
    first = train_lm(model, data, 32, batch_size=16, lr=1e-2, max_steps=1, eval_windows=128)
    result = train_lm(
        model, data, 32, batch_size=16, lr=1e-2, max_steps=40, warmup=5, eval_windows=128
    )
    assert result["val_loss"] < first["val_loss"] - 0.8  # ~4.6 -> below ~3.8 nats/char


@pytest.mark.slow
def test_gpt_beats_the_lstm_at_equal_training_time():
    """GPT and the character LSTM (examples/char_lstm.py's), trained side by side in turns of
    2 s on the same windows of stdlib source (batch 16, context 64, AdamW at lr 1e-2 with a
    cosine over the budget) for the same wall-clock budget; validation loss in nats/char on
    held-out modules (the end of pprint, calendar, fnmatch, glob). For scale: a bigram table
    scores 2.53, a trigram table 2.10.

    NERVE_SLOW=1: 240 s each, GPT < LSTM (measured, seed 0, 2 quiet cores: GPT 1.829 after
    4672 steps vs LSTM 1.894 after 6910 steps).
    The LSTM learns faster at first; the GPT passes it after about a minute each on 2 quiet
    cores (measured 30 s: GPT 1.938 vs LSTM 1.864; 60 s: 1.832 vs 1.813; 120 s: 1.782 vs
    1.836). Both overfit the 437K training characters after about two minutes, the LSTM more
    (at 240 s its training loss is 1.00 and its validation loss 1.89).
    Default (CI): 25 s each, too short for the GPT to pass the LSTM, so only both models'
    quality is held: LSTM < 2.1, GPT < 2.3 (measured LSTM 1.866, GPT 1.97-1.98).
    """
    from nerve.models.rnn import CharLSTM, CharLSTMConfig
    from nerve.models.text import LMTrainer, load_text, train_side_by_side

    seconds = 240 if SLOW else 25
    data = load_text()
    nerve.manual_seed(0)
    lstm = CharLSTM(CharLSTMConfig(len(data.vocab), embed_dim=32, hidden_size=128))
    nerve.manual_seed(0)
    gpt = GPT(
        GPTConfig(len(data.vocab), block_size=64, n_layer=2, n_head=4, n_embd=64, init_std=0.1)
    )
    budget = dict(block_size=64, batch_size=16, lr=1e-2, warmup=50, max_seconds=seconds)
    trainers = [LMTrainer(lstm, data, **budget), LMTrainer(gpt, data, **budget)]
    with blas_threads(1):
        train_side_by_side(trainers, slice_seconds=2.0)
    lstm_result, gpt_result = (t.result(eval_windows=100_000) for t in trainers)  # all of val
    for name, model, r in (("LSTM", lstm, lstm_result), ("GPT", gpt, gpt_result)):
        params = sum(p.numel() for p in model.parameters())
        print(
            f"{name}: {params:,} parameters, {r['steps']} steps in {r['seconds']:.0f} s, "
            f"train {r['train_loss']:.3f}, val {r['val_loss']:.4f} nats/char"
        )
    if SLOW:
        assert gpt_result["val_loss"] < lstm_result["val_loss"]
    else:
        assert lstm_result["val_loss"] < 2.1 and gpt_result["val_loss"] < 2.3
