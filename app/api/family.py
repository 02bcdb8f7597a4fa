"""More of the convolution family: transposed convolution, 1-D convolution,
framework padding semantics and grouped-convolution costs. Thin: the numbers
come from app.kernels, app.labs.family and app.arithmetic."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from app import arithmetic, kernels
from app.labs.family import frameworks, groups, transposed
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep
from app.api.inputs import float_dtype, nested_array
from app.api.limits import check_work
from app.schemas.common import error_responses
from app.schemas.family import (
    Conv1dRequest,
    Conv1dResponse,
    ConvTranspose2dRequest,
    ConvTranspose2dResponse,
    FrameworksRequest,
    FrameworksResponse,
    GroupsRequest,
    GroupsResponse,
    InputGradientRequest,
    InputGradientResponse,
)

router = APIRouter(prefix="/api", tags=["family"], route_class=ComputeRoute)
ERRORS = error_responses(413, 422)


FAMILY_ADVICE = "Use a smaller input or kernel."


def _lists(a) -> list:
    return np.asarray(a).tolist()


@router.post("/conv_transpose2d", response_model=ConvTranspose2dResponse, responses=ERRORS)
def conv_transpose2d(req: ConvTranspose2dRequest, settings: SettingsDep):
    """Transposed convolution; with explain, the same numbers as a direct convolution."""
    dtype = float_dtype(req.dtype)
    x = nested_array(req.input, "input", 3, dtype, settings, "(C_in, H, W)")
    w = nested_array(req.weight, "weight", 4, dtype, settings, "(C_in, C_out / groups, kh, kw)")
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, dtype, settings, "(C_out,)")
    c_in, h, wd = x.shape
    if w.shape[0] != c_in:
        raise ValueError(f"weight: its first axis ({w.shape[0]}) must equal the input channels ({c_in})")
    if c_in % req.groups:
        raise ValueError(f"groups: {req.groups} must divide the input channels ({c_in})")
    kh, kw = w.shape[2:]
    (sh, sw), (ph, pw) = arithmetic.pair(req.stride, "stride"), arithmetic.pair(req.padding, "padding")
    (dh, dw), (oph, opw) = arithmetic.pair(req.dilation, "dilation"), arithmetic.pair(req.output_padding, "output_padding")
    sizes = []
    for axis, n, k, s, p, d, op in (("H", h, kh, sh, ph, dh, oph), ("W", wd, kw, sw, pw, dw, opw)):
        try:
            out = transposed.conv_transpose_output_size(n, k, s, p, d, op)
        except ValueError as exc:
            raise ValueError(f"{axis}: {exc}") from None
        sizes.append({"n": n, "kernel": k, "stride": s, "padding": p, "dilation": d, "output_padding": op, "out": out})
    c_out = w.shape[1] * req.groups
    work = c_in * h * wd * w.shape[1] * kh * kw
    if req.explain:  # the direct form touches every output cell with every tap
        work = max(work, sizes[0]["out"] * sizes[1]["out"] * c_out * (c_in // req.groups) * kh * kw)
    check_work(settings, work * (3 if req.grad_output is not None else 1), "this transposed convolution", FAMILY_ADVICE)

    args = dict(stride=(sh, sw), padding=(ph, pw), output_padding=(oph, opw), dilation=(dh, dw), groups=req.groups)
    y = kernels.conv_transpose2d(x, w, b, **args)
    answer = {
        "output": _lists(y),
        "output_shape": list(y.shape),
        "input_shape": list(x.shape),
        "sizes": sizes,
        "dtype": req.dtype,
    }
    if req.explain:
        x_up, borders, w_direct, y_direct = transposed.as_direct_convolution(x, w, b, **args)
        answer["direct"] = {
            "input": _lists(x_up),
            "borders": list(borders),
            "weight": _lists(w_direct),
            "output": _lists(y_direct),
            "max_abs_diff": float(np.max(np.abs(y_direct.astype(np.float64) - y))),
        }
    if req.grad_output is not None:
        gy = nested_array(req.grad_output, "grad_output", 3, dtype, settings, "(C_out, H_out, W_out)")
        if gy.shape != y.shape:
            raise ValueError(f"grad_output: shape {list(gy.shape)} must equal the output shape {list(y.shape)}")
        gx, gw, gb = kernels.conv_transpose2d_backward(x, w, gy, **args)
        answer.update(grad_input=_lists(gx), grad_weight=_lists(gw), grad_bias=_lists(gb))
    return answer


@router.post("/conv_transpose2d/input-gradient", response_model=InputGradientResponse, responses=ERRORS)
def input_gradient(req: InputGradientRequest, settings: SettingsDep):
    """A conv layer's input gradient (eq. 36.10) and the transposed convolution of δ, with their difference."""
    dtype = float_dtype(req.dtype)
    x = nested_array(req.input, "input", 3, dtype, settings, "(C_in, H, W)")
    w = nested_array(req.weight, "weight", 4, dtype, settings, "(C_out, C_in, kh, kw)")
    gy = nested_array(req.grad_output, "grad_output", 3, dtype, settings, "(C_out, H_out, W_out)")
    c_in, h, wd = x.shape
    c_out, wc_in, kh, kw = w.shape
    if wc_in != c_in:
        raise ValueError(f"weight: its second axis ({wc_in}) must equal the input channels ({c_in})")
    stride, padding = arithmetic.pair(req.stride, "stride"), arithmetic.pair(req.padding, "padding")
    dilation = arithmetic.pair(req.dilation, "dilation")
    out = [arithmetic.conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip((h, wd), (kh, kw), stride, padding, dilation)]
    if list(gy.shape) != [c_out, *out]:
        raise ValueError(f"grad_output: shape {list(gy.shape)} must equal the conv output shape {[c_out, *out]}")
    check_work(settings, 2 * c_out * c_in * out[0] * out[1] * kh * kw, "this gradient", FAMILY_ADVICE)
    gx, _, _ = kernels.conv2d_backward(x, w, gy, stride=stride, padding=padding, dilation=dilation)
    op = [transposed.output_padding_for(n, o, k, s, p, d)
          for n, o, k, s, p, d in zip((h, wd), out, (kh, kw), stride, padding, dilation)]
    # output_padding gives back the rows the forward floor dropped (always < stride).
    yt = kernels.conv_transpose2d(gy, w, None, stride=stride, padding=padding, output_padding=tuple(op),
                                     dilation=dilation)
    return {
        "grad_input": _lists(gx),
        "transposed": _lists(yt),
        "output_padding": op,
        "max_abs_diff": float(np.max(np.abs(yt - gx))),
        "dtype": req.dtype,
    }


