"""The playground's ASGI app: the page, its static files, and one WebSocket per browser tab.

Routes:

- ``GET /``: the page (static/index.html); ``/static/...``: its scripts and styles, all
  served from the package, so the page needs no network beyond this server;
- ``GET /status``: ``{"sessions": n, "version": ...}``;
- ``WS /ws``: the protocol in protocol.py. Each connection gets its own ``Session``; closing
  the tab (or the socket) cancels its training loop and frees it.

Every HTTP response carries a Content-Security-Policy that allows only this origin, so a
script that tried to reach a CDN would be blocked by the browser.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from nerve.playground.protocol import ProtocolError
from nerve.playground.session import Session

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
log = logging.getLogger("nerve.playground")


class SecurityHeaders:
    """ASGI middleware: adds the CSP and no-sniff headers to every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app() -> Starlette:
    """The Starlette app; ``app.state.sessions`` maps connection ids to live sessions."""
    counter = itertools.count(1)

    async def index(request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def status(request):
        from nerve import __version__

        return JSONResponse({"sessions": len(app.state.sessions), "version": __version__})

    async def socket(websocket: WebSocket):
        if not _same_origin(websocket):
            await websocket.close(code=1008)
            return
        await websocket.accept()

        async def send(message: dict[str, Any]) -> None:
            text = json.dumps(message, separators=(",", ":"), allow_nan=False)
            try:
                await websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError):
                session.close()  # the tab went away; its training loop ends quietly

        session = Session(send)
        session_id = next(counter)
        app.state.sessions[session_id] = session
        loop = asyncio.create_task(session.run())
        try:
            await session.send(session.hello())
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is None:
                    error = ProtocolError("binary messages are not part of the protocol")
                    await session.send(error.to_message())
                    continue
                await session.handle(message["text"])
        except (WebSocketDisconnect, RuntimeError):
            pass  # the tab went away mid-send
        finally:
            session.close()
            loop.cancel()
            app.state.sessions.pop(session_id, None)
            try:
                await loop
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the socket is gone
                pass

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/status", status),
            WebSocketRoute("/ws", socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
    )
    app.add_middleware(SecurityHeaders)
    app.state.sessions = {}
    return app


def _same_origin(websocket: WebSocket) -> bool:
    """Refuse sockets opened by pages of other origins (a page on the web probing localhost)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _single_threaded_blas() -> None:
    """One BLAS thread: the playground's matrices are tiny (16 x 16 at most, 2304 rows), and a
    multi-threaded BLAS spends more time waking its threads than multiplying (measured 0.16 ms
    vs 1-8 ms per product on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: the playground works without it, only slower
        return
    threadpool_limits(limits=1, user_api="blas")


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Run the playground with uvicorn until interrupted; opens the page in a browser."""
    import threading
    import webbrowser

    import uvicorn

    from nerve.playground.protocol import LIMITS

    _single_threaded_blas()
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        log_level="warning",
        ws_max_size=2 * LIMITS["message_bytes"],
    )
    server = uvicorn.Server(config)
    print(f"nerve playground: {url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    server.run()
