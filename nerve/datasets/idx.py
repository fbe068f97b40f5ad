"""MNIST and Fashion-MNIST from local IDX files (gzipped or not), checked against SHA-256.

nerve downloads nothing: put the four files in the data directory and load them. The IDX
format (LeCun et al.) is::

    [2 bytes] 0x0000   [1 byte] type code   [1 byte] number of dims D
    [4 * D bytes] each dim, unsigned 32-bit big-endian
    [rest] the values, big-endian, in C order

Checksums: the published files are the gzipped ones, whose SHA-256 digests are below and are
checked by default. An uncompressed file has no published digest: it is checked for its exact
format, and a warning says it was not verified (keep the ``.gz``, or pass its digest in
``checksums``).
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nerve.datasets.common import finish, get_data_dir, verify_sha256

__all__ = [
    "FASHION_MNIST_SHA256",
    "MNIST_SHA256",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
    "write_idx",
]

_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
}
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # noqa: E501
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({error})") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a native-endian array of its shape."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} ({expected} data bytes) but the file holds "
            f"{len(raw) - start} (truncated or corrupt)"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    raw = header + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()
    if os.fspath(path).endswith(".gz"):
        raw = gzip.compress(raw, mtime=0)
    Path(path).write_bytes(raw)


def _find(root: Path, stem: str) -> Path | None:
    for folder in (root, root / "raw"):
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _verify(path: Path, checksums: Mapping[str, str], what: str) -> None:
    if path.name in checksums:
        verify_sha256(path, checksums[path.name])
    else:
        warnings.warn(
            f"{what}: {path} has no published SHA-256 to check against (the published files are "
            f"the .gz ones); loaded it after checking its format only",
            stacklevel=3,
        )


def _load_idx_set(what, subdir, root, checksums, flatten, as_arrays, url):
    root = Path(root) if root is not None else get_data_dir() / subdir
    paths = {key: _find(root, stem) for key, stem in FILES.items()}
    missing = [FILES[key] for key, path in paths.items() if path is None]
    if missing:
        listing = "\n".join(f"    {root / (stem + '.gz')}" for stem in FILES.values())
        raise FileNotFoundError(
            f"{what} files not found: missing {', '.join(missing)}. nerve downloads nothing; get "
            f"the four files from {url} and put them (gzipped or not) at:\n{listing}\n"
            f"(or pass root=..., or set NERVE_DATA to a directory holding {subdir}/)"
        )
    for path in paths.values():
        _verify(path, checksums, what)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise ValueError(
                f"{paths[split + '_images']}: expected uint8 images (N, 28, 28), got "
                f"{images.dtype} {images.shape}"
            )
        if labels.shape != (len(images),) or labels.max(initial=0) > 9:
            raise ValueError(
                f"{paths[split + '_labels']}: expected {len(images)} labels in 0..9, got "
                f"shape {labels.shape}"
            )
    shape = (-1, 784) if flatten else (-1, 1, 28, 28)
    return finish(
        arrays["train_images"].reshape(shape) / np.float32(255),
        arrays["train_labels"],
        arrays["test_images"].reshape(shape) / np.float32(255),
        arrays["test_labels"],
        as_arrays,
    )


def load_mnist(
    root: str | os.PathLike | None = None,
    flatten: bool = False,
    as_arrays: bool = False,
    checksums: Mapping[str, str] | None = None,
):
    """MNIST handwritten digits as ``(train, test)`` (60000 / 10000 images).

    ``X``: float32 ``(N, 1, 28, 28)`` in [0, 1] (``flatten=True``: ``(N, 784)``); ``y``: int64
    0..9. ``root``: the directory with the four IDX files (default ``get_data_dir() / "mnist"``;
    a ``raw/`` subfolder, torchvision's layout, also works). ``checksums``: file name -> SHA-256
    (default: :data:`MNIST_SHA256`, the published ``.gz`` files).
    """
    return _load_idx_set(
        "MNIST", "mnist", root, MNIST_SHA256 if checksums is None else checksums,
        flatten, as_arrays, "https://yann.lecun.com/exdb/mnist/ (or a mirror)",
    )  # fmt: skip


def load_fashion_mnist(
    root: str | os.PathLike | None = None,
    flatten: bool = False,
    as_arrays: bool = False,
    checksums: Mapping[str, str] | None = None,
):
    """Fashion-MNIST (Zalando) as ``(train, test)``; same shapes as :func:`load_mnist`.

    Classes: :data:`FASHION_MNIST_CLASSES`. Default ``root``: ``get_data_dir() /
    "fashion-mnist"``; default ``checksums``: :data:`FASHION_MNIST_SHA256`.
    """
    return _load_idx_set(
        "Fashion-MNIST", "fashion-mnist", root,
        FASHION_MNIST_SHA256 if checksums is None else checksums, flatten, as_arrays,
        "https://github.com/zalandoresearch/fashion-mnist (data/fashion/)",
    )  # fmt: skip
