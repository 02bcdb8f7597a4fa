"""Endpoints of the Pooling lab: winners and δ routed back (routing), and the
shift-invariance experiment.

Thin: validate and bound the work, call app.kernels and app.labs.pool, answer with
app.api.transport.array_response (JSON or binary).
"""
from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter, Request

from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.inputs import resolve_input
from app.api.limits import LAB_ADVICE, check_elements, check_work
from app.api.transport import array_response, as_float32 as _f32
from app.arithmetic import pair, pool_sizes
from app.config import Settings
from app.kernels import pool2d, pool2d_backward
from app.labs.backward.delta import feature_map, make_delta
from app.labs.pool import pool_invariance
from app.schemas.common import error_responses
from app.schemas.pool import PoolInvarianceRequest, PoolInvarianceResponse, PoolLabRequest, PoolLabResponse

router = APIRouter(prefix="/api", tags=["pool"], route_class=ComputeRoute)
ERRORS = error_responses(404, 413, 422)


def _pool_source(req, store, settings: Settings) -> np.ndarray:
    x = resolve_input(req, store, settings, np.float64)
    if req.source != "image":
        check_work(settings, 2 * 9 * x.size, "the Sobel map", LAB_ADVICE)
    return feature_map(x, req.source)


def _pool_work(shape, kernel_size) -> int:
    kh, kw = pair(kernel_size, "kernel_size")
    return math.prod(shape) * kh * kw


@router.post("/pool/routing", response_model=PoolLabResponse, responses=ERRORS)
def pool_routing(req: PoolLabRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Pool the image (or its Sobel map); return the winners and δ routed back to the input."""
    x = _pool_source(req, store, settings)
    args = dict(kind=req.kind, kernel_size=req.kernel_size, stride=req.stride, padding=req.padding)
    sizes = pool_sizes(x.shape[1], x.shape[2], req.kernel_size, req.stride, req.padding)
    check_work(settings, 2 * _pool_work((x.shape[0], sizes.oh, sizes.ow), req.kernel_size), "this pooling", LAB_ADVICE)
    y, argmax = pool2d(x, **args)
    d = req.delta
    delta = make_delta(d.kind, y.shape, index=d.index, seed=d.seed)
    gx = pool2d_backward(x, delta, **args)
    meta = {"input_shape": list(x.shape), "output_shape": list(y.shape)}
    arrays = {"input": _f32(x), "output": _f32(y), "argmax": argmax, "grad_output": _f32(delta), "grad_input": _f32(gx)}
    return array_response(request, meta, arrays)


@router.post("/pool/invariance", response_model=PoolInvarianceResponse, responses=ERRORS)
def pool_invariance_demo(req: PoolInvarianceRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Shift the input by 0 … window−1 pixels; how much of the pooled output stays the same?"""
    x = _pool_source(req, store, settings)
    kh, kw = pair(req.kernel_size, "kernel_size")
    n_shifts = {"x": kw, "y": kh, "xy": min(kh, kw)}[req.axis]
    check_work(settings, n_shifts * 2 * x.size * kh * kw, "the invariance demo", LAB_ADVICE)
    result = pool_invariance(x, req.kind, req.kernel_size, req.stride, req.padding, req.axis)
    check_elements(settings, result["pooled"].size, "the shifted outputs", LAB_ADVICE)
    pooled, changed = result.pop("pooled"), result.pop("changed")
    meta = {**result, "output_shape": list(pooled.shape[1:])}
    return array_response(request, meta, {"pooled": _f32(pooled), "changed": changed})