@router.post("/conv1d", response_model=Conv1dResponse, responses=ERRORS)
def conv1d(req: Conv1dRequest, settings: SettingsDep):
    """1-D convolution (eq. 36.1); with grad_output, its gradients (36.9, 36.10)."""
    dtype = float_dtype(req.dtype)
    x = nested_array(req.input, "input", 2, dtype, settings, "(C_in, L)", promote=True)
    w = nested_array(req.weight, "weight", 3, dtype, settings, "(C_out, C_in, k)", promote=True)
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, dtype, settings, "(C_out,)")
    c_in, length = x.shape
    c_out, wc_in, k = w.shape
    if wc_in != c_in:
        raise ValueError(f"weight: expects {wc_in} input channels but the input has {c_in}")
    try:
        out = arithmetic.conv_output_size(length, k, req.stride, req.padding, req.dilation)
    except ValueError as exc:
        raise ValueError(f"weight: {exc}") from None
    check_work(settings, out * c_out * c_in * k * (3 if req.grad_output is not None else 1), "this 1-D convolution",
               FAMILY_ADVICE)
    args = dict(stride=req.stride, padding=req.padding, dilation=req.dilation, padding_mode=req.padding_mode)
    y = kernels.conv1d(x, w, b, **args)
    padded = kernels.pad2d(x[:, np.newaxis, :], (0, 0, req.padding, req.padding), req.padding_mode)[:, 0, :]
    answer = {
        "output": _lists(y),
        "output_shape": list(y.shape),
        "input_shape": list(x.shape),
        "padded_input": _lists(padded),
        "dtype": req.dtype,
    }
    if req.grad_output is not None:
        gy = nested_array(req.grad_output, "grad_output", 2, dtype, settings, "(C_out, L_out)", promote=True)
        if gy.shape != y.shape:
            raise ValueError(f"grad_output: shape {list(gy.shape)} must equal the output shape {list(y.shape)}")
        gx, gw, gb = kernels.conv1d_backward(x, w, gy, **args)
        answer.update(grad_input=_lists(gx), grad_weight=_lists(gw), grad_bias=_lists(gb))
    return answer


@router.post("/frameworks/compare", response_model=FrameworksResponse, responses=error_responses(422))
def compare_frameworks(req: FrameworksRequest):
    """What PyTorch and TensorFlow/Keras compute for these conv and pooling settings."""
    d = req.model_dump()
    return {"rows": frameworks.compare(d.pop("height"), d.pop("width"), **d)}


@router.post("/groups/cost", response_model=GroupsResponse, responses=error_responses(422))
def groups_cost(req: GroupsRequest):
    """Parameters and multiply-adds of a conv layer for every valid groups, and depthwise-separable vs standard."""
    return groups.groups_cost(**req.model_dump())
