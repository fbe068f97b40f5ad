"""The safetensors file format, read and written with NumPy alone.

A safetensors file is::

    [8 bytes]  N, the header length, unsigned 64-bit little-endian
    [N bytes]  the header: a UTF-8 JSON object (padded with spaces)
               {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
                "__metadata__": {"key": "value", ...}}        (optional, strings only)
    [rest]     the data: each tensor's raw little-endian bytes, in C order, at
               data[begin:end] (offsets relative to the start of the data)

The tensors must tile the data exactly (no gaps, no overlaps). Nothing in the file is ever
executed: reading it is parsing JSON and copying bytes. The format is Hugging Face's
(https://github.com/huggingface/safetensors); the tests check this module against their
package in both directions.

    >>> write_safetensors("w.safetensors", {"w": np.ones((2, 3), np.float32)}, {"note": "hi"})
    >>> arrays, metadata = read_safetensors("w.safetensors")
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np

__all__ = ["SafetensorsError", "read_safetensors", "read_safetensors_header", "write_safetensors"]

# safetensors dtype name -> NumPy dtype (little-endian). BF16 has no NumPy dtype; it is read
# as float32 (exactly: a bfloat16 is the top half of a float32).
DTYPES = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("<u1"),
    "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}
_BF16 = "BF16"
_NAMES = {dtype.newbyteorder("="): name for name, dtype in DTYPES.items()}
# NOTE: the reference implementation refuses headers above 100 MB; so do we, before reading it.
MAX_HEADER_BYTES = 100_000_000


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file (truncated, corrupt or foreign)."""


def _dtype_name(array: np.ndarray, key: str) -> str:
    name = _NAMES.get(array.dtype.newbyteorder("="))
    if name is None:
        raise TypeError(
            f"cannot store {key!r}: dtype {array.dtype} has no safetensors equivalent; "
            f"expected one of {sorted(str(d) for d in _NAMES)}"
        )
    return name


