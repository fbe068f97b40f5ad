"""CIFAR-10 from the local binary version, checked against SHA-256.

nerve downloads nothing. Put ``cifar-10-binary.tar.gz`` (the "binary version" on
https://www.cs.toronto.edu/~kriz/cifar.html) in the data directory; it is read in place,
member by member, without extracting. An extracted ``cifar-10-batches-bin/`` folder works too.

Each ``.bin`` file is 10000 records of 3073 bytes: one label byte (0..9), then a 32x32 image
as 1024 red, 1024 green, 1024 blue bytes, each plane row-major -- so a record reshapes
directly to ``(3, 32, 32)``.

Checksums: the archive's SHA-256 is checked by default (:data:`CIFAR10_SHA256`); extracted
``.bin`` files have no published digest and are checked for their format only (whole records,
labels 0..9), with a warning (pass their digests in ``checksums`` to verify them).
"""

from __future__ import annotations

import os
import tarfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nerve.datasets.common import finish, get_data_dir, verify_sha256

__all__ = ["CIFAR10_CLASSES", "CIFAR10_SHA256", "load_cifar10", "read_cifar_binary"]

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
RECORD = 1 + 3 * 32 * 32
CIFAR10_SHA256 = {ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def read_cifar_binary(raw: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse CIFAR-10 binary records: ``(images uint8 (N, 3, 32, 32), labels uint8 (N,))``."""
    if len(raw) == 0 or len(raw) % RECORD:
        raise ValueError(
            f"{name}: {len(raw)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 binary file)"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        raise ValueError(f"{name}: label {labels.max()} is out of range 0..9 (not CIFAR-10?)")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _from_archive(path: Path, checksums: Mapping[str, str]) -> dict[str, bytes]:
    if path.name in checksums:
        verify_sha256(path, checksums[path.name])
    else:
        warnings.warn(f"CIFAR-10: no SHA-256 given for {path.name}; not verified", stacklevel=3)
    out = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for name in TRAIN_FILES + TEST_FILES:
                member = archive.extractfile(f"{FOLDER}/{name}")
                if member is None:
                    raise ValueError(f"{path}: {FOLDER}/{name} is not a regular file")
                out[name] = member.read()
    except KeyError as error:
        raise ValueError(f"{path}: archive lacks {error.args[0]}") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ValueError(f"{path}: corrupt or truncated archive ({error})") from None
    return out


def _from_folder(folder: Path, checksums: Mapping[str, str]) -> dict[str, bytes]:
    out = {}
    for name in TRAIN_FILES + TEST_FILES:
        path = folder / name
        if name in checksums:
            verify_sha256(path, checksums[name])
        else:
            warnings.warn(
                f"CIFAR-10: {path} has no published SHA-256 to check against (the published "
                f"file is {ARCHIVE}); loaded it after checking its format only",
                stacklevel=3,
            )
        out[name] = path.read_bytes()
    return out


def load_cifar10(
    root: str | os.PathLike | None = None,
    as_arrays: bool = False,
    checksums: Mapping[str, str] | None = None,
):
    """CIFAR-10 as ``(train, test)``: 50000 / 10000 colour images in 10 classes.

    ``X``: float32 ``(N, 3, 32, 32)`` in [0, 1]; ``y``: int64 0..9 (:data:`CIFAR10_CLASSES`).
    ``root``: the directory with ``cifar-10-binary.tar.gz`` or ``cifar-10-batches-bin/``
    (default ``get_data_dir() / "cifar10"``). ``checksums``: file name -> SHA-256 (default
    :data:`CIFAR10_SHA256`).
    """
    root = Path(root) if root is not None else get_data_dir() / "cifar10"
    checksums = CIFAR10_SHA256 if checksums is None else checksums
    names = TRAIN_FILES + TEST_FILES
    if (root / ARCHIVE).is_file():
        raw = _from_archive(root / ARCHIVE, checksums)
    else:
        folder = next(
            (f for f in (root / FOLDER, root) if all((f / n).is_file() for n in names)), None
        )
        if folder is None:
            raise FileNotFoundError(
                f"CIFAR-10 not found. nerve downloads nothing; get the binary version "
                f"({ARCHIVE}) from https://www.cs.toronto.edu/~kriz/cifar.html and put it at\n"
                f"    {root / ARCHIVE}\n"
                f"(or its extracted folder at {root / FOLDER}/; or pass root=..., or set "
                f"NERVE_DATA to a directory holding cifar10/)"
            )
        raw = _from_folder(folder, checksums)
    train = [read_cifar_binary(raw[n], n) for n in TRAIN_FILES]
    test = [read_cifar_binary(raw[n], n) for n in TEST_FILES]
    X_train = np.concatenate([images for images, _ in train]) / np.float32(255)
    X_test = np.concatenate([images for images, _ in test]) / np.float32(255)
    y_train = np.concatenate([labels for _, labels in train])
    y_test = np.concatenate([labels for _, labels in test])
    return finish(X_train, y_train, X_test, y_test, as_arrays)
