"""The Inside lab's endpoints: explanations of the page's trained network.

Every call names the page's ``session``; its run's current weights are read
(a running run answers with the weights of its last batch) and the work is done
by ``app.labs.inside``, which caches results per (weights, digit, method,
knobs).  Feature visualisation and the ε curve stream their progress as
newline-delimited JSON (one object per line, ``"type": "progress"`` then one
``"type": "result"`` — the ε curve's result line is also its last ε's progress line and adds the
whole ``curve``; a failure half-way ends the stream with
``"type": "error"`` and a ``detail``).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from typing import Annotated, Iterator

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.api.cores import ComputeRoute
from app.api.deps import SettingsDep
from app.api.train import _call, get_sessions
from app.errors import InvalidArgument
from app.labs.inside import confusion, featurevis
from app.labs.inside.service import InsideLab, digit_from
from app.schemas.common import error_responses
from app.schemas.inside import (
    ConfusionResponse,
    CurveRequest,
    DigitsResponse,
    FeatureVisRequest,
    InspectRequest,
    InspectResponse,
    SanityRequest,
    SanityResponse,
)
from app.schemas.train import SessionId

router = APIRouter(prefix="/api", tags=["inside"], route_class=ComputeRoute)

ERRORS = error_responses(422) | {404: {"description": "No training run for this page (the message says what to do)"}}
NDJSON = "application/x-ndjson"
STREAM_DOC = {200: {"content": {NDJSON: {}}, "description": "progress lines, then one result line"}}
_lab_lock = threading.Lock()


def get_lab(request: Request) -> InsideLab:
    """The app's Inside-lab caches (created on first use)."""
    state = request.app.state
    with _lab_lock:
        lab = getattr(state, "inside_lab", None)
        if lab is None:
            lab = state.inside_lab = InsideLab()
    return lab


def _run_net(request: Request, settings, session: str):
    """(fingerprint, net, run info) of the session's run; 404 when it has none."""
    sessions = get_sessions(request, settings)
    state, info = _call(sessions.weights, session)
    key, net = get_lab(request).net(state)
    return key, net, {**info, "weights": key}


def _grid(a) -> list[list[float]]:
    return np.asarray(a, dtype=np.float64).tolist()


def _vector(a) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


@router.post("/inspect", response_model=InspectResponse, responses=ERRORS)
def inspect(req: InspectRequest, request: Request, settings: SettingsDep):
    """Explain one digit: saliency, SmoothGrad, Grad-CAM, occlusion, or an FGSM adversarial example."""
    key, net, run = _run_net(request, settings, req.session)
    image, digit = digit_from(net, req.pixels, req.index)
    t0 = time.perf_counter()
    out, cached = get_lab(request).inspect(key, net, image, digit, req.method, req.target, req.knobs())
    seconds = 0.0 if cached else time.perf_counter() - t0
    answer = {
        "model": net.model, "side": net.side, "method": req.method, "run": run, "seconds": round(seconds, 4),
        "probabilities": _vector(out["probabilities"]), "predicted": out["predicted"],
        "target": out.get("target", out.get("label")),
    }
    if "map" in out:
        answer["map"] = _grid(out["map"])
    if req.method == "occlusion":
        answer["map_size"] = out["size"]
    if req.method == "gradcam":
        answer["layer"], answer["weights"] = out["layer"], _vector(out["weights"])
    if req.method == "fgsm":
        answer.update(adversarial=_grid(out["adversarial"]), perturbation=_grid(out["perturbation"]),
                      probabilities_after=_vector(out["probabilities_after"]),
                      predicted_after=out["predicted_after"], epsilon=out["epsilon"])
    return answer


@router.get("/inside/confusion", response_model=ConfusionResponse, responses=ERRORS)
def confusion_matrix(request: Request, settings: SettingsDep, session: SessionId):
    """The held-out confusion matrix of the page's network, with every digit's prediction."""
    key, net, run = _run_net(request, settings, session)
    t0 = time.perf_counter()
    ev = get_lab(request).evaluation(key, net)
    return {
        "model": net.model, "side": net.side, "run": run, "accuracy": ev.accuracy,
        "matrix": ev.matrix.tolist(), "labels": ev.labels.tolist(), "predicted": ev.predicted.tolist(),
        "confidence": np.round(ev.probabilities.max(axis=1), 5).tolist(),
        "probabilities": np.round(ev.probabilities, 5).tolist(),
        "layers": net.layer_names, "cam_layer": net.cam_layer, "units": featurevis.unit_layers(net),
        "seconds": round(time.perf_counter() - t0, 4),
    }


