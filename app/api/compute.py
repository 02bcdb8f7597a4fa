"""Convolution and pooling on posted arrays or stored images, forward and backward.

The handlers size the work and check it against app.api.limits, then call ``app.kernels``;
the kernels' own ``ValueError``s (impossible geometry) become 422s in errors.py.
"""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Request

from app import arithmetic, display, kernels
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.inputs import float_dtype, nested_array, resolve_input
from app.api.limits import check_bounds
from app.api.transport import ARRAY_RESPONSES, array_response, wants_binary
from app.config import Settings
from app.errors import InvalidArgument
from app.labs.backward.delta import make_delta
from app.schemas.compute import Conv2dRequest, Conv2dResponse, GradSpec, Pool2dRequest, Pool2dResponse

router = APIRouter(prefix="/api", tags=["compute"], route_class=ComputeRoute)


# --- δ ----------------------------------------------------------------------------


def resolve_grad(req, out_shape: tuple[int, ...], dtype, settings: Settings) -> tuple[np.ndarray | None, bool]:
    """(δ or None, whether δ was described rather than sent)."""
    if req.grad_output is None:
        return None, False
    spec = req.grad_output
    if isinstance(spec, GradSpec):
        try:
            seed = 0 if spec.seed is None else spec.seed
            return make_delta(spec.kind, out_shape, index=spec.index, seed=seed, dtype=dtype), True
        except InvalidArgument:
            # The schema already checked the kind and the index's length and signs: the index is past the output.
            raise HTTPException(
                422, f"grad_output.index: {spec.index} is outside the output of shape {list(out_shape)}"
            ) from None
    gy = nested_array(req.grad_output, "grad_output", 3, dtype, settings, "(C, H, W)")
    if gy.shape != out_shape:
        raise HTTPException(422, f"grad_output: has shape {list(gy.shape)}; the output has shape {list(out_shape)}")
    return gy, False


# --- sizes ------------------------------------------------------------------------


def _min_max(y: np.ndarray) -> tuple[list[float], list[float]]:
    flat = y.reshape(y.shape[0], -1)
    return [float(v) for v in flat.min(axis=1)], [float(v) for v in flat.max(axis=1)]


# --- endpoints --------------------------------------------------------------------


@router.post("/conv2d", response_model=Conv2dResponse, responses=ARRAY_RESPONSES)
def conv2d(req: Conv2dRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Convolve an array or a stored image with C_out kernels; gradients too when grad_output is given."""
    if req.display is not None and not wants_binary(request):
        raise HTTPException(422, "display: colour indices come only in the binary answer "
                            "(Accept: application/x-convlab-arrays); leave display out for JSON")
    dtype = float_dtype(req.dtype)
    x = resolve_input(req, store, settings, dtype)
    w = nested_array(req.weight, "weight", 4, dtype, settings, "(C_out, C_in / groups, kh, kw)")
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, dtype, settings, "(C_out,)")
    if b is not None and b.shape[0] != w.shape[0]:
        raise HTTPException(422, f"bias: has {b.shape[0]} values but weight has {w.shape[0]} filters (C_out)")

    c_in, h, wd = x.shape
    c_out, cin_g, kh, kw = w.shape
    oh, ow, (top, bottom, left, right) = arithmetic.conv_sizes(h, wd, kh, kw, req.stride, req.padding, req.dilation)
    pth, ptw = top + bottom, left + right
    passes = 3 if req.grad_output is not None else 1  # backward: grad input and grad weight
    check_bounds(
        settings,
        work=passes * oh * ow * kh * kw * cin_g * c_out,
        out_elements=c_out * oh * ow,
        padded_elements=c_in * (h + pth) * (wd + ptw),
        binary=wants_binary(request),
    )

    w_eff = kernels.flip_kernel(w) if req.flip else w
    geometry = dict(stride=req.stride, padding=req.padding, dilation=req.dilation,
                    padding_mode=req.padding_mode, groups=req.groups)
    pre = kernels.conv2d(x, w_eff, b, **geometry)
    y = kernels.relu(pre) if req.relu else pre

    arrays: dict[str, np.ndarray | None] = {"output": y}
    gy, described = resolve_grad(req, y.shape, dtype, settings)
    if gy is not None:
        g_pre = kernels.relu_backward(pre, gy) if req.relu else gy
        gx, gw, gb = kernels.conv2d_backward(x, w_eff, g_pre, **geometry)
        arrays.update(grad_output=gy if described else None, grad_input=gx,
                      grad_weight=kernels.flip_kernel(gw) if req.flip else gw, grad_bias=gb)
    if req.display is not None:
        # For looking only: 1-byte colour indices replace the float maps (4 or 8 bytes a value).
        shown = display.colour_indices(y, req.display)
        arrays = {"output_index": shown["index"], **{k: v for k, v in arrays.items() if k != "output"}}
        meta = {"output_shape": list(y.shape), "input_shape": list(x.shape),
                "output_min": shown["min"], "output_max": shown["max"], "dtype": req.dtype,
                "display": req.display, "output_range": shown["range"], "output_map": shown["map"]}
        return array_response(request, meta, arrays)
    lo, hi = _min_max(y)
    meta = {"output_shape": list(y.shape), "input_shape": list(x.shape),
            "output_min": lo, "output_max": hi, "dtype": req.dtype}
    return array_response(request, meta, arrays)


@router.post("/pool2d", response_model=Pool2dResponse, responses=ARRAY_RESPONSES)
def pool2d(req: Pool2dRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """Max or average pooling of an array or a stored image; grad_input too when grad_output is given."""
    dtype = float_dtype(req.dtype)
    x = resolve_input(req, store, settings, dtype)
    c, h, wd = x.shape
    kh, kw = arithmetic.pair(req.kernel_size, "kernel_size")
    oh, ow, (ph, _, pw, _) = arithmetic.pool_sizes(h, wd, req.kernel_size, req.stride, req.padding)
    check_bounds(
        settings,
        work=2 * c * oh * ow * kh * kw,
        out_elements=2 * c * oh * ow,  # output and argmax
        padded_elements=c * (h + 2 * ph) * (wd + 2 * pw),
        binary=wants_binary(request),
    )

    geometry = dict(kind=req.kind, kernel_size=req.kernel_size, stride=req.stride, padding=req.padding)
    y, argmax = kernels.pool2d(x, **geometry)
    arrays: dict[str, np.ndarray | None] = {"output": y, "argmax": argmax}
    gy, described = resolve_grad(req, y.shape, dtype, settings)
    if gy is not None:
        arrays.update(grad_output=gy if described else None, grad_input=kernels.pool2d_backward(x, gy, **geometry))
    lo, hi = _min_max(y)
    meta = {"output_shape": list(y.shape), "input_shape": list(x.shape),
            "output_min": lo, "output_max": hi, "dtype": req.dtype}
    return array_response(request, meta, arrays)
