"""What the dataset loaders share: the data directory, checksums, splits and return types.

Every ``load_*`` returns ``(train, test)``: two :class:`nerve.data.TensorDataset` of
``(X, y)`` by default, or with ``as_arrays=True`` two NumPy pairs ``(X, y)``. ``X`` is
float32, ``y`` int64 class indices.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["get_data_dir", "sha256_file", "verify_sha256"]


def get_data_dir() -> Path:
    """Where datasets are looked for and cached: ``$NERVE_DATA`` or ``~/.cache/nerve``."""
    return Path(os.environ.get("NERVE_DATA") or Path.home() / ".cache" / "nerve").expanduser()


_PACKAGES = {"sklearn": "scikit-learn"}  # import name -> distribution name, where they differ


def require(module: str, loader: str, extra: str = "data"):
    """Import an optional dependency, or say which extra of nerve provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{loader} needs the '{_PACKAGES.get(module, module)}' package, which is not "
            f"installed; install it with: pip install 'nerve[{extra}]'"
        ) from None


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str) -> None:
    """Raise ValueError unless ``path``'s SHA-256 is ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ValueError(
            f"checksum mismatch for {path}: SHA-256 is {actual}, expected {expected} "
            "(the file is corrupt, truncated or not the published one; download it again)"
        )


def check_fraction(test_fraction: float) -> None:
    if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")


def stratified_split(y: np.ndarray, test_fraction: float, seed: int):
    """Indices ``(train, test)``: each class split ``1 - f : f`` at random, then shuffled."""
    check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def standardize(train: np.ndarray, test: np.ndarray):
    """Scale features to zero mean, unit variance using the *training* split's statistics."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std


def finish(X_train, y_train, X_test, y_test, as_arrays: bool):
    """Cast to float32 / int64 and wrap as TensorDatasets (or return the arrays)."""
    pairs = [
        (np.ascontiguousarray(X, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64))
        for X, y in ((X_train, y_train), (X_test, y_test))
    ]
    if as_arrays:
        return pairs[0], pairs[1]
    from nerve.data import TensorDataset

    return TensorDataset(*pairs[0]), TensorDataset(*pairs[1])


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write an ``.npz`` cache file via a temporary file and a rename (no half-written cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
