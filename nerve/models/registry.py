"""The model zoo's registry: ``nerve train --model NAME`` builds a model by name.

A model family registers a builder with ``@register("name", data_kinds=...)``. The builder takes
the dataset's shape information (``in_shape``, ``num_classes``) plus keyword options and returns
an ``nn.Module``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ModelEntry:
    name: str
    builder: Callable
    description: str
    inputs: str  # "image", "vector", "sequence", "any"


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, description: str = "", inputs: str = "any"):
    def wrap(builder):
        _REGISTRY[name] = ModelEntry(name, builder, description or (builder.__doc__ or "").strip().split("\n")[0], inputs)
        return builder

    return wrap


def _load_all() -> None:
    # Importing the families registers them.
    import importlib
    import pkgutil

    import nerve.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("registry",):
            importlib.import_module(f"nerve.models.{info.name}")


def available() -> dict[str, ModelEntry]:
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def build(name: str, in_shape: tuple, num_classes: int, **options):
    """Build the registered model ``name`` for inputs of ``in_shape`` (without the batch dim)."""
    models = available()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Valid names: {', '.join(models)}")
    return models[name].builder(in_shape=tuple(in_shape), num_classes=num_classes, **options)