def write_safetensors(
    file: str | os.PathLike | BinaryIO,
    arrays: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``arrays`` (name -> NumPy array) and string ``metadata`` as a safetensors file.

    ``file`` is a path (written in place; see :func:`nerve.save` for atomic writes) or a
    binary file object. Tensors are laid out by decreasing item size, then name, so every
    tensor starts at a multiple of its item size (the header is padded to 8 bytes).
    """
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a mapping of str to numpy.ndarray, got {type(arrays)}")
    prepared: dict[str, np.ndarray] = {}
    for key, array in arrays.items():
        if not isinstance(key, str) or key == "__metadata__":
            raise TypeError(f"tensor names must be strings other than '__metadata__', got {key!r}")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"arrays[{key!r}] must be a numpy.ndarray, got {type(array).__name__}")
        _dtype_name(array, key)
        prepared[key] = array
    header: dict[str, object] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    order = sorted(prepared, key=lambda k: (-prepared[k].dtype.itemsize, k))
    offset = 0
    for key in order:
        array = prepared[key]
        header[key] = {
            "dtype": _dtype_name(array, key),
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if isinstance(file, (str, os.PathLike)):
        with open(file, "wb") as f:
            _write(f, text, prepared, order)
    else:
        _write(file, text, prepared, order)


def _write(f: BinaryIO, header: bytes, arrays: dict[str, np.ndarray], order: list[str]) -> None:
    f.write(len(header).to_bytes(8, "little"))
    f.write(header)
    for key in order:
        _write_array(f, arrays[key])


def _write_array(f: BinaryIO, array: np.ndarray) -> None:
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    f.write(little.reshape(-1).view(np.uint8).data)


def _describe_foreign(prefix: bytes) -> str:
    """A hint at what a file that is not safetensors might be, from its first bytes."""
    if prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return " It looks like a Python pickle; nerve never loads pickles."
    if prefix[:4] == b"PK\x03\x04":
        return " It looks like a zip archive (e.g. a torch.save file); nerve never loads those."
    if prefix[:6] == b"\x93NUMPY":
        return " It looks like a NumPy .npy file."
    if prefix[:2] == b"\x1f\x8b":
        return " It looks like a gzip file."
    return ""


def _remaining_size(f: BinaryIO) -> int:
    position = f.tell()
    size = f.seek(0, os.SEEK_END) - position
    f.seek(position)
    return size


def _parse_header(f: BinaryIO, name: str) -> tuple[dict, dict, int, int]:
    """Read and validate the header: (entries, metadata, data start, data length)."""
    base = f.tell()
    size = _remaining_size(f)
    prefix = f.read(8)
    if len(prefix) < 8:
        raise SafetensorsError(
            f"{name}: not a safetensors file: {size} bytes, shorter than the 8-byte header length"
        )
    length = int.from_bytes(prefix, "little")
    if length > size - 8 or length > MAX_HEADER_BYTES:
        raise SafetensorsError(
            f"{name}: not a safetensors file (or truncated): header length {length} is beyond "
            f"the file size {size}.{_describe_foreign(prefix)}"
        )
    raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise SafetensorsError(
            f"{name}: not a safetensors file: the header is not valid UTF-8 JSON ({error})."
            f"{_describe_foreign(prefix)}"
        ) from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{name}: the header must be a JSON object, got {type(header)}")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{name}: __metadata__ must map strings to strings")
    start = base + 8 + length
    data_length = size - 8 - length
    for key, entry in header.items():
        _check_entry(name, key, entry, data_length)
    # The tensors must tile the data: sorted by offset, each starts where the last ended.
    end = 0
    for key, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        if begin != end:
            raise SafetensorsError(
                f"{name}: tensor {key!r} starts at byte {begin} but the previous one ends at "
                f"{end}: the tensors overlap or leave a gap"
            )
        end = stop
    if end != data_length:
        raise SafetensorsError(
            f"{name}: the tensors cover {end} bytes but the file holds {data_length} data bytes "
            "(truncated or corrupt)"
        )
    return header, metadata, start, data_length


def _check_entry(name: str, key: str, entry: object, data_length: int) -> None:
    where = f"{name}: tensor {key!r}"
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise SafetensorsError(f"{where}: expected dtype, shape and data_offsets, got {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype != _BF16 and dtype not in DTYPES:
        raise SafetensorsError(
            f"{where}: unknown or unsupported dtype {dtype!r}; "
            f"expected one of {sorted([*DTYPES, _BF16])}"
        )
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise SafetensorsError(f"{where}: shape must be a list of integers >= 0, got {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise SafetensorsError(f"{where}: data_offsets must be [begin, end], got {offsets!r}")
    begin, end = offsets
    if not 0 <= begin <= end <= data_length:
        raise SafetensorsError(
            f"{where}: data_offsets {offsets} are out of range for {data_length} data bytes"
        )
    itemsize = 2 if dtype == _BF16 else DTYPES[dtype].itemsize
    expected = int(np.prod(shape, dtype=object)) * itemsize
    if end - begin != expected:
        raise SafetensorsError(
            f"{where}: shape {shape} of {dtype} needs {expected} bytes but data_offsets "
            f"{offsets} hold {end - begin}"
        )


def _read_array(f: BinaryIO, start: int, entry: dict) -> np.ndarray:
    begin, end = entry["data_offsets"]
    stored = np.dtype("<u2") if entry["dtype"] == _BF16 else DTYPES[entry["dtype"]]
    array = np.empty(entry["shape"], dtype=stored)
    f.seek(start + begin)
    buffer = array.reshape(-1).view(np.uint8)
    if f.readinto(buffer) != end - begin:
        raise SafetensorsError("tensor data ended early (file changed while reading?)")
    if entry["dtype"] == _BF16:
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _open(file: str | os.PathLike | BinaryIO):
    if isinstance(file, (str, os.PathLike)):
        return open(file, "rb"), os.fspath(file)
    if not all(hasattr(file, attr) for attr in ("read", "seek", "readinto")):
        raise TypeError(f"file must be a path or a seekable binary file, got {type(file)}")
    return None, getattr(file, "name", "<file object>")


def read_safetensors_header(file: str | os.PathLike | BinaryIO) -> tuple[dict, dict]:
    """The validated header, ``(entries, metadata)``, without reading any tensor data."""
    owned, name = _open(file)
    f = owned or file
    try:
        entries, metadata, _, _ = _parse_header(f, name)
    finally:
        if owned is not None:
            owned.close()
    return entries, metadata


def read_safetensors(file: str | os.PathLike | BinaryIO) -> tuple[dict[str, np.ndarray], dict]:
    """Read a safetensors file: ``(arrays, metadata)``, arrays in the order of their data.

    The whole header is validated before any data is read (see :class:`SafetensorsError`),
    so a corrupt header cannot make us allocate more than the file holds.
    """
    owned, name = _open(file)
    f = owned or file
    try:
        entries, metadata, start, _ = _parse_header(f, name)
        order = sorted(entries, key=lambda k: entries[k]["data_offsets"])
        arrays = {key: _read_array(f, start, entries[key]) for key in order}
    finally:
        if owned is not None:
            owned.close()
    return arrays, metadata
