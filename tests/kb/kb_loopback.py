"""A loopback HTTP server with scripted answers, for the sync tests (never the internet)."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[str, dict[str, list[str]]], Answer]


class Loopback:
    """Routes by path; every request is logged as (path, query, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query)
                owner.requests.append((parts.path, query, dict(self.headers.items())))
                route = owner.routes.get(parts.path)
                status, headers, body = route(parts.path, query) if route else (404, {}, b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def static(self, path: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.routes[path] = lambda _p, _q: (status, headers, body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
