"""More of the convolution family: transposed convolution, 1-D convolution,
framework padding semantics, grouped-convolution costs, and three more views of one
convolution (the convolution theorem, separable kernels, im2col + GEMM). Thin: the
numbers come from app.kernels, app.labs.family and app.arithmetic."""
from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter, HTTPException, Request

from app import arithmetic, kernels
from app.labs.family import fft, frameworks, groups, im2col, separable, transposed
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.images import fetch_image
from app.api.inputs import float_dtype, nested_array
from app.api.limits import check_elements, check_work
from app.api.transport import ARRAY_RESPONSES, array_response
from app.schemas.common import error_responses
from app.schemas.family import (
    AliasingRequest,
    AliasingResponse,
    Conv1dRequest,
    Conv1dResponse,
    ConvTranspose2dRequest,
    ConvTranspose2dResponse,
    FftRequest,
    FftResponse,
    FrameworksRequest,
    FrameworksResponse,
    GroupsRequest,
    GroupsResponse,
    Im2colRequest,
    Im2colResponse,
    InputGradientRequest,
    InputGradientResponse,
    SeparableRequest,
    SeparableResponse,
)
from app.errors import InvalidArgument

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
        raise InvalidArgument(f"weight: its first axis ({w.shape[0]}) must equal the input channels ({c_in})")
    if c_in % req.groups:
        raise InvalidArgument(f"groups: {req.groups} must divide the input channels ({c_in})")
    kh, kw = w.shape[2:]
    (sh, sw), (ph, pw) = arithmetic.pair(req.stride, "stride"), arithmetic.pair(req.padding, "padding")
    (dh, dw), (oph, opw) = arithmetic.pair(req.dilation, "dilation"), arithmetic.pair(req.output_padding, "output_padding")
    sizes = []
    for axis, n, k, s, p, d, op in (("H", h, kh, sh, ph, dh, oph), ("W", wd, kw, sw, pw, dw, opw)):
        try:
            out = arithmetic.conv_transpose_output_size(n, k, s, p, d, op)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{axis}: {exc}") from None
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
            raise InvalidArgument(f"grad_output: shape {list(gy.shape)} must equal the output shape {list(y.shape)}")
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
        raise InvalidArgument(f"weight: its second axis ({wc_in}) must equal the input channels ({c_in})")
    stride, padding = arithmetic.pair(req.stride, "stride"), arithmetic.pair(req.padding, "padding")
    dilation = arithmetic.pair(req.dilation, "dilation")
    out = [arithmetic.conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip((h, wd), (kh, kw), stride, padding, dilation)]
    if list(gy.shape) != [c_out, *out]:
        raise InvalidArgument(f"grad_output: shape {list(gy.shape)} must equal the conv output shape {[c_out, *out]}")
    check_work(settings, 2 * c_out * c_in * out[0] * out[1] * kh * kw, "this gradient", FAMILY_ADVICE)
    gx, _, _ = kernels.conv2d_backward(x, w, gy, stride=stride, padding=padding, dilation=dilation)
    op = [arithmetic.output_padding_for(n, o, k, s, p, d)
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
        raise InvalidArgument(f"weight: expects {wc_in} input channels but the input has {c_in}")
    try:
        out = arithmetic.conv_output_size(length, k, req.stride, req.padding, req.dilation)
    except InvalidArgument as exc:
        raise InvalidArgument(f"weight: {exc}") from None
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
            raise InvalidArgument(f"grad_output: shape {list(gy.shape)} must equal the output shape {list(y.shape)}")
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


# --- One convolution, three more views ---------------------------------------------------

MAX_VIEW_KERNEL = 15
VIEW_ADVICE = "Use a smaller image (Max side) or a smaller kernel."


def _kernel(value, settings, name: str = "kernel") -> np.ndarray:
    k = nested_array(value, name, 2, np.float64, settings, "(kh, kw)")
    kh, kw = k.shape
    if kh > MAX_VIEW_KERNEL or kw > MAX_VIEW_KERNEL:
        raise HTTPException(422, f"{name}: {kh}×{kw} is larger than {MAX_VIEW_KERNEL}×{MAX_VIEW_KERNEL}")
    return k


def _plain(value):
    """Meta for JSON: NumPy arrays and scalars become lists and Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _maps(d: dict, names) -> dict:
    """Display maps travel as float32: the checks were made in float64 on the server."""
    return {n: np.asarray(d[n], dtype=np.float32) for n in names}


@router.post("/family/fft", response_model=FftResponse, responses=ARRAY_RESPONSES)
def convolution_theorem(req: FftRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """The image's spectrum × the kernel's response = the spectrum of the circular convolution, checked directly."""
    k = _kernel(req.kernel, settings)
    compare = {c.name: _kernel(c.kernel, settings, f"compare[{i}].kernel") for i, c in enumerate(req.compare)}
    x = fetch_image(store, req.image_id, "gray")[0]
    h, w = x.shape
    kh, kw = k.shape
    transforms = (4 + 2 * len(compare)) * h * w * max(1.0, math.log2(h * w))
    check_work(settings, int(3 * h * w * kh * kw + transforms), "this frequency view", VIEW_ADVICE)
    check_elements(settings, (5 + len(compare)) * h * w, "the maps of this frequency view", VIEW_ADVICE)
    r = fft.convolution_theorem(x, k)
    compared = fft.compare_kernels(x, compare)
    meta = {key: r[key] for key in ("max_abs_diff", "max_abs_diff_unflipped", "max_abs_diff_zeros", "border_effect",
                                     "scale", "zero_pad", "border_width", "bands", "cost")}
    meta.update(shape=[h, w], kernel_shape=[kh, kw], origin=list(fft.kernel_origin(kh, kw)),
                compare=[{"name": name, "bands": c["bands"]} for name, c in compared.items()])
    arrays = _maps(r, ("spectrum", "response", "product", "via_fft", "direct"))
    for i, c in enumerate(compared.values()):
        arrays[f"response_{i}"] = np.asarray(c["response"], dtype=np.float32)
    return array_response(request, _plain(meta), arrays)


@router.post("/family/aliasing", response_model=AliasingResponse, responses=ARRAY_RESPONSES)
def aliasing(req: AliasingRequest, request: Request, settings: SettingsDep):
    """Stride on fine stripes, with and without a blur first: the fold-down frequency, predicted and measured."""
    blur = _kernel(req.blur, settings, "blur")
    r = fft.aliasing(req.period, blur, stride=req.stride, size=req.size)
    meta = {key: value for key, value in r.items() if key not in ("input", "strided", "blurred_strided")}
    return array_response(request, _plain(meta), _maps(r, ("input", "strided", "blurred_strided")))


@router.post("/family/separable", response_model=SeparableResponse, responses=ARRAY_RESPONSES)
def separable_kernel(req: SeparableRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """The SVD of a kernel, its rank, its 1-D factors and a rank-r approximation applied to the image."""
    k = _kernel(req.kernel, settings)
    x = fetch_image(store, req.image_id, "gray")
    _, h, w = x.shape
    kh, kw = k.shape
    check_work(settings, h * w * (2 * kh * kw + req.rank * (kh + kw)), "this separable view", VIEW_ADVICE)
    r = separable.on_image(x, k, req.rank, req.rtol)
    meta = {key: value for key, value in r.items() if key not in ("full", "low_rank")}
    meta["shape"] = [h, w]
    return array_response(request, _plain(meta), _maps(r, ("full", "low_rank")))


@router.post("/family/im2col", response_model=Im2colResponse, responses=ARRAY_RESPONSES)
def im2col_gemm(req: Im2colRequest, request: Request, settings: SettingsDep, store: StoreDep):
    """A small convolution lowered to one matrix product: the patch matrix, the weight rows, the product."""
    w = nested_array(req.weight, "weight", 4, np.float64, settings, "(C_out, C_in, kh, kw)")
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, np.float64, settings, "(C_out,)")
    c_in = w.shape[1]
    full = None
    if req.image_id is not None:
        if c_in not in (1, 3):
            raise HTTPException(422, f"weight: with image_id the input has 1 channel (gray) or 3 (RGB), but the weight "
                                     f"expects {c_in}; send the input as numbers for other channel counts")
        full = fetch_image(store, req.image_id, "gray" if c_in == 1 else "rgb")
        x = im2col.shrink(full, req.size, req.size)
    else:
        x = nested_array(req.input, "input", 3, np.float64, settings, "(C_in, H, W)")
    geometry = dict(stride=req.stride, padding=req.padding, dilation=req.dilation)
    r = im2col.lowered_conv(x, w, b, padding_mode=req.padding_mode, **geometry)
    kh, kw = w.shape[2:]
    meta = {
        "input_shape": list(x.shape),
        "output_shape": list(r["output"].shape),
        "sizes": r["sizes"],
        "macs": r["macs"],
        "max_abs_diff": r["max_abs_diff"],
        "memory": im2col.memory(*x.shape, kh, kw, **geometry),
        "memory_image": None,
    }
    if full is not None and full.shape[1:] != x.shape[1:]:
        try:
            meta["memory_image"] = im2col.memory(*full.shape, kh, kw, **geometry)
        except ValueError:
            pass  # the window fits the small input but not this shape: nothing to compare
    arrays = {"input": x, **{n: r[n] for n in ("padded", "patches", "weights", "product", "output", "direct")}}
    arrays["index"] = r["index"].astype(np.int32)
    return array_response(request, _plain(meta), arrays)
