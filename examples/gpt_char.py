"""A small GPT as a character-level language model on Python's own source code.

The same corpus, context length and time budget as examples/char_lstm.py, so the two
validation losses (nats per character) compare directly. Prints samples with temperature,
top-k and top-p (nucleus) sampling. Three minutes on 2 cores by default:

    python examples/gpt_char.py [--seconds 180]
"""

import argparse

import nerve
from nerve.models.gpt import GPT, GPTConfig
from nerve.models.text import load_text, train_lm

BLOCK_SIZE = 64


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    args = parser.parse_args()
    data = load_text()
    nerve.manual_seed(0)
    config = GPTConfig(
        vocab_size=len(data.vocab),
        block_size=BLOCK_SIZE,
        n_layer=2,
        n_head=4,
        n_embd=96,
        tie_weights=True,
    )
    model = GPT(config)
    print(f"GPT: {model.num_parameters():,} parameters ({config})")
    result = train_lm(
        model,
        data,
        BLOCK_SIZE,
        batch_size=32,
        lr=5e-3,
        warmup=20,
        max_seconds=args.seconds,
        log_every=50,
        eval_windows=4096,
    )
    print(
        f"\n{result['steps']} steps in {result['seconds']:.0f} s; validation loss "
        f"{result['val_loss']:.3f} nats/char ({result['val_loss'] / 0.6931:.3f} bits/char)"
    )
    prompt = nerve.from_numpy(data.vocab.encode("def ")[None])
    for kwargs in ({"temperature": 0.8, "top_k": 20}, {"temperature": 1.0, "top_p": 0.9}):
        out = model.generate(prompt, 300, generator=nerve.Generator().manual_seed(0), **kwargs)
        print(f"\n--- sample, {kwargs} ---\n" + data.vocab.decode(out[0].numpy()))


if __name__ == "__main__":
    main()
