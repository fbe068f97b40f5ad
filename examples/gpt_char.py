"""A small GPT as a character-level language model on Python's own source code, beside an LSTM.

The same corpus, context length (64), batches and time budget as examples/char_lstm.py: the
two models train side by side, taking turns of 2 seconds, so that both see the same machine;
then the validation losses (nats per character, held-out modules) are compared. The LSTM
learns faster at first; the GPT passes it after about a minute each on 2 quiet cores. Prints
GPT samples with temperature, top-k and top-p (nucleus) sampling and writes both training
curves to examples/output/gpt_char.png. Four minutes on 2 cores by default (two each):

    python examples/gpt_char.py [--seconds 120] [--no-lstm]
"""

import argparse
import math
from pathlib import Path

import nerve
from nerve.models.gpt import GPT, GPTConfig
from nerve.models.rnn import CharLSTM, CharLSTMConfig
from nerve.models.text import LMTrainer, load_text, train_side_by_side

BLOCK_SIZE = 64
OUT = Path(__file__).parent / "output"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="training time per model")
    parser.add_argument("--no-lstm", action="store_true", help="train the GPT alone")
    args = parser.parse_args()
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    data = load_text()
    nerve.manual_seed(0)
    config = GPTConfig(
        vocab_size=len(data.vocab),
        block_size=BLOCK_SIZE,
        n_layer=2,
        n_head=4,
        n_embd=64,
        tie_weights=True,
        init_std=0.1,
    )
    models = {"GPT": GPT(config)}
    print(f"GPT: {models['GPT'].num_parameters():,} parameters ({config})")
    if not args.no_lstm:
        nerve.manual_seed(0)
        models["LSTM"] = CharLSTM(CharLSTMConfig(len(data.vocab), embed_dim=32, hidden_size=128))
        print(f"LSTM: {sum(p.numel() for p in models['LSTM'].parameters()):,} parameters")
    trainers = {
        name: LMTrainer(
            model, data, BLOCK_SIZE, batch_size=16, lr=1e-2, warmup=50, max_seconds=args.seconds
        )
        for name, model in models.items()
    }
    print(f"training for {args.seconds:.0f} s each, in turns ...", flush=True)
    train_side_by_side(list(trainers.values()), slice_seconds=2.0)
    results = {name: t.result(eval_windows=100_000) for name, t in trainers.items()}
    print("\nmodel  steps  seconds  validation loss (nats/char, bits/char)")
    for name, r in results.items():
        print(
            f"{name:5s} {r['steps']:6d}  {r['seconds']:7.0f}  "
            f"{r['val_loss']:.3f}  {r['val_loss'] / math.log(2):.3f}"
        )
    if "LSTM" in results:
        gap = results["LSTM"]["val_loss"] - results["GPT"]["val_loss"]
        verdict = "beats" if gap > 0 else "does not beat"
        print(f"GPT {verdict} the LSTM at equal time, by {abs(gap):.3f} nats/char")
    prompt = nerve.from_numpy(data.vocab.encode("def ")[None])
    gpt = models["GPT"]
    for kwargs in ({"temperature": 0.8, "top_k": 20}, {"temperature": 1.0, "top_p": 0.9}):
        out = gpt.generate(prompt, 300, generator=nerve.Generator().manual_seed(0), **kwargs)
        print(f"\n--- GPT sample, {kwargs} ---\n" + data.vocab.decode(out[0].numpy()))
    plot_curves(trainers, results)


def plot_curves(trainers, results):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no picture)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, trainer), color in zip(trainers.items(), ("C0", "C1")):
        _, seconds, losses = zip(*trainer.history)
        ax.plot(seconds, losses, color=color, label=f"{name} training loss (smoothed)")
        ax.axhline(
            results[name]["val_loss"], color=color, linestyle="--", label=f"{name} validation (end)"
        )
    ax.set_xlabel("seconds of training")
    ax.set_ylabel("nats per character")
    ax.set_ylim(1.0, 3.5)
    ax.set_title("GPT and LSTM on Python's standard library, equal time")
    ax.legend()
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "gpt_char.png", dpi=120)
    print(f"\nwrote {OUT / 'gpt_char.png'}")


if __name__ == "__main__":
    main()
