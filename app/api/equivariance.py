"""The Equivariance lab's endpoint: conv(shift(x)) against shift(conv(x)) on a stored image.

One request computes both pipelines, their difference, the interior mask, the
stride sweep and the pooling comparison in ``app.labs.equivariance``, so the
definitions of "shift", "interior" and "output shift" live in one tested place
and the page never ships a shifted copy of a large image back to the server.
"""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Request

from app.labs import equivariance
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.images import fetch_image
from app.api.limits import check_bounds
from app.api.transport import ARRAY_RESPONSES, array_response, wants_binary
from app.schemas.equivariance import EquivarianceRequest, EquivarianceResponse

router = APIRouter(prefix="/api", tags=["equivariance"], route_class=ComputeRoute)

MAX_KERNEL = 15


@router.post("/equivariance", response_model=EquivarianceResponse, responses=ARRAY_RESPONSES)
def compare(req: EquivarianceRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Shift the image by (dy, dx); answer conv(shift x), shift(conv x), their difference and its max."""
    try:
        kernel = np.array(req.kernel, dtype=np.float32)
    except ValueError:
        kernel = None
    if kernel is None or kernel.ndim != 2 or kernel.size == 0:
        raise HTTPException(422, "kernel: expected kh rows of kw numbers each (every row the same length)")
    kh, kw = kernel.shape
    if kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise HTTPException(422, f"kernel: {kh}×{kw} is larger than {MAX_KERNEL}×{MAX_KERNEL}")
    x = np.asarray(fetch_image(store, req.image_id, req.color), dtype=np.float32)
    c, h, w = x.shape
    sweep = range(0, 2 * req.stride + 1) if req.sweep else range(0)
    convs = 2 + 2 * len(sweep)
    check_bounds(settings, work=convs * c * h * w * kh * kw, out_elements=6 * h * w,
                 padded_elements=c * (h + 2 * req.padding) * (w + 2 * req.padding), binary=wants_binary(request))

    geometry = dict(stride=req.stride, padding=req.padding, padding_mode=req.padding_mode, dilation=req.dilation)
    r = equivariance.compare(x, kernel, req.dy, req.dx, pool=req.pool, **geometry)
    meta = {
        "max_interior": r["max_interior"],
        "max_whole": r["max_whole"],
        "interior_cells": r["interior_cells"],
        "output_shape": list(r["diff"].shape),
        "output_shift": list(r["output_shift"]),
        "exact_shift": r["exact_shift"],
        "cropped": list(r["cropped"]) if r["cropped"] else None,
        "scale": r["scale"],
        "sweep": equivariance.stride_sweep(x, kernel, sweep, **geometry) if req.sweep else None,
    }
    arrays = {k: r[k] for k in ("conv_shift", "shift_conv", "diff", "shifted_input")}
    arrays["interior"] = r["interior"].astype(np.int32)
    if "pool" in r:
        p = r["pool"]
        meta["pool_unchanged_before"] = p["unchanged_before"]
        meta["pool_unchanged_after"] = p["unchanged_after"]
        arrays["pooled"] = p["pooled"]
        arrays["pooled_shifted"] = p["pooled_shifted"]
    return array_response(request, meta, arrays)
