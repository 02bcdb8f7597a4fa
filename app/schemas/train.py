"""Schemas of the Train lab (``/api/train/...``)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import STRICT, Array2D

# One id per browser tab, made by the page (crypto.randomUUID); unguessable, so it is the run's key.
SessionId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
LearningRate = Annotated[float, Field(gt=0, le=1.0, description="optimiser step size")]
BatchSize = Annotated[int, Field(ge=1, le=512, description="images per optimiser step")]
Filters = Annotated[int, Field(ge=1, le=32, description="first-layer filters F (the second layer has 2F)")]


# --- train -------------------------------------------------------------------------


class SessionRequest(BaseModel):
    """Names the page's run (pause, resume, reset)."""

    model_config = STRICT
    session: SessionId


class StartRequest(SessionRequest):
    """Start a fresh run with new weights (replaces this session's previous run)."""

    lr: LearningRate = 0.01
    batch_size: BatchSize = 32
    filters: Filters = 8
    optimizer: Literal["adam", "sgd"] = Field("adam", description="Adam, or SGD with momentum 0.9")


class ConfigRequest(SessionRequest):
    """Change the knobs of a run; applied from its next batch."""

    lr: LearningRate | None = None
    batch_size: BatchSize | None = None


class CurvePoint(BaseModel):
    step: int
    epoch: float
    loss: float = Field(..., description="cross-entropy on 400 fixed training images")
    accuracy: float = Field(..., description="held-out accuracy (359 images never trained on)")
    time: float = Field(..., description="seconds of training so far")


class TrainStatus(BaseModel):
    """A run as a viewer sees it; the progress stream sends the same fields."""

    session: str
    state: Literal["running", "paused", "done", "stopped", "failed"]
    reason: str
    knobs: dict
    step: int
    epoch: float
    accuracy: float | None
    loss: float | None
    trained_seconds: float
    max_seconds: float
    max_epochs: float = Field(..., description="a run ends after this many epochs even inside its time budget")
    points: list[CurvePoint] = Field(..., description="curve points from index `since` on")
    next: int = Field(..., description="the `since` of the next call")
    thinned: int = Field(..., description="how often the history was halved; when it changes, ask with since=0")
    filters: list[list[list[float]]] = Field(..., description="first-layer kernels, F × 3 × 3")
    version: int


class PredictRequest(SessionRequest):
    """An 8×8 digit (0 = background, 1 = ink), drawn or picked, through the session's network."""

    pixels: Array2D = Field(..., description="8 rows of 8 values in [0, 1]")


class LayerMaps(BaseModel):
    name: str
    shape: list[int]
    values: list[float] = Field(..., description="row-major, flattened")


class PredictResponse(BaseModel):
    predicted: int
    probabilities: list[float]
    layers: list[LayerMaps]
    accuracy: float | None = Field(None, description="the network's held-out accuracy right now")


class Digit(BaseModel):
    index: int
    label: int
    pixels: list[list[float]]


class DigitsResponse(BaseModel):
    """Held-out digits to pick from (never trained on)."""

    digits: list[Digit]


# --- equivariance ----------------------------------------------------------------------
