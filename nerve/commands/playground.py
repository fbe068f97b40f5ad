"""``nerve playground``: watch a network think and learn in the browser, computed by nerve."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a web browser"
    )


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        print(f"nerve playground: --port must be 1..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        from nerve.playground.server import serve
    except ImportError as err:
        print(
            f"nerve playground needs the 'playground' extra ({err.name} is missing): "
            "pip install 'nerve[playground]'",
            file=sys.stderr,
        )
        return 1
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: binding to {args.host}: anyone who can reach it can use the playground",
            file=sys.stderr,
        )
    serve(args.host, args.port, open_browser=not args.no_browser)
    return 0
