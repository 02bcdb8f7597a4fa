"""Endpoints of the Backward lab and the Pooling lab.

Thin: validate and bound the work, call app.kernels / app.lab_compute /
app.gradcheck, answer with app.api.transport.array_response (JSON or binary).
"""
from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter, Request

from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.inputs import nested_array, resolve_input
from app.api.limits import check_elements, check_work
from app.api.transport import array_response
from app.arithmetic import conv_sizes, pair, pool_sizes
from app.config import Settings
from app.gradcheck import check_cost, gradcheck
from app.kernels import conv2d, conv2d_backward, pool2d, pool2d_backward
from app.lab_compute import feature_map, make_delta, pool_invariance, target_map
from app.schemas.common import error_responses
from app.schemas.labs import (
    BackwardRequest,
    BackwardResponse,
    PoolInvarianceRequest,
    PoolInvarianceResponse,
    PoolLabRequest,
    PoolLabResponse,
)

router = APIRouter(prefix="/api", tags=["labs"], route_class=ComputeRoute)

# The live check re-runs the forward pass twice per checked number; above this many
# multiply-adds (about a second on two cores) it is skipped with a message instead.
GRADCHECK_MAX_WORK = 300_000_000
ERRORS = error_responses(404, 413, 422)
LAB_ADVICE = "Use a smaller image (max side), a smaller kernel or a larger stride."


def _f32(a):
    """A float32 copy for the page: the labs compute in float64, the maps are drawn in float32."""
    return None if a is None else np.asarray(a, dtype=np.float32)


@router.post("/backward", response_model=BackwardResponse, responses=ERRORS)
def backward(req: BackwardRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Forward pass, the chosen δ, and the weight, input and bias gradients of one conv layer."""
    w = nested_array(req.weight, "weight", 4, np.float64, settings, "(C_out, C_in, kh, kw)")
    x = resolve_input(req, store, settings, np.float64)
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, np.float64, settings, "(C_out,)")
    geometry = dict(stride=req.stride, padding=req.padding, dilation=req.dilation, padding_mode=req.padding_mode)
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    sizes = conv_sizes(h, wd, kh, kw, req.stride, req.padding, req.dilation)
    out_shape = (c_out, sizes.oh, sizes.ow)
    check_elements(settings, math.prod(out_shape), "the output", LAB_ADVICE)
    check_work(settings, 3 * math.prod(out_shape) * c_in * kh * kw, "this forward and backward pass", LAB_ADVICE)

    y = conv2d(x, w, b, **geometry)
    spec = req.delta
    target = loss = None
    if spec.kind == "squared_error":
        target = target_map(x, y.shape, spec.target, **geometry)
        loss = float(0.5 * np.sum((y - target) ** 2))
    delta = make_delta(spec.kind, y.shape, index=spec.index, seed=spec.seed, output=y, target=target)
    gx, gw, gb = conv2d_backward(x, w, delta, **geometry)

    check = skipped = None
    if req.gradcheck is not None:
        cost = check_cost(x.shape, w.shape, y.shape, req.gradcheck.samples)
        limit = min(GRADCHECK_MAX_WORK, settings.max_work)
        if cost > limit:
            skipped = (
                f"the finite-difference check would need {cost:,} multiply-adds (limit {limit:,}); "
                "lower the max side, use gray, or a smaller kernel"
            )
        else:
            check = gradcheck(
                x, w, None if target is not None else delta, bias=b, target=target, **geometry,
                step=req.gradcheck.step, n_input_samples=req.gradcheck.samples, seed=req.gradcheck.seed,
            ).to_dict()

    meta = {
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "weight_shape": list(w.shape),
        "pads": list(sizes.pads),
        "loss": loss,
        "gradcheck": check,
        "gradcheck_skipped": skipped,
    }
    arrays = {
        "input": _f32(x),
        "output": _f32(y),
        "grad_output": _f32(delta),
        "grad_weight": _f32(gw),
        "grad_input": _f32(gx),
        "grad_bias": _f32(gb),
        "target": _f32(target),
    }
    return array_response(request, meta, arrays)


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
