"""ASGI middleware: security headers, trusted host names, relative redirects, and checks on request bodies."""
from __future__ import annotations

import json

from starlette.exceptions import HTTPException

# Only ConvLab's own files: no inline script, no other origin. The camera's frames are
# blob:/data: images drawn to canvases.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in dict(SECURITY_HEADERS)]
                message = {**message, "headers": headers + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Answer 413 as soon as a request body exceeds ``max_bytes`` (declared or streamed)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    @property
    def message(self) -> str:
        return f"request body is larger than the server's limit of {self.max_bytes:,} bytes"

    async def _reject(self, send):
        body = json.dumps({"detail": self.message}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    return await self._reject(send)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException passes through FastAPI's body parsing untouched and
                    # becomes a 413 in the error handler.
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, counting_receive, send)


class MultipartComplete:
    """422 when a multipart body ends before its closing boundary (``--<boundary>--``).

    The multipart parser drops an unfinished last part without a word, so a cut-off
    upload would otherwise be answered "file: Field required" — true, but about the
    wrong thing. The check watches the stream as it passes (a few bytes of overlap
    between chunks); it reads nothing the application would not read anyway.
    """

    def __init__(self, app):
        self.app = app

    @staticmethod
    def _boundary(scope) -> bytes | None:
        for name, value in scope.get("headers", []):
            if name == b"content-type" and value.lower().startswith(b"multipart/"):
                for param in value.split(b";")[1:]:
                    key, _, val = param.strip().partition(b"=")
                    if key.lower() == b"boundary" and val:
                        return val.strip(b'"')
        return None

    async def __call__(self, scope, receive, send):
        boundary = self._boundary(scope) if scope["type"] == "http" else None
        if boundary is None:
            return await self.app(scope, receive, send)
        closing = b"--" + boundary + b"--"
        tail = b""
        seen = False

        async def watching_receive():
            nonlocal tail, seen
            message = await receive()
            if message["type"] == "http.request" and not seen:
                chunk = tail + message.get("body", b"")
                seen = closing in chunk
                tail = chunk[-len(closing):]
                if not seen and not message.get("more_body", False):
                    raise HTTPException(
                        422,
                        "the multipart body ends before its closing boundary "
                        f"(--{boundary.decode('latin-1')}--): the upload was cut off or built by hand "
                        "without it; send the file again as a complete form",
                    )
            return message

        await self.app(scope, watching_receive, send)


def _header(scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return b""


def _host_name(host: str) -> str:
    """``Example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrustedHosts:
    """400 for a Host header outside ``CONVLAB_TRUSTED_HOSTS`` (``*`` answers any).

    Nothing ConvLab sends is built from the Host header (asset URLs are root-relative,
    redirects are relative), so any host is harmless to the page; a list still
    matters against DNS rebinding, when a server bound to this machine only is
    reached through a hostile name. ``*.example.org`` matches every subdomain.
    """

    def __init__(self, app, hosts: list[str]):
        self.app = app
        self.any = "*" in hosts
        self.exact = {h.lower() for h in hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in hosts if h.startswith("*."))

    def allowed(self, host: str) -> bool:
        name = _host_name(host)
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    async def __call__(self, scope, receive, send):
        if self.any or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = _header(scope, b"host").decode("latin-1")
        if self.allowed(host):
            return await self.app(scope, receive, send)
        body = json.dumps({"detail": f"this server does not answer for the host name {host[:100]!r} "
                                     "(its CONVLAB_TRUSTED_HOSTS setting lists the names it answers for)"}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class RelativeRedirects:
    """Redirects never carry the request's Host: an absolute ``Location`` becomes root-relative.

    ConvLab never redirects to another site, so every absolute Location is one of its own.

    Starlette builds the trailing-slash redirect (``/api/samples/`` -> ``/api/samples``)
    from the request URL, i.e. from the Host header a client chose.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_relative(message):
            if message["type"] == "http.response.start" and 300 <= message.get("status", 200) < 400:
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"location" and b"://" in value[:16]:
                        rest = value.split(b"://", 1)[1]
                        path = b"/" + rest.split(b"/", 1)[1] if b"/" in rest else b"/"
                        value = path if not path.startswith(b"//") else b"/"
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_relative)
