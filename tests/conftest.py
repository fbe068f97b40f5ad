"""Shared test setup: the tests directory on sys.path (for ``torch_oracle``), a bounded
Hypothesis profile, and PyTorch (the test oracle) limited to 2 threads."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "nerve",
        deadline=None,
        max_examples=int(os.environ.get("NERVE_HYPOTHESIS_EXAMPLES", "40")),
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
    )
    settings.load_profile("nerve")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass

try:
    import torch

    torch.set_num_threads(2)
except ImportError:  # pragma: no cover - torch is a test dependency
    pass
