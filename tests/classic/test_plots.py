import builtins

import numpy as np
import pytest

from nerve.classic import plots


def test_missing_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[train\]'"):
        plots.require_pyplot()


def test_decision_boundary_writes_a_png(tmp_path):
    x = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    path = plots.decision_boundary(
        tmp_path / "b.png", x, np.array([0, 1, 1]), lambda p: p.sum(axis=1) - 0.5, "test"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
