"""``nerve predict RUN_DIR INPUT``: class predictions of a trained run for inputs in a file.

INPUT is a ``.npy`` array or a ``.csv`` of numbers, one sample per row (flattened samples are
reshaped to the model's input shape). Prints one line per sample: the class and its probability.
"""

from __future__ import annotations

import sys

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a directory written by `nerve train` or `nerve demo`")
    parser.add_argument("input", help="a .npy or .csv file of samples (one per row)")
    parser.add_argument("--top", type=int, default=1, help="show the top-k classes")


def run(args) -> int:
    import nerve
    from nerve.nn import functional as F
    from nerve.train.run import load_run

    try:
        model, config, info = load_run(args.run_dir)
        if args.input.endswith(".npy"):
            x = np.load(args.input, allow_pickle=False)
        else:
            x = np.loadtxt(args.input, delimiter=",", ndmin=2)
    except (FileNotFoundError, ValueError, OSError) as err:
        print(f"nerve predict: {err}", file=sys.stderr)
        return 2
    size = int(np.prod(info.in_shape))
    if x.size % size:
        print(f"nerve predict: each sample needs {size} numbers (input shape {tuple(info.in_shape)}); "
              f"the file has {x.size} numbers", file=sys.stderr)
        return 2
    x = x.reshape((-1, *info.in_shape)).astype(np.float32)
    with nerve.no_grad():
        probs = F.softmax(model(nerve.from_numpy(x)), dim=1).numpy()
    k = max(1, min(args.top, probs.shape[1]))
    for i, row in enumerate(probs):
        best = np.argsort(-row)[:k]
        shown = ", ".join(f"{info.class_names[c]} ({row[c] * 100:.1f}%)" for c in best)
        print(f"{i}: {shown}")
    return 0
