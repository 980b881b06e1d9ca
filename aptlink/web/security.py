"""What keeps a local dashboard safe from the browser it is opened in, and from big bodies.

- Host check: bound to loopback, only loopback host names are served, so a web page using DNS
  rebinding cannot read the case through the analyst's browser.
- Origin check: a state-changing request (POST) from another origin is refused, so a web page cannot
  post evidence or re-run stages through the analyst's browser (forms are "simple" requests).
- Body bound: a request body larger than the upload budget (plus multipart overhead) is refused
  before it is parsed, by Content-Length or, when chunked, by counting.
- Token: with a token set (required when not bound to loopback), every request must carry it, as
  ``Authorization: Bearer <token>`` (scripts) or as the password of HTTP Basic (a browser asks for
  it; any user name). Compared in constant time.
- Headers: the pages carry a Content-Security-Policy with no scripts and no external anything.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from aptlink.errors import AptlinkError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MULTIPART_OVERHEAD = 1024 * 1024
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class Refused(AptlinkError):
    """A request refused before it reached the case (the status is set by the raiser)."""

    def __init__(
        self, message: str, where: str | None, status: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, where)
        self.status = status
        self.headers = headers or {}


def is_loopback(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a Host header (``[::1]:8765`` -> ``::1``)."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Guard:
    """ASGI middleware applying the host, origin and body checks, and the response headers."""

    def __init__(
        self, app: ASGIApp, *, loopback_only: bool, max_body: int, token: str | None = None
    ) -> None:
        self.app = app
        self.loopback_only = loopback_only
        self.token = token.encode("utf-8") if token else None
        self.max_body = max_body + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await _send_error(send, refusal)
            return
        await self.app(scope, self._counting(receive), _with_headers(send))

    def refusal(self, scope: Scope, headers: Headers) -> Refused | None:
        host = headers.get("host", "")
        if self.loopback_only and host_name(host) not in LOOPBACK_NAMES:
            return Refused("host not served (the server is bound to loopback)", host, 421)
        if self.token is not None and not authorised(headers, self.token):
            challenge = {"www-authenticate": 'Basic realm="aptlink", charset="UTF-8"'}
            return Refused("authentication required: the server's token", None, 401, challenge)
        if scope["method"] in UNSAFE_METHODS and not same_origin(headers):
            return Refused("cross-origin request refused", headers.get("origin"), 403)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return self._too_large()
        return None

    def _too_large(self) -> Refused:
        mb = (self.max_body - MULTIPART_OVERHEAD) // (1024 * 1024)
        return Refused(f"request too large: more than {mb} MB", "request body", 413)

    def _counting(self, receive: Receive) -> Receive:
        seen = [0]

        async def counted() -> Message:
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > self.max_body:
                # FastAPI passes an HTTPException raised while reading the body on unchanged
                refused = self._too_large()
                raise HTTPException(refused.status, detail=str(refused))
            return message

        return counted


def authorised(headers: Headers, token: bytes) -> bool:
    """The request carries the token, as a Bearer token or as the password of HTTP Basic."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    offered = value.strip().encode("utf-8")
    if scheme.lower() == "basic":
        try:
            offered = base64.b64decode(offered, validate=True).partition(b":")[2]
        except (binascii.Error, ValueError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(offered, token)


def same_origin(headers: Headers) -> bool:
    """No Origin (not a browser, or same-origin navigation) or an Origin naming this host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == headers.get("host", "")


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            extra = [
                (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present
            ]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return sending


async def _send_error(send: Send, refusal: Refused) -> None:
    import json

    body = json.dumps({"error": str(refusal)}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in {**HEADERS, **refusal.headers}.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
