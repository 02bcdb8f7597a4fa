"""Classroom endpoints: the parity badge (ConvLab vs independent computations) and learn-a-filter."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException

from app import kernels
from app.labs.classroom import learn, reference
from app.arithmetic import pair, padding_sides
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.inputs import nested_array, resolve_input
from app.api.limits import check_work
from app.schemas.classroom import (
    LearnFilterRequest,
    LearnFilterResponse,
    ParityCheck,
    ParityRequest,
    ParityResponse,
)
from app.schemas.common import error_responses

router = APIRouter(prefix="/api", tags=["classroom"], route_class=ComputeRoute)


def _torch_conv(x, w, b, req: ParityRequest):
    """The same layer in PyTorch (float64), or None when PyTorch is not installed."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    xt = torch.from_numpy(np.asarray(x, np.float64))[None]
    wt = torch.from_numpy(np.ascontiguousarray(w, np.float64))
    bt = None if b is None else torch.from_numpy(np.asarray(b, np.float64))
    if req.padding_mode != "zeros" and req.padding not in ("valid", 0, [0, 0]):
        ph, pw = padding_sides(req.padding, w.shape[2], w.shape[3], *pair(req.dilation, "dilation"))
        xt = F.pad(xt, (pw[0], pw[1], ph[0], ph[1]), mode=req.padding_mode)  # (left, right, top, bottom)
        padding = 0
    else:
        padding = req.padding if isinstance(req.padding, (int, str)) else tuple(req.padding)
    y = F.conv2d(xt, wt, bt, stride=pair(req.stride, "stride"), padding=padding,
                 dilation=pair(req.dilation, "dilation"), groups=req.groups)[0]
    if req.relu:
        y = torch.relu(y)
    return y.numpy(), torch.__version__


@router.post("/parity", response_model=ParityResponse, responses=error_responses(404, 413, 422))
def parity(req: ParityRequest, settings: SettingsDep, store: StoreDep) -> ParityResponse:
    """Compute one conv layer with ConvLab (float32) and independently; report the max abs differences."""
    x = resolve_input(req, store, settings, np.float32)
    w = nested_array(req.weight, "weight", 4, np.float32, settings, "(C_out, C_in / groups, kh, kw)")
    b = None if req.bias is None else nested_array(req.bias, "bias", 1, np.float32, settings, "(C_out,)")
    if w.shape[0] % req.groups:
        raise HTTPException(422, f"groups: {req.groups} does not divide the {w.shape[0]} filters (C_out)")
    if w.shape[1] * req.groups != x.shape[0]:
        with_groups = f" (with groups={req.groups})" if req.groups > 1 else ""
        raise HTTPException(422, f"weight: expects {w.shape[1] * req.groups} input channels{with_groups} "
                                 f"but the image has {x.shape[0]}")
    if b is not None and b.shape[0] != w.shape[0]:
        raise HTTPException(422, f"bias: has {b.shape[0]} values but weight has {w.shape[0]} filters")
    c_out, c_in, kh, kw = w.shape
    work = c_out * c_in * kh * kw * x.shape[1] * x.shape[2]
    # The reference is slower than the kernels: it gets a quarter of the budget.
    check_work(settings, work, "the parity check", "Use a smaller image or fewer filters.", limit=settings.max_work // 4)
    if req.flip:
        w = np.ascontiguousarray(kernels.flip_kernel(w))
    geometry = dict(stride=req.stride, padding=req.padding, dilation=req.dilation, padding_mode=req.padding_mode,
                    groups=req.groups)
    ours = kernels.conv2d(x, w, b, **geometry)
    ref = reference.conv2d(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                           **geometry)
    if req.relu:
        ours, ref = kernels.relu(ours), np.maximum(ref, 0.0)
    diff = float(np.max(np.abs(ours.astype(np.float64) - ref)))
    torch_y, torch_version = _torch_conv(x, w, b, req) if req.torch else (None, None)
    if not req.torch:
        torch_check = ParityCheck(name="PyTorch", available=False, note="not asked for")
    elif torch_y is None:
        torch_check = ParityCheck(name="PyTorch", available=False, note="PyTorch is not installed on this server")
    else:
        torch_check = ParityCheck(name="PyTorch", available=True, version=torch_version,
                                  max_abs_diff=float(np.max(np.abs(ours.astype(np.float64) - torch_y))))
    return ParityResponse(
        output_shape=list(ours.shape),
        max_abs_value=float(np.max(np.abs(ref))),
        reference=ParityCheck(name="slow NumPy reference (float64)", available=True, max_abs_diff=diff),
        torch=torch_check,
    )


@router.post("/learn-filter", response_model=LearnFilterResponse, responses=error_responses(413, 422))
def learn_filter(req: LearnFilterRequest, settings: SettingsDep) -> LearnFilterResponse:
    """Gradient descent on a kernel from seeded noise images and their outputs under a hidden kernel."""
    truth = np.asarray(learn.HIDDEN[req.hidden] if req.hidden else req.kernel, dtype=np.float64)
    kh, kw = truth.shape
    if kh > req.size or kw > req.size:
        raise HTTPException(422, f"kernel: {kh}×{kw} is larger than the training images ({req.size}×{req.size})")
    work = 3 * (req.steps + 1) * req.pairs * req.size * req.size * kh * kw
    check_work(settings, work, "learning", "Use fewer steps, pairs or a smaller size.")
    inputs = learn.noise_inputs(req.pairs, req.size, req.seed)
    result = learn.learn_filter(inputs, truth, req.steps, req.lr, seed=req.seed)
    losses = result["losses"]
    if not np.all(np.isfinite(losses)):
        raise HTTPException(422, f"lr: {req.lr} is too large, the loss diverged; try a learning rate below 0.25")
    final = result["kernels"][-1]
    return LearnFilterResponse(
        truth=truth.tolist(),
        kernels=result["kernels"].tolist(),
        losses=losses.tolist(),
        grad_norms=result["grad_norms"].tolist(),
        max_abs_error=float(np.max(np.abs(final - truth))),
    )
