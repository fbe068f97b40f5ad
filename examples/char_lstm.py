"""A character-level LSTM language model on Python's own source code, then sampling from it.

The corpus is the source of 16 standard-library modules (~480 KB, on every machine with
Python); the last 10% (the end of pprint, calendar, fnmatch, glob) is held out for validation.
Trains for a fixed time, reports the validation loss in nats per character, prints samples at
two temperatures (top-k 20) and writes the training curve to examples/output/char_lstm.png.
Two minutes on 2 cores by default:

    python examples/char_lstm.py [--seconds 120]
"""

import argparse
import math
from pathlib import Path

import nerve
from nerve.models.rnn import CharLSTM, CharLSTMConfig
from nerve.models.text import LMTrainer, load_text

BLOCK_SIZE = 64
OUT = Path(__file__).parent / "output"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--hidden-size", type=int, default=128)
    args = parser.parse_args()
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    data = load_text()
    print(
        f"corpus: {len(data.train):,} training and {len(data.val):,} validation characters, "
        f"vocabulary {len(data.vocab)}"
    )
    nerve.manual_seed(0)
    model = CharLSTM(CharLSTMConfig(len(data.vocab), embed_dim=32, hidden_size=args.hidden_size))
    print(f"CharLSTM: {sum(p.numel() for p in model.parameters()):,} parameters")
    trainer = LMTrainer(
        model,
        data,
        BLOCK_SIZE,
        batch_size=16,
        lr=1e-2,
        warmup=50,
        max_seconds=args.seconds,
        log_every=200,
    )
    result = trainer.train().result(eval_windows=100_000)  # every validation window
    print(
        f"\n{result['steps']} steps in {result['seconds']:.0f} s; validation loss "
        f"{result['val_loss']:.3f} nats/char ({result['val_loss'] / math.log(2):.3f} bits/char)"
    )
    prompt = nerve.from_numpy(data.vocab.encode("def ")[None])
    for temperature in (0.8, 1.0):
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
    plot_curve(trainer, result)


def plot_curve(trainer, result):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no picture)")
        return
    _, seconds, losses = zip(*trainer.history)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(seconds, losses, label="training loss (smoothed)")
    ax.axhline(result["val_loss"], color="gray", linestyle="--", label="final validation loss")
    ax.set_xlabel("seconds")
    ax.set_ylabel("nats per character")
    ax.set_ylim(1.0, 3.5)
    ax.set_title("Character LSTM on Python's standard library")
    ax.legend()
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "char_lstm.png", dpi=120)
    print(f"\nwrote {OUT / 'char_lstm.png'}")


if __name__ == "__main__":
    main()
