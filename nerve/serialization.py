"""``nerve.save`` / ``nerve.load``: checkpoints as safetensors files; no pickle, ever.

``save(obj, f)`` takes what ``torch.save`` is mostly used for: a Tensor, or nested dicts,
lists and tuples of Tensors, NumPy arrays and JSON-like values (int, float incl. nan/inf,
bool, str, None, bytes) -- a model's ``state_dict``, an optimizer's, the epoch, RNG states.

The file is a standard safetensors file (see :mod:`nerve.safetensors_io`):

- each tensor is an entry named by its dotted path in ``obj``:
  ``{"model": {"fc.weight": W}, "optimizer": {"state": {0: {"exp_avg": m}}}}`` stores
  ``model.fc.weight`` and ``optimizer.state.0.exp_avg`` (a repeated name gets ``#2``, ``#3``;
  a tensor that appears twice, like tied weights, is stored once and loads as one Tensor);
  a flat ``state_dict`` keeps its own keys, so other safetensors tools read it as usual;
- ``__metadata__["nerve.structure"]`` is JSON for ``obj`` with every tensor replaced by a
  reference to its entry. Values JSON lacks are tagged objects: ``{"__tensor__": name}``,
  ``{"__ndarray__": name}``, ``{"__tuple__": [...]}``, ``{"__float__": "nan"}``,
  ``{"__bytes__": hex}``, and ``{"__dict__": [[key, value], ...]}`` for a dict whose keys are
  not all strings (e.g. ``optimizer.state``'s int keys) or look like these tags.

``load`` restores the same structure (dicts come back as ``dict``, tuples as tuples); a
safetensors file without nerve's structure (e.g. Hugging Face weights) loads as a flat dict
``{name: Tensor}``. Writes are atomic: a temporary file in the target's directory, fsync,
then rename over the target, so a crash mid-write leaves the previous checkpoint intact.

    >>> nerve.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    >>> ckpt = nerve.load("ckpt.safetensors")
    >>> model.load_state_dict(ckpt["model"])
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from nerve.safetensors_io import SafetensorsError, read_safetensors, write_safetensors

__all__ = ["SafetensorsError", "load", "save"]

STRUCTURE_KEY = "nerve.structure"
FORMAT_KEY = "nerve.format"
FORMAT_VERSION = "1"
_TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__float__", "__bytes__", "__dict__")


class _Encoder:
    """Turns ``obj`` into (JSON structure, {entry name: numpy array})."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.names: dict[int, str] = {}  # id(tensor or array) -> entry, so shared ones stay shared
        self.keep: list = []  # keeps ids valid while encoding
        self.open: set[int] = set()  # containers on the current path, to refuse cycles

    def _name(self, path: list[str]) -> str:
        base = ".".join(path) or "tensor"
        name, n = base, 1
        while name in self.arrays:
            n += 1
            name = f"{base}#{n}"
        return name

    def encode(self, obj: Any, path: list[str]) -> Any:
        from nerve.tensor import Tensor

        where = ".".join(path) or "<root>"
        if isinstance(obj, Tensor):
            name = self.names.get(id(obj))
            if name is None:
                name = self._name(path)
                self.arrays[name] = np.asarray(obj.detach().numpy(force=True))
                self.names[id(obj)] = name
                self.keep.append(obj)
            node: dict[str, Any] = {"__tensor__": name}
            if obj.requires_grad:
                node["requires_grad"] = True
            if obj.device.type != "cpu":
                node["device"] = str(obj.device)
            return node
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "OUSVcM":
                raise TypeError(f"nerve.save: cannot store {where}: numpy dtype {obj.dtype}")
            name = self.names.get(id(obj))
            if name is None:
                name = self._name(path)
                self.arrays[name] = obj
                self.names[id(obj)] = name
                self.keep.append(obj)
            return {"__ndarray__": name}
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, bytes):
            return {"__bytes__": obj.hex()}
        if isinstance(obj, (Mapping, list, tuple)):
            if id(obj) in self.open:
                raise ValueError(f"nerve.save: {where} contains itself (a cycle)")
            self.open.add(id(obj))
            try:
                return self.encode_container(obj, path, where)
            finally:
                self.open.discard(id(obj))
        raise TypeError(
            f"nerve.save: cannot store {where} of type {type(obj).__name__}; nerve.save stores "
            "Tensors, numpy arrays, and dicts/lists/tuples of them and of int, float, bool, str, "
            "bytes, None (no pickle)"
        )

    def encode_container(self, obj: Any, path: list[str], where: str) -> Any:
        if isinstance(obj, Mapping):
            plain = all(isinstance(k, str) and k not in _TAGS for k in obj)
            if plain:
                return {k: self.encode(v, [*path, k]) for k, v in obj.items()}
            return {
                "__dict__": [
                    [self.encode_key(k, where), self.encode(v, [*path, str(k)])]
                    for k, v in obj.items()
                ]
            }
        if isinstance(obj, list):
            return [self.encode(v, [*path, str(i)]) for i, v in enumerate(obj)]
        return {"__tuple__": [self.encode(v, [*path, str(i)]) for i, v in enumerate(obj)]}

    def encode_key(self, key: Any, where: str) -> Any:
        if isinstance(key, np.generic):
            key = key.item()
        if key is None or isinstance(key, (bool, int, float, str, bytes, tuple)):
            return self.encode(key, [])
        raise TypeError(
            f"nerve.save: cannot store a dict key of type {type(key).__name__} in {where}"
        )


