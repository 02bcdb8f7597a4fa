"""The Network lab: model summary, feature maps of a whole stack, a unit's receptive fields."""
from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Request

from app.labs import network
from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep, StoreDep
from app.api.images import fetch_image
from app.api.limits import check_work
from app.api.transport import array_response
from app.schemas.common import error_responses
from app.schemas.network import ErfRequest, RunRequest, SummaryRequest, SummaryResponse

router = APIRouter(prefix="/api", tags=["network"], route_class=ComputeRoute)

# The effective receptive field costs a forward and a backward pass, about six
# forward passes of work with ConvLab's kernels; both endpoints cap the widths for
# that cost so the maps on screen and the gradients come from the same network.
PASSES = 6


@router.post("/network/summary", response_model=SummaryResponse, responses=error_responses(422))
def network_summary(req: SummaryRequest) -> dict:
    """Output shape, parameters, multiply-adds, memory and receptive field of every layer."""
    summary = network.summarize(req.input_shape, req.layer_dicts(), strict=not req.mark_invalid)
    summary["text"] = network.summary_text(summary)
    return summary


@router.get("/network/presets")
def network_presets() -> dict:
    """The built-in stacks: the chapter's canonical classifier, LeNet-5, AlexNet and VGG-16 (geometry only)."""
    return network.PRESETS


def _run(req: RunRequest, store, settings) -> network.StackRun:
    """The stack on the request's image, its widths capped so the forward and backward passes fit the budget."""
    budget = settings.max_work // PASSES
    stack = network.cap_widths(req.input_shape, req.layer_dicts(), req.max_channels, budget)
    c, h, w = req.input_shape
    check_work(settings, stack.macs, f"running this stack on a {h}×{w} input with one channel per layer",
               "Use a smaller input size.", limit=budget)
    image = fetch_image(store, req.image_id, "rgb" if c == 3 else "gray")
    return network.run_stack(stack, image, req.weights, req.seed)


def _run_meta(run: network.StackRun) -> dict:
    notes = [p.note for p in run.params if p.note]
    return {
        "width_cap": run.stack.cap if run.stack.capped else None,
        "macs": run.stack.macs,
        "note": notes[0] if notes else None,
    }


@router.post("/network/forward", responses=error_responses(404, 413, 422))
def network_forward(req: RunRequest, request: Request, store: StoreDep, settings: SettingsDep):
    """Feature maps of every layer on the image (the first ``show_channels`` of each), with random weights.

    Arrays: ``input`` (C, H, W), the image as the stack sees it, and ``layer<i>``:
    (shown channels, H, W) for a map, (shown units,) after flatten/dense.
    """
    run = _run(req, store, settings)
    arrays = {"input": run.x}
    layers = []
    for i, (layer, out) in enumerate(zip(run.stack.layers, run.trace.outputs)):
        entry = {"index": i, "type": layer.type, "shape": list(out.shape), "shown": 0, "range": None}
        if layer.type != "flatten":
            shown = out[: req.show_channels]
            arrays[f"layer{i}"] = shown
            entry["shown"] = int(shown.shape[0])
            entry["range"] = [float(out.min()), float(out.max())] if out.size else None
        layers.append(entry)
    return array_response(request, {**_run_meta(run), "layers": layers}, arrays)


@router.post("/network/erf", responses=error_responses(404, 413, 422))
def network_erf(req: ErfRequest, request: Request, store: StoreDep, settings: SettingsDep):
    """A unit's theoretical receptive field and its effective one, |∂unit/∂input| summed over channels.

    Arrays: ``erf`` (H, W) and ``input`` (C, H, W). The fraction is the share of the
    theoretical field (its part inside the image) whose pixels hold ``share`` of the
    gradient mass.
    """
    u = req.unit
    if u.layer >= len(req.layers):
        raise HTTPException(422, f"unit.layer: the stack has {len(req.layers)} layers (0–{len(req.layers) - 1})")
    run = _run(req, store, settings)
    out = run.trace.outputs[u.layer]
    index = (u.channel, u.row, u.col) if out.ndim == 3 else (u.channel,)
    for name, i, n in zip(("channel", "row", "col"), index, out.shape):
        if i >= n:
            capped = " (widths are capped for speed)" if name == "channel" and run.stack.capped else ""
            raise HTTPException(422, f"unit.{name}: {i} is outside layer {u.layer}'s output of size {n}{capped}")
    delta = np.zeros_like(out)
    delta[index] = 1
    grad = network.backward(run.trace, run.stack.layers, run.params, u.layer, delta, req.gates)
    mag = np.abs(grad).sum(axis=0)
    row, col = _unit_position(run, u)
    field = network.unit_field(run.stack.rows, u.layer, row, col, run.x.shape[1:])
    stats = network.mass_fraction(mag, field["inside"], req.share)
    nz = np.argwhere(mag > 0)
    meta = {
        **_run_meta(run),
        "unit": u.model_dump(),
        "value": float(out[index]),
        "field": {k: field[k] for k in ("top", "left", "height", "width")},
        "share": req.share,
        "pixels": stats["pixels"],
        "area": stats["area"],
        "fraction": stats["fraction"],
        "inside": stats["inside"],
        "total": stats["total"],
        "threshold": stats.get("threshold"),
        "nonzero": None if not len(nz) else {
            "top": int(nz[:, 0].min()), "left": int(nz[:, 1].min()),
            "bottom": int(nz[:, 0].max()) + 1, "right": int(nz[:, 1].max()) + 1,
        },
    }
    return array_response(request, meta, {"erf": mag.astype(np.float32), "input": run.x})


def _unit_position(run: network.StackRun, u) -> tuple[int, int]:
    """(row, col) of a unit in its layer's grid; a flatten unit sits where it came from."""
    layer = run.stack.layers[u.layer]
    if layer.type == "flatten":
        c, h, w = run.trace.inputs[u.layer].shape
        _, r, col = np.unravel_index(u.channel, (c, h, w))
        return int(r), int(col)
    return u.row, u.col
