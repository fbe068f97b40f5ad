"""Fixtures: a TestClient for the WebSocket API and a live uvicorn server for the browser."""

import socket
import threading
import time

import pytest

from nerve.playground.server import create_app


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ws(client):
    """An open socket, past the server's hello."""
    with client.websocket_connect("/ws") as socket_:
        hello = socket_.receive_json()
        assert hello["type"] == "hello"
        yield socket_


@pytest.fixture(scope="module")
def live_server():
    """``(url, app)`` of a real uvicorn server on a free localhost port, in a thread."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app_ = create_app()
    server = uvicorn.Server(uvicorn.Config(app_, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the playground server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app_
    server.should_exit = True
    thread.join(timeout=10)
