"""The one place where failures become HTTP answers: always ``{"detail": "<message>"}``.

No stack trace or exception text from inside a library ever reaches a client;
messages are either ours (``HTTPException``, ``ImageError`` or ``InvalidArgument``
raised with a message a person can act on) or a generic line for the unexpected —
a ``ValueError`` from NumPy or Pillow is a bug of ours, not the user's, and answers 500.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.middleware import SECURITY_HEADERS
from app.errors import InvalidArgument
from app.imaging.decode import ImageError
from app.labs.classmode.rules import ClassModeError

log = logging.getLogger("convlab")


def _is_field(part) -> bool:
    # pydantic adds the union member it tried ("constrained-int", "list[float]", "GradSpec")
    # to an error's location; people only need the field names and indices.
    if isinstance(part, int):
        return True
    return part not in ("body", "query", "path", "form", "header") and not any(ch in part for ch in "[-'(") \
        and not part[:1].isupper()


def _location(loc) -> str:
    parts = [str(p) for p in loc if _is_field(p)]
    return ".".join(parts) if parts else "body"


def _pick(errors: list[dict]) -> list[dict]:
    """One error per top-level field: the most specific (deepest) one a union produced."""
    chosen: dict[str, dict] = {}
    for err in errors:
        parts = [p for p in err.get("loc", ()) if _is_field(p)]
        key = str(parts[0]) if parts else ""
        # deeper first; then a broken rule ("must be >= 1") over a wrong type that
        # merely says another member of the union did not apply
        rank = (len(parts), not str(err.get("type", "")).endswith("_type"))
        if key not in chosen or rank > chosen[key]["_rank"]:
            chosen[key] = {**err, "_rank": rank}
    return list(chosen.values())


def _json_kind(value) -> str:
    """What a JSON value is, in the words of JSON: "a number", "a list", ..."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return "another kind of value"


def describe_validation_error(exc: RequestValidationError) -> str:
    """One sentence per problem, each naming the field, e.g. ``stride: Input should be ...``."""
    errors = _pick(list(exc.errors()))
    lines = []
    for err in errors[:5]:
        loc = _location(err.get("loc", ()))
        msg = str(err.get("msg", "invalid value"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err.get("type") == "json_invalid":
            lines.append(f"the request body is not valid JSON ({msg})")
        elif loc == "body" and err.get("type") == "value_error":
            lines.append(msg)  # a whole-request rule; the message names its fields
        elif loc == "body" and err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            lines.append("the request body must be a JSON object (Content-Type: application/json)")
        elif err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            lines.append(f"{loc}: must be a JSON object ({{...}}), not {_json_kind(err.get('input'))}")
        else:
            lines.append(f"{loc}: {msg}")
    more = len(errors) - 5
    if more > 0:
        lines.append(f"and {more} more")
    return "; ".join(lines) or "invalid request"


UNPARSEABLE = "There was an error parsing the body"  # FastAPI's 400 for bodies it cannot decode
UNPARSEABLE_DETAIL = ("the request body could not be parsed: send UTF-8 JSON (Content-Type: application/json), "
                      "or multipart form data for uploads")
TOO_DEEP_DETAIL = ("the request body is nested too deeply: its JSON lists or objects sit inside each other "
                   "hundreds of levels deep; ConvLab's arrays need at most four levels")


def unparseable_detail(exc: BaseException) -> str:
    """Why FastAPI could not parse a body, from the exception it chained (never its text)."""
    if isinstance(exc.__cause__, RecursionError):
        return TOO_DEEP_DETAIL
    return UNPARSEABLE_DETAIL
ERROR_SCHEMA = {
    "title": "ErrorBody",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}


def document_errors(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about errors: ``{"detail": str}`` everywhere.

    FastAPI documents its own 422 body (a list of validation errors); ours is one
    sentence. Every operation that takes a body can also answer 413 (body limit).
    """
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = {**ERROR_SCHEMA, "title": "HTTPValidationError"}
        error_ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                if "requestBody" in op:
                    op["responses"].setdefault("413", {"description": "Request body too large", **error_ref})
                if "requestBody" in op or op.get("parameters"):
                    op["responses"].setdefault("422", {"description": "Invalid parameter", **error_ref})
        return schema

    app.openapi = openapi


def install_error_handlers(app: FastAPI) -> None:
    document_errors(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and detail == UNPARSEABLE:
            # Not valid UTF-8, or a broken multipart body: malformed, like invalid JSON (422).
            return JSONResponse({"detail": unparseable_detail(exc)}, status_code=422)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": describe_validation_error(exc)}, status_code=422)

    @app.exception_handler(ImageError)
    async def image_error(request: Request, exc: ImageError):
        # 413 too large, 415 not a supported image, 422 damaged file
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(ClassModeError)
    async def class_mode_error(request: Request, exc: ClassModeError):
        # 403 not the teacher, 404 unknown class/question/student, 409 not now, 503 no shared store
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(InvalidArgument)
    async def invalid_argument(request: Request, exc: InvalidArgument):
        # Kernels, arithmetic and the labs raise InvalidArgument with a message written for people.
        # Any other ValueError (NumPy's, Pillow's) falls through to ``unexpected``: a 500 without its text.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError):
        return JSONResponse({"detail": TOO_DEEP_DETAIL}, status_code=422)

    @app.exception_handler(MemoryError)
    async def memory_error(request: Request, exc: MemoryError):
        return JSONResponse({"detail": "the request needs more memory than the server allows; use a smaller input"},
                            status_code=413)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Starlette answers this one outside every middleware, so the headers are added here.
        headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
        return JSONResponse({"detail": "internal error; the server logged it and keeps running"}, status_code=500,
                            headers=headers)
