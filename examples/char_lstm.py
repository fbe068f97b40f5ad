"""A character-level LSTM language model on Python's own source code, then sampling from it.

The corpus is the source of 16 standard-library modules (~480 KB, on every machine with
Python). Trains for a fixed time, reports the validation loss in nats per character, prints
samples at two temperatures and writes the loss curve to char_lstm.png. Three minutes on
2 cores by default:

    python examples/char_lstm.py [--seconds 180]
"""

import argparse

import nerve
from nerve.models.rnn import CharLSTM, CharLSTMConfig
from nerve.models.text import load_text, train_lm

BLOCK_SIZE = 64


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--hidden-size", type=int, default=128)
    args = parser.parse_args()
    data = load_text()
    print(
        f"corpus: {len(data.train):,} training and {len(data.val):,} validation characters, "
        f"vocabulary {len(data.vocab)}"
    )
    nerve.manual_seed(0)
    model = CharLSTM(CharLSTMConfig(len(data.vocab), embed_dim=32, hidden_size=args.hidden_size))
    print(f"CharLSTM: {sum(p.numel() for p in model.parameters()):,} parameters")
    result = train_lm(
        model,
        data,
        BLOCK_SIZE,
        batch_size=32,
        lr=1e-2,
        warmup=10,
        max_seconds=args.seconds,
        log_every=50,
        eval_windows=4096,
    )
    print(
        f"\n{result['steps']} steps in {result['seconds']:.0f} s; validation loss "
        f"{result['val_loss']:.3f} nats/char ({result['val_loss'] / 0.6931:.3f} bits/char)"
    )
    prompt = nerve.from_numpy(data.vocab.encode("def ")[None])
    for temperature in (0.5, 1.0):
        out = model.sample(
            prompt,
            300,
            temperature=temperature,
            top_k=20,
            generator=nerve.Generator().manual_seed(0),
        )
        print(
            f"\n--- sample, temperature {temperature}, top-k 20 ---\n"
            + data.vocab.decode(out[0].numpy())
        )


if __name__ == "__main__":
    main()
