"""Endpoint of the Backward lab: one conv layer's forward pass, a chosen δ, its three
gradients and the float64 finite-difference check.

Thin: validate and bound the work, call app.kernels and app.labs.backward, answer with
app.api.transport.array_response (JSON or binary).
"""
from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter, Request

from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.inputs import nested_array, resolve_input
from app.api.limits import LAB_ADVICE, check_elements, check_work
from app.api.transport import array_response, as_float32 as _f32
from app.arithmetic import conv_sizes
from app.kernels import conv2d, conv2d_backward
from app.labs.backward.delta import make_delta, target_map
from app.labs.backward.gradcheck import check_cost, gradcheck
from app.schemas.backward import BackwardRequest, BackwardResponse
from app.schemas.common import error_responses

router = APIRouter(prefix="/api", tags=["backward"], route_class=ComputeRoute)

# The live check re-runs the forward pass twice per checked number; above this many
# multiply-adds (about a second on two cores) it is skipped with a message instead.
GRADCHECK_MAX_WORK = 300_000_000
ERRORS = error_responses(404, 413, 422)


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
