"""The one place where failures become HTTP answers: always ``{"detail": "<message>"}``.

No stack trace or exception text from inside a library ever reaches a client;
messages are either ours (``HTTPException``/``ValueError`` raised with a message a
person can act on) or a generic line for the unexpected.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("convlab")


def _location(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) if parts else "body"


def describe_validation_error(exc: RequestValidationError) -> str:
    """One sentence per problem, each naming the field, e.g. ``stride.0: must be >= 1``."""
    lines = []
    for err in exc.errors()[:5]:
        loc = _location(err.get("loc", ()))
        msg = str(err.get("msg", "invalid value"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err.get("type") == "json_invalid":
            lines.append(f"the request body is not valid JSON ({msg})")
        else:
            lines.append(f"{loc}: {msg}")
    more = len(exc.errors()) - 5
    if more > 0:
        lines.append(f"and {more} more")
    return "; ".join(lines) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": describe_validation_error(exc)}, status_code=422)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError):
        # Kernels and arithmetic raise ValueError with a message written for people.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(MemoryError)
    async def memory_error(request: Request, exc: MemoryError):
        return JSONResponse({"detail": "the request needs more memory than the server allows; use a smaller input"},
                            status_code=413)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; the server logged it and keeps running"}, status_code=500)
