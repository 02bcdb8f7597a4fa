"""Arrays a request carries: nested-list JSON checked into NumPy, or a stored image named by id.

Every router that takes an input, a weight or a δ parses it here, so a ragged list,
a wrong number of dimensions or an over-long array gets one message naming the field.
"""
from __future__ import annotations

import numpy as np
from fastapi import HTTPException

from app.api.images import fetch_image
from app.config import Settings
from app.imaging.store import ImageStore


def float_dtype(name: str) -> type[np.floating]:
    """The NumPy type a request's ``dtype`` field names: float64, else float32 (the default)."""
    return np.float64 if name == "float64" else np.float32


def nested_array(value, name: str, ndim: int, dtype, settings: Settings, layout: str = "", *,
                 promote: bool = False, instead: str = "send a smaller array") -> np.ndarray:
    """Validated nested lists -> a rectangular, non-empty ``ndim``-D array; 422/413 naming ``name``.

    ``layout`` (e.g. ``"(C, H, W)"``) is quoted when the dimensions are wrong. With
    ``promote``, fewer dimensions get leading axes of length 1 (one channel sent flat).
    ``instead`` is what to do when the array is too long for nested-list JSON.
    """
    try:
        a = np.array(value, dtype=dtype)
    except ValueError:
        raise HTTPException(422, f"{name}: ragged nested lists; every row must have the same length") from None
    while promote and a.ndim < ndim:
        a = a[np.newaxis]
    if a.ndim != ndim:
        shown = f" {layout}" if layout else ""
        raise HTTPException(422, f"{name}: expected a {ndim}-D array{shown}, got {a.ndim}-D with shape {list(a.shape)}")
    if a.size == 0:
        raise HTTPException(422, f"{name}: the array is empty (shape {list(a.shape)})")
    if a.size > settings.max_json_elements:
        raise HTTPException(
            413,
            f"{name}: {a.size:,} numbers exceed the limit of {settings.max_json_elements:,} for nested-list JSON; "
            f"{instead}",
        )
    return a


def resolve_input(req, store: ImageStore, settings: Settings, dtype) -> np.ndarray:
    """The request's (C, H, W) input: its stored ``image_id`` converted to ``color``, else its nested ``input``."""
    if req.image_id is not None:
        return np.asarray(fetch_image(store, req.image_id, req.color), dtype=dtype)
    return nested_array(req.input, "input", 3, dtype, settings, "(C, H, W)",
                        instead="upload the image and send image_id instead")
