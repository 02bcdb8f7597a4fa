"""The Train lab's endpoints (start, pause, resume, reset, knobs, progress stream, predict, weights).

Two models: ``small`` (the 8×8 network) and ``chapter`` (the chapter's Keras
classifier at 28×28); ``/train/code`` and ``/train/augmented`` show the page
the code a chapter run reproduces and what augmentation does to a digit.

Runs live in ``app.labs.train.sessions`` (worker threads); these handlers only
translate.  The progress stream is Server-Sent Events: one ``progress`` event at
least every second with the new curve points, held-out accuracy and the
first-layer filters; it ends after the run stops running, and it stops reading
as soon as the page goes away (the run itself stops when nobody watches).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.errors import InvalidArgument
from app.labs.train import chapter, digits as datasets, small as training
from app.labs.train.explain import check_pixels, explain
from app.api.deps import SettingsDep
from app.config import Settings
from app.schemas.common import error_responses
from app.schemas.train import (
    AugmentedResponse,
    CodeResponse,
    ConfigRequest,
    DropoutRate,
    Epochs,
    InitName,
    ModelName,
    Digit,
    DigitsResponse,
    PredictRequest,
    PredictResponse,
    SessionId,
    SessionRequest,
    StartRequest,
    TrainStatus,
    WeightsResponse,
)
from app.labs.train.sessions import AtCapacity, RunError, TrainSessions

router = APIRouter(prefix="/api", tags=["train"])

STREAM_PERIOD = 0.25        # seconds between checks for news
HEARTBEAT = 1.0             # a progress event at least this often
_sessions_lock = threading.Lock()


def get_sessions(request: Request, settings: Settings) -> TrainSessions:
    """The app's training runs (created on first use, sized from the settings)."""
    state = request.app.state
    with _sessions_lock:
        sessions = getattr(state, "train_sessions", None)
        if sessions is None:
            sessions = TrainSessions(max_active=settings.max_train_sessions, max_seconds=settings.max_train_seconds)
            state.train_sessions = sessions
    return sessions


def _call(fn, *args, **kwargs):
    """Run a session action, turning its exceptions into HTTP answers."""
    try:
        return fn(*args, **kwargs)
    except AtCapacity as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from None
    except RunError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    except InvalidArgument as exc:
        raise HTTPException(422, str(exc)) from None


STATUS_RESPONSES = error_responses(404, 422) | {
    409: {"description": "The action does not fit the run's state (the message says why)"},
    503: {"description": "Server at capacity: every training slot is busy (Retry-After says when to try)"},
}


@router.post("/train/start", response_model=TrainStatus, responses=STATUS_RESPONSES)
def start(req: StartRequest, request: Request, settings: SettingsDep):
    """Start a fresh training run of ``model`` for this page (new weights); 503 when the server is at capacity."""
    sessions = get_sessions(request, settings)
    return sessions.snapshot(_call(sessions.start, req.session, req.model, **req.knobs()))


@router.post("/train/pause", response_model=TrainStatus, responses=STATUS_RESPONSES)
def pause(req: SessionRequest, request: Request, settings: SettingsDep):
    """Pause the page's run (its thread ends and frees the slot; the weights stay)."""
    sessions = get_sessions(request, settings)
    return sessions.snapshot(_call(sessions.pause, req.session))


@router.post("/train/resume", response_model=TrainStatus, responses=STATUS_RESPONSES)
def resume(req: SessionRequest, request: Request, settings: SettingsDep):
    """Resume a paused or stopped run on the same weights."""
    sessions = get_sessions(request, settings)
    return sessions.snapshot(_call(sessions.resume, req.session))


@router.post("/train/reset", responses=error_responses(422))
def reset(req: SessionRequest, request: Request, settings: SettingsDep):
    """Stop and forget the page's run."""
    get_sessions(request, settings).reset(req.session)
    return {"state": "none"}


@router.post("/train/config", response_model=TrainStatus, responses=STATUS_RESPONSES)
def configure(req: ConfigRequest, request: Request, settings: SettingsDep):
    """Change learning rate or batch size of the page's run, from its next batch on."""
    sessions = get_sessions(request, settings)
    return sessions.snapshot(_call(sessions.configure, req.session, lr=req.lr, batch_size=req.batch_size))


@router.get("/train/status", response_model=TrainStatus, responses=STATUS_RESPONSES)
def status(request: Request, settings: SettingsDep, session: SessionId,
           since: Annotated[int, Query(ge=0)] = 0):
    """The page's run now, with curve points from index ``since`` on."""
    sessions = get_sessions(request, settings)
    return sessions.snapshot(_call(sessions.get, session), since)


def _event(payload: dict) -> str:
    return f"event: progress\ndata: {json.dumps(payload, allow_nan=False)}\n\n"


@router.get("/train/stream", responses={200: {"content": {"text/event-stream": {}},
                                              "description": "`progress` events, each a TrainStatus as JSON"}})
