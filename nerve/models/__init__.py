"""The model zoo: every architecture of the texts, in nanoGPT-style files (one family each).

``nerve.models.build(name, in_shape, num_classes)`` builds a registered model by name;
``nerve.models.available()`` lists them.
"""

from nerve.models.registry import available, build, register  # noqa: F401