def _decode(node: Any, tensors: dict, make_tensor) -> Any:
    if isinstance(node, list):
        return [_decode(v, tensors, make_tensor) for v in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        return make_tensor(tensors[node["__tensor__"]], node)
    if "__ndarray__" in node:
        return tensors[node["__ndarray__"]]
    if "__tuple__" in node:
        return tuple(_decode(v, tensors, make_tensor) for v in node["__tuple__"])
    if "__float__" in node:
        return float(node["__float__"])
    if "__bytes__" in node:
        return bytes.fromhex(node["__bytes__"])
    if "__dict__" in node:
        return {
            _freeze(_decode(k, tensors, make_tensor)): _decode(v, tensors, make_tensor)
            for k, v in node["__dict__"]
        }
    return {k: _decode(v, tensors, make_tensor) for k, v in node.items()}


def _freeze(key: Any) -> Any:
    return tuple(_freeze(k) for k in key) if isinstance(key, (list, tuple)) else key


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: str, arrays: dict, metadata: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"nerve.save: directory {directory!r} does not exist")
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write_safetensors(f, arrays, metadata)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory file descriptors
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dir_fd)


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` (Tensors, arrays, nested dicts/lists/tuples of JSON-like values) to ``f``.

    ``f``: a path (written atomically) or a writable binary file object.
    """
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    metadata = {
        FORMAT_KEY: FORMAT_VERSION,
        STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), encoder.arrays, metadata)
    elif hasattr(f, "write"):
        write_safetensors(f, encoder.arrays, metadata)
    else:
        raise TypeError(f"nerve.save: f must be a path or a binary file object, got {type(f)}")


def _check_map_location(map_location) -> None:
    from nerve.device import device

    if map_location is None:
        return
    if callable(map_location) and not isinstance(map_location, Mapping):
        raise TypeError(
            "nerve.load: map_location must be None, a device or a dict of device names; "
            f"callables are not supported, got {map_location!r}"
        )
    targets = map_location.values() if isinstance(map_location, Mapping) else [map_location]
    for target in targets:
        try:
            device(target)
        except (TypeError, ValueError) as error:
            raise type(error)(f"nerve.load: map_location: {error}") from None


def _target_device(saved: str, map_location) -> str:
    if map_location is None:
        return saved
    if isinstance(map_location, Mapping):
        return str(map_location.get(saved, saved))
    return str(map_location)


def load(f: str | os.PathLike | BinaryIO, map_location=None, *, weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote (or any safetensors file, as a flat dict of Tensors).

    ``map_location``: where tensors go, as in ``torch.load``: ``None`` (the device they were
    saved from), a device (``"cpu"``, ``"cuda"``, ``nerve.device(...)``), or a dict mapping
    saved device names to new ones (``{"cuda": "cpu"}``). ``weights_only`` is accepted for
    ``torch.load`` compatibility; loading never runs code, whatever its value.

    Raises :class:`SafetensorsError` (a ``ValueError``) for a corrupt, truncated or foreign file.
    """
    del weights_only  # always safe: nothing in the file is executed
    from nerve.tensor import Tensor

    _check_map_location(map_location)

    arrays, metadata = read_safetensors(f)
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file object>")

    made: dict[int, Tensor] = {}  # one Tensor per entry: tensors saved shared load shared

    def make_tensor(array: np.ndarray, node: dict) -> Tensor:
        if id(array) in made:
            return made[id(array)]
        tensor = Tensor._wrap(array)
        device = _target_device(node.get("device", "cpu"), map_location)
        if device != "cpu":
            tensor = tensor.to(device)
        if node.get("requires_grad"):
            tensor.requires_grad_(True)
        made[id(array)] = tensor
        return tensor

    if STRUCTURE_KEY not in metadata:
        return {key: make_tensor(array, {}) for key, array in arrays.items()}
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
        return _decode(structure, arrays, make_tensor)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, RecursionError) as error:
        raise SafetensorsError(
            f"{os.fspath(name) if isinstance(name, os.PathLike) else name}: corrupt "
            f"{STRUCTURE_KEY} metadata ({type(error).__name__}: {error})"
        ) from None
