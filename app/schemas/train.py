"""Schemas of the Train lab (``/api/train/...``) and the Equivariance lab (``/api/equivariance``)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import STRICT, Array2D, Color, ImageId

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


class EquivarianceRequest(BaseModel):
    """Compare conv(shift(x)) with shift(conv(x)) on a stored image for one kernel."""

    model_config = STRICT
    image_id: ImageId
    color: Color | None = Field(None, description="gray or rgb (the kernel then sees the channel mean)")
    kernel: Array2D = Field(..., description="kh × kw weights, at most 15 × 15")
    dy: Annotated[int, Field(ge=-64, le=64)] = Field(0, description="shift down (negative: up), pixels")
    dx: Annotated[int, Field(ge=-64, le=64)] = Field(0, description="shift right (negative: left), pixels")
    stride: Annotated[int, Field(ge=1, le=8)] = 1
    padding: Annotated[int, Field(ge=0, le=7)] = 1
    dilation: Annotated[int, Field(ge=1, le=4)] = 1
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = Field(
        "zeros", description='"circular" also makes the shift circular (a roll)'
    )
    pool: Annotated[int, Field(ge=0, le=8)] = Field(0, description="max-pool window for the invariance demo; 0 = off")
    sweep: bool = Field(True, description="also measure horizontal shifts 0 … 2·stride")


class SweepRow(BaseModel):
    dx: int
    max_interior: float | None
    max_whole: float
    exact_shift: bool


class EquivarianceResponse(BaseModel):
    """Maps as nested lists (or CLB1 binary arrays) plus the measured differences."""

    max_interior: float | None = Field(..., description="max |difference| where neither side sees the border")
    max_whole: float = Field(..., description="max |difference| over the whole map")
    interior_cells: int
    output_shape: list[int]
    output_shift: list[int]
    exact_shift: bool
    cropped: list[int] | None
    scale: float = Field(..., description="max |conv(x)|, to judge the differences against")
    sweep: list[SweepRow] | None = None
    pool_unchanged_before: float | None = None
    pool_unchanged_after: float | None = None
    conv_shift: list | None = None
    shift_conv: list | None = None
    diff: list | None = None
    interior: list | None = None
    shifted_input: list | None = None
    pooled: list | None = None
    pooled_shifted: list | None = None

