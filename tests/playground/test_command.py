"""``nerve playground``: arguments, and a real server started by the command."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from nerve.cli import main


def test_arguments_reach_the_server(monkeypatch):
    calls = []
    import nerve.playground.server as server

    monkeypatch.setattr(server, "serve", lambda *a, **k: calls.append((a, k)))
    assert main(["playground", "--no-browser", "--port", "9123"]) == 0
    assert calls == [(("127.0.0.1", 9123), {"open_browser": False})]
    assert main(["playground"]) == 0
    assert calls[-1] == (("127.0.0.1", 8765), {"open_browser": True})


def test_bad_port_is_refused(capsys):
    assert main(["playground", "--port", "70000"]) == 2
    assert "--port must be 1..65535, got 70000" in capsys.readouterr().err
    assert main(["playground", "--port", "0"]) == 2


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["playground", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out and "--no-browser" in out


def test_the_command_serves_the_page_on_localhost():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "nerve.cli", "playground", "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as r:
                    assert json.load(r)["sessions"] == 0
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "nerve playground" in r.read().decode()
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert f"http://localhost:{port}/" in output