@router.get("/inside/digits", response_model=DigitsResponse, responses=error_responses(422))
def heldout_digits(model: Annotated[str, Query(pattern="^(small|chapter)$")] = "small"):
    """The 359 held-out digits as the model sees them (8×8 or 28×28), one byte per pixel, for thumbnails."""
    images, labels = confusion.heldout(model)
    data = np.clip(np.round(np.asarray(images) * 255), 0, 255).astype(np.uint8)
    return {"model": model, "side": int(images.shape[1]), "count": len(labels), "labels": labels.tolist(),
            "pixels": base64.b64encode(data.tobytes()).decode("ascii")}


@router.post("/inside/sanity", response_model=SanityResponse, responses=ERRORS)
def sanity_check(req: SanityRequest, request: Request, settings: SettingsDep):
    """Adebayo et al.'s cascading randomisation: each method's map as the layers are re-drawn, top down."""
    key, net, run = _run_net(request, settings, req.session)
    image, digit = digit_from(net, req.pixels, req.index)
    knobs = {name: getattr(req, name) for name in ("patch", "stride", "fill", "samples", "noise")}
    t0 = time.perf_counter()
    out, cached = get_lab(request).sanity(key, net, image, digit, req.target, tuple(req.methods), req.seed, knobs)
    steps = [{**step, "maps": {m: _grid(v) for m, v in step["maps"].items()}} for step in out["steps"]]
    return {"model": net.model, "side": net.side, "target": out["target"], "predicted": out["predicted"],
            "probabilities": _vector(out["probabilities"]), "steps": steps, "run": run,
            "seconds": 0.0 if cached else round(time.perf_counter() - t0, 4)}


def _lines(first: dict | None, events: Iterator[dict], encode) -> Iterator[str]:
    """NDJSON lines from ``events``; an error half-way becomes a last line instead of a cut stream."""
    try:
        if first is not None:
            yield json.dumps(encode(first), allow_nan=False) + "\n"
        for event in events:
            yield json.dumps(encode(event), allow_nan=False) + "\n"
    except InvalidArgument as exc:
        yield json.dumps({"type": "error", "detail": str(exc)}) + "\n"


def _stream(events: Iterator[dict], encode) -> StreamingResponse:
    """Start ``events`` here (so a bad request is a 4xx, not a broken stream), then stream the rest."""
    first = next(events, None)
    return StreamingResponse(_lines(first, events, encode), media_type=NDJSON,
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/inside/featurevis", responses=ERRORS | STREAM_DOC)
def feature_visualisation(req: FeatureVisRequest, request: Request, settings: SettingsDep):
    """Gradient ascent from grey for a filter, dense unit or class (plain and regularised), streamed,
    then the nine held-out digits that excite the unit most."""
    key, net, run = _run_net(request, settings, req.session)
    reg = featurevis.Regularisation(req.jitter, req.l2, req.blur, req.blur_every)
    events = get_lab(request).featurevis(key, net, req.layer, req.unit, req.steps, req.lr, reg, req.seed)

    def encode(event: dict) -> dict:
        images = np.asarray(event["images"])
        line = {"type": "result" if event["done"] else "progress", "step": event["step"], "steps": event["steps"],
                "plain": _grid(images[0]), "regularised": _grid(images[1]),
                "objective": _vector(event["objective"])}
        if event["done"]:
            line.update(layer=event["layer"], unit=event["unit"], reads=event["reads"], kind=event["kind"],
                        grey_objective=event["grey_objective"], top=event["top"], model=net.model, side=net.side,
                        run=run)
        return line

    return _stream(events, encode)


@router.post("/inside/fgsm-curve", responses=ERRORS | STREAM_DOC)
def fgsm_curve(req: CurveRequest, request: Request, settings: SettingsDep):
    """Held-out accuracy against ε under FGSM: one batched gradient pass, one forward pass per ε, streamed."""
    key, net, run = _run_net(request, settings, req.session)
    epsilons = list(req.epsilons)
    events = get_lab(request).fgsm_curve(key, net, epsilons)
    accuracies: list[float] = []

    def encode(event: dict) -> dict:
        if event["stage"] == "gradient":
            return {"type": "progress", "stage": "gradient", "done": event["done"], "of": event["of"]}
        accuracies.append(event["accuracy"])
        line = {"type": "progress", "stage": "epsilon", "index": event["index"], "epsilon": event["epsilon"],
                "accuracy": event["accuracy"], "of": len(epsilons)}
        if len(accuracies) == len(epsilons):
            line.update(type="result", epsilons=epsilons, curve=accuracies, model=net.model, run=run)
        return line

    return _stream(events, encode)
