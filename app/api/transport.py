"""Responses with large arrays: nested-list JSON or ConvLab's compact binary form.

A client that sends ``Accept: application/x-convlab-arrays`` gets the binary form:

=========  ================================================================
bytes      content
=========  ================================================================
0–3        ASCII ``CLB1``
4–7        N, the header length, uint32 little-endian
8–8+N      UTF-8 JSON header ``{"meta": {...}, "arrays": {name: {"shape",
           "dtype", "offset"}}}``; ``meta`` holds every non-array field
then       zero padding to a multiple of 8, then each array's raw
           little-endian bytes (``dtype`` "f4" float32, "f8" float64,
           "i4" int32 or "u1" uint8) at
           ``offset`` bytes after that point, each offset a multiple of 8
=========  ================================================================

The page reads arrays as typed-array views without parsing numbers; a 512×512×8
float32 map is 8 MB raw against ~20 MB and a 100 ms parse as JSON. Arrays that are
uint8 travel as "u1" (one byte each: e.g. the colour-table indices of POST
/api/conv2d with ``display``, 2 MB for those maps); other integers and booleans as "i4".
Everyone else gets JSON, with arrays as nested lists.
"""
from __future__ import annotations

import json
import math
import struct
from typing import Any, Mapping

import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from app.schemas.common import error_responses
from app.errors import InvalidArgument

BINARY_MEDIA_TYPE = "application/x-convlab-arrays"
MAGIC = b"CLB1"

# OpenAPI ``responses=`` of an endpoint answering with array_response.
ARRAY_RESPONSES = {
    200: {"content": {BINARY_MEDIA_TYPE: {}},
          "description": "JSON by default; CLB1 binary with Accept: application/x-convlab-arrays"},
    **error_responses(400, 404, 413, 422),
}


def wants_binary(request: Request) -> bool:
    return BINARY_MEDIA_TYPE in request.headers.get("accept", "")


_CODES = {"f4": np.dtype("<f4"), "f8": np.dtype("<f8"), "i4": np.dtype("<i4"), "u1": np.dtype("u1")}


def _binary_dtype(arr: np.ndarray) -> tuple[np.dtype, str]:
    if arr.dtype == np.uint8:
        return _CODES["u1"], "u1"
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return _CODES["i4"], "i4"
    if arr.dtype == np.float64:
        return _CODES["f8"], "f8"  # float64 computations keep their precision
    return _CODES["f4"], "f4"


def encode_binary(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """Pack ``meta`` (JSON-able) and ``arrays`` into one CLB1 message."""
    specs, blobs, offset = {}, [], 0
    for name, arr in arrays.items():
        dtype, code = _binary_dtype(arr)
        raw = np.ascontiguousarray(arr, dtype=dtype).tobytes()
        specs[name] = {"shape": list(arr.shape), "dtype": code, "offset": offset}
        pad = (-len(raw)) % 8
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    header = json.dumps({"meta": meta, "arrays": specs}, allow_nan=False).encode()
    head = MAGIC + struct.pack("<I", len(header)) + header
    head += b"\0" * ((-len(head)) % 8)
    return head + b"".join(blobs)


def decode_binary(body: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Inverse of :func:`encode_binary` (used by tests and benchmarks)."""
    if body[:4] != MAGIC:
        raise InvalidArgument("not a CLB1 message")
    (n,) = struct.unpack("<I", body[4:8])
    header = json.loads(body[8 : 8 + n])
    start = 8 + n + ((-(8 + n)) % 8)
    arrays = {}
    for name, spec in header["arrays"].items():
        dtype = _CODES[spec["dtype"]]
        count = math.prod(spec["shape"])
        arrays[name] = np.frombuffer(body, dtype=dtype, count=count, offset=start + spec["offset"]).reshape(
            spec["shape"]
        )
    return header["meta"], arrays


def _finite_list(arr: np.ndarray) -> list:
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        # JSON has no NaN/inf; the kernels never produce them from finite input, but be safe.
        arr = np.nan_to_num(arr, nan=0.0, posinf=np.finfo(np.float32).max, neginf=np.finfo(np.float32).min)
    return arr.tolist()


def array_response(
    request: Request,
    meta: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray | None],
    status_code: int = 200,
) -> Response:
    """Answer with ``meta`` plus ``arrays`` in the form the client asked for."""
    present = {k: v for k, v in arrays.items() if v is not None}
    if wants_binary(request):
        return Response(encode_binary(meta, present), status_code=status_code, media_type=BINARY_MEDIA_TYPE)
    body = dict(meta)
    for name, arr in present.items():
        body[name] = _finite_list(np.asarray(arr))
    return JSONResponse(body, status_code=status_code)


def as_float32(a):
    """A float32 copy for the page: the labs compute in float64, the maps are drawn in float32."""
    return None if a is None else np.asarray(a, dtype=np.float32)
