"""Helpers for WebSocket tests: send a message, wait for a reply of a given type."""

import json


def receive(ws, kind, until=None, limit=400):
    """The next message of type ``kind`` (for which ``until(message)`` holds), skipping others."""
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == "learn.frame":
            ws.send_text('{"type": "learn.ack"}')  # as the page does after drawing
        if message["type"] == "error" and kind != "error":
            raise AssertionError(f"server error: {message}")
        if message["type"] == kind and (until is None or until(message)):
            return message
    raise AssertionError(f"no {kind!r} message in {limit} messages")


def send(ws, kind, **fields):
    ws.send_text(json.dumps({"type": kind, **fields}))