async def stream(request: Request, settings: SettingsDep, session: SessionId):
    """Server-Sent Events: the run's progress at least once a second, until it stops running."""
    sessions = get_sessions(request, settings)
    limit = settings.max_train_seconds + 60  # no stream outlives a run by much

    async def events():
        since, thinned, version, sent_at = 0, 0, -1, 0.0
        opened = time.monotonic()
        yield "retry: 3000\n\n"
        while time.monotonic() - opened < limit:
            if await request.is_disconnected():
                return
            run = sessions.find(session)
            if run is None:
                yield _event({"session": session, "state": "none", "reason": "no training run: press Start"})
                return
            sessions.touch(run)
            now = time.monotonic()
            if run.version != version or now - sent_at >= HEARTBEAT:
                snap = sessions.snapshot(run, 0 if run.thinned != thinned else since)
                snap["replace"] = run.thinned != thinned
                since, thinned, version, sent_at = snap["next"], snap["thinned"], snap["version"], now
                yield _event(snap)
                if snap["state"] != "running":
                    return
            await asyncio.sleep(STREAM_PERIOD)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.post("/train/predict", response_model=PredictResponse, responses=STATUS_RESPONSES)
def predict(req: PredictRequest, request: Request, settings: SettingsDep):
    """Classify a digit (8×8 for the small network, 28×28 for the chapter's) with the page's network.

    Every shown layer's maps come along; a run still training answers with its current weights.
    """
    _call(check_pixels, "chapter" if len(req.pixels) == 28 else "small", req.pixels)  # a 422 before any 404
    sessions = get_sessions(request, settings)
    run = _call(sessions.get, req.session)
    weights, _ = _call(sessions.weights, req.session)
    model = "chapter" if "conv1.weight" in weights else "small"
    out = _call(explain, model, weights, req.pixels)
    probs = out["probabilities"]
    accuracy = run.points[-1]["accuracy"] if run.points else None
    return {
        "predicted": int(np.argmax(probs)),
        "probabilities": [float(p) for p in probs],
        "layers": [{"name": name, "shape": list(a.shape), "values": [round(float(v), 5) for v in a.ravel()]}
                   for name, a in out["layers"]],
        "accuracy": accuracy,
    }


@router.get("/train/digits", response_model=DigitsResponse)
def digits(count: Annotated[int, Query(ge=1, le=100)] = 30, model: ModelName = "small"):
    """The first ``count`` held-out digits as ``model`` sees them (8×8, or 28×28 for the chapter), in [0, 1]."""
    if model == "chapter":
        data = datasets.load_chapter_digits()
        images, labels, side = data.x_test, data.y_test, datasets.CHAPTER_SIDE
    else:
        data = training.load_digits_split()
        images, labels, side = data.x_test, data.y_test, training.SIDE
    return {"model": model, "side": side,
            "digits": [Digit(index=i, label=int(labels[i]), pixels=np.round(images[i].astype(np.float64), 5).tolist())
                       for i in range(min(count, len(labels)))]}


@router.get("/train/weights", response_model=WeightsResponse, responses=error_responses(404, 422),
            response_class=Response)
def weights(request: Request, settings: SettingsDep, session: SessionId):
    """The run's current weights by PyTorch name and layout (a run still training answers with them as they are)."""
    sessions = get_sessions(request, settings)
    state, info = _call(sessions.weights, session)
    model = "chapter" if "conv1.weight" in state else "small"
    body = {"model": model, "arrays": {k: np.asarray(v, dtype=np.float64).tolist() for k, v in state.items()},
            "state": info["state"], "step": info["step"], "epoch": info["epoch"]}
    # Encoded here: FastAPI's generic encoder walks 420,000 floats one by one.
    return Response(json.dumps(body, allow_nan=False), media_type="application/json")


@router.get("/train/code", response_model=CodeResponse)
def code(batch_norm: bool = False, dropout: DropoutRate = chapter.DEFAULTS["dropout"], augment: bool = False,
         epochs: Epochs = chapter.DEFAULTS["epochs"], init: InitName = chapter.DEFAULTS["init"]):
    """The chapter's compile and fit code (R Keras) that a chapter run with these switches reproduces."""
    return {"code": chapter.keras_code(batch_norm=batch_norm, dropout=dropout, augment=augment, epochs=epochs,
                                       init=init)}


@router.get("/train/augmented", response_model=AugmentedResponse, responses=error_responses(422))
def augmented(index: Annotated[int, Query(ge=0, le=1293)] = 0, count: Annotated[int, Query(ge=1, le=16)] = 8,
              seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Training digit ``index`` at 28×28 and ``count`` randomly shifted, rotated and scaled copies of it."""
    data = datasets.load_chapter_digits()
    if index >= len(data.y_train):
        raise HTTPException(422, f"index: there are {len(data.y_train)} training digits; got {index}")
    strip = _call(datasets.augmented_strip, data.x_train[index], count, seed)
    return {"index": index, "label": int(data.y_train[index]),
            "original": np.round(data.x_train[index].astype(np.float64), 4).tolist(),
            "images": np.round(strip.astype(np.float64), 4).tolist()}
