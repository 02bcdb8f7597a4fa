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
ModelName = Literal["small", "chapter"]
InitName = Literal["keras", "pytorch"]
Epochs = Annotated[int, Field(ge=1, le=40, description="the run ends after this many epochs")]
DropoutRate = Annotated[float, Field(ge=0, le=0.9, description="dropout rate after dense1 (0 leaves dropout out)")]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="fixes initial weights, shuffling, dropout and "
                                                        "augmentation: the same seed repeats the run")]


# --- train -------------------------------------------------------------------------


class SessionRequest(BaseModel):
    """Names the page's run (pause, resume, reset)."""

    model_config = STRICT
    session: SessionId


class StartRequest(SessionRequest):
    """Start a fresh run with new weights (replaces this session's previous run).

    ``model`` picks the network; knobs left out take that model's defaults (small:
    lr 0.01, batch 32, 8 filters, Adam, until 40 epochs; chapter: the chapter's
    fit call, Adam lr 1e-3, batch 128, 10 epochs, dropout 0.5, validation split 0.1).
    ``filters`` and ``optimizer`` are the small network's; ``batch_norm``,
    ``dropout``, ``augment`` and ``init`` the chapter's.
    """

    model: ModelName = Field("small", description='"small": the 8×8 network; "chapter": the chapter\'s classifier at 28×28')
    lr: LearningRate | None = None
    batch_size: BatchSize | None = None
    seed: Seed | None = None
    epochs: Epochs | None = None
    filters: Filters | None = None
    optimizer: Literal["adam", "sgd"] | None = Field(None, description="Adam, or SGD with momentum 0.9 (small only)")
    batch_norm: bool | None = Field(None, description="batch norm after each conv, before its ReLU (chapter only)")
    dropout: DropoutRate | None = None
    augment: bool | None = Field(None, description="random shifts, rotations and scale, fresh every epoch (chapter only)")
    init: InitName | None = Field(None, description='starting weights (chapter only): "keras", Glorot-uniform weights '
                                                   'and zero biases (default); "pytorch", uniform ±1/√fan_in')

    def knobs(self) -> dict:
        """The knobs given, by the trainer's names (None: the model's default)."""
        return self.model_dump(exclude={"session", "model"}, exclude_none=True)


class ConfigRequest(SessionRequest):
    """Change the knobs of a run; applied from its next batch."""

    lr: LearningRate | None = None
    batch_size: BatchSize | None = None


class CurvePoint(BaseModel):
    step: int
    epoch: float
    loss: float = Field(..., description="training cross-entropy (small: on 400 fixed training images; chapter: "
                                         "the epoch's mean batch loss, Keras's `loss`)")
    accuracy: float = Field(..., description="held-out accuracy (359 images never trained on)")
    val_accuracy: float | None = Field(None, description="chapter: accuracy on the validation split (0.1 of the "
                                                         "training part, never fitted)")
    val_loss: float | None = Field(None, description="chapter: cross-entropy on the validation split")
    train_accuracy: float | None = Field(None, description="chapter: the epoch's accuracy on its training batches")
    time: float = Field(..., description="seconds of training so far")


class TrainStatus(BaseModel):
    """A run as a viewer sees it; the progress stream sends the same fields."""

    session: str
    model: ModelName = "small"
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
    filters: list[list[list[float]]] = Field(..., description="first-layer kernels, F × 3 × 3 (chapter: 32)")
    version: int


class PredictRequest(SessionRequest):
    """A digit (0 = background, 1 = ink), drawn or picked, through the session's network."""

    pixels: Array2D = Field(..., description="8 rows of 8 values in [0, 1] (chapter model: 28 rows of 28)")


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
    """Held-out digits to pick from (never trained on), as the model sees them."""

    model: ModelName = "small"
    side: int = Field(8, description="8 (small) or 28 (chapter: centred in a 20×20 box, bilinear)")
    digits: list[Digit]


class WeightsResponse(BaseModel):
    """The run's current weights in PyTorch layouts (conv (out, in, kh, kw), dense (out, in))."""

    model: ModelName
    arrays: dict[str, list] = Field(..., description="name → nested list, e.g. conv1.weight (32, 1, 3, 3)")
    state: str
    step: int
    epoch: float


class CodeResponse(BaseModel):
    """The Keras code (R, the chapter's dialect) a chapter run with these switches reproduces."""

    code: str


class AugmentedResponse(BaseModel):
    """A training digit and augmented copies of it, as the chapter model sees them with augment on."""

    index: int
    label: int
    original: list[list[float]]
    images: list[list[list[float]]] = Field(..., description="count × 28 × 28 in [0, 1]")


# --- equivariance ----------------------------------------------------------------------
