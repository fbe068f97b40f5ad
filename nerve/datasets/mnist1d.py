"""MNIST-1D (Greydanus, 2020): ten 1-D digit templates, randomly padded, translated, scaled,
sheared and made noisy -- a tiny set on which MLPs, CNNs and RNNs clearly differ.

Generated offline by the ``mnist1d`` package (``pip install 'nerve[data]'``) with its
``make_dataset`` (never its download path, which fetches a pickle), then cached as an ``.npz``
under ``get_data_dir() / "mnist1d"``; the cache is read with ``allow_pickle=False``.

    >>> train, test = load_mnist1d()
    >>> train.tensors[0].shape, test.tensors[0].shape      # X: (N, 40), y: (N,)
    ((4000, 40), (1000, 40))

Defaults are the package's: 5000 samples, 80/20 split, sequence length 40, seed 42.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np

from nerve.datasets.common import finish, get_data_dir, require, save_npz_atomic

__all__ = ["load_mnist1d"]


def _generate(args: dict) -> dict[str, np.ndarray]:
    require("mnist1d", "nerve.datasets.load_mnist1d")
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    # NOTE: make_dataset seeds the *global* NumPy and Python RNGs; put them back afterwards.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {key: np.asarray(data[key]) for key in ("x", "y", "x_test", "y_test")}


def load_mnist1d(
    root: str | Path | None = None,
    num_samples: int = 5000,
    train_split: float = 0.8,
    seed: int = 42,
    as_arrays: bool = False,
    regenerate: bool = False,
    **generator_args,
):
    """MNIST-1D as ``(train, test)``: ``X`` float32 ``(N, 40)``, ``y`` int64 in 0..9.

    ``root``: cache directory (default ``get_data_dir() / "mnist1d"``). ``num_samples``,
    ``train_split``, ``seed`` and any other ``generator_args`` (``iid_noise_scale``,
    ``shuffle_seq``, ...) go to ``mnist1d``'s generator; each setting has its own cache file.
    ``regenerate=True`` ignores the cache. Add a channel dim for Conv1d with ``X[:, None]``.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 10:
        raise ValueError(f"num_samples must be an integer >= 10, got {num_samples!r}")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split must be in (0, 1), got {train_split!r}")
    mnist1d = require("mnist1d", "nerve.datasets.load_mnist1d")
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url", None)
    unknown = set(generator_args) - set(args)
    if unknown:
        raise TypeError(f"load_mnist1d: unknown generator arguments {sorted(unknown)}")
    args.update(generator_args, num_samples=num_samples, train_split=train_split, seed=seed)
    version = getattr(mnist1d, "__version__", "")
    key = hashlib.sha256(json.dumps([args, version], sort_keys=True).encode()).hexdigest()[:16]
    path = Path(root if root is not None else get_data_dir() / "mnist1d") / f"mnist1d-{key}.npz"
    if path.exists() and not regenerate:
        with np.load(path, allow_pickle=False) as cached:
            data = {name: cached[name] for name in cached.files}
    else:
        data = _generate(args)
        save_npz_atomic(path, **data)
    return finish(data["x"], data["y"], data["x_test"], data["y_test"], as_arrays)
