"""Schemas of the Inside lab (``POST /api/inspect`` and ``/api/inside/...``).

A digit is either a held-out digit named by ``index`` (0–358, the same digits
for both models) or drawn ``pixels`` (side × side in [0, 1]: 28×28 for the
chapter model, 8×8 for the small one).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import STRICT, Array2D
from app.schemas.train import SessionId

ClassIndex = Annotated[int, Field(ge=0, le=9, description="a class, 0–9")]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Method = Literal["saliency", "smoothgrad", "gradcam", "occlusion", "fgsm"]
SanityMethod = Literal["saliency", "smoothgrad", "gradcam", "occlusion"]
Probabilities = list[float]


class DigitRequest(BaseModel):
    """Names the page's run and the digit to explain."""

    model_config = STRICT
    session: SessionId
    pixels: Array2D | None = Field(None, description="a drawn digit, side × side values in [0, 1]")
    index: Annotated[int, Field(ge=0, le=100_000)] | None = Field(None, description="a held-out digit's index")
    target: ClassIndex | None = Field(None, description="the class to explain; null: the predicted class")

    @model_validator(mode="after")
    def _one_digit(self):
        if (self.pixels is None) == (self.index is None):
            raise ValueError("send either pixels (a drawn digit) or index (a held-out digit), not both or neither")
        return self


class MethodKnobs(BaseModel):
    """Every method's knobs; each method reads its own."""

    patch: Annotated[int, Field(ge=1, le=28, description="occlusion: patch side p")] = 4
    stride: Annotated[int, Field(ge=1, le=28, description="occlusion: stride s")] = 2
    fill: Annotated[float, Field(ge=0, le=1, description="occlusion: value of the covered pixels")] = 0.0
    samples: Annotated[int, Field(ge=1, le=256, description="smoothgrad: noisy copies n")] = 25
    noise: Annotated[float, Field(ge=0, le=1, description="smoothgrad: noise σ in pixel units")] = 0.15
    seed: Seed = 0


class InspectRequest(DigitRequest, MethodKnobs):
    """One explanation of one digit by the page's network (always in inference mode)."""

    method: Method
    epsilon: Annotated[float, Field(ge=0, le=1, description="fgsm: step ε")] = 0.1
    label: ClassIndex | None = Field(None, description="fgsm: the label y of the loss; null: the predicted class")

    def knobs(self) -> dict:
        """The knobs this request's method reads (so other fields do not split the cache)."""
        names = {"smoothgrad": ("samples", "noise", "seed"), "occlusion": ("patch", "stride", "fill"),
                 "fgsm": ("epsilon", "label")}.get(self.method, ())
        return {name: getattr(self, name) for name in names}


class RunInfo(BaseModel):
    """Where the run stood when its weights were read."""

    state: str
    reason: str = ""
    version: int
    step: int
    epoch: float
    weights: str = Field(..., description="fingerprint of the weights the answer was computed from")


class InspectResponse(BaseModel):
    model: Literal["small", "chapter"]
    side: int
    method: Method
    probabilities: Probabilities
    predicted: int
    target: int = Field(..., description="the class explained (fgsm: the label of the loss)")
    map: list[list[float]] | None = Field(None, description="saliency/smoothgrad side×side, gradcam 14×14 "
                                                            "(small model 4×4), occlusion n×n")
    map_size: int | None = Field(None, description="occlusion: n = ⌊(side − patch)/stride⌋ + 1 (eq. 36.4)")
    layer: str | None = Field(None, description="gradcam: the layer A is read from")
    weights: list[float] | None = Field(None, description="gradcam: α_k per map")
    adversarial: list[list[float]] | None = None
    perturbation: list[list[float]] | None = Field(None, description="fgsm: adversarial − x")
    probabilities_after: Probabilities | None = None
    predicted_after: int | None = None
    epsilon: float | None = None
    run: RunInfo
    seconds: float = Field(..., description="compute time of this answer (0 when it came from the cache)")


class UnitLayer(BaseModel):
    layer: str
    reads: str = Field(..., description="the layer output the objective reads (before the ReLU)")
    units: int
    kind: Literal["filter", "unit", "class"]


class ConfusionResponse(BaseModel):
    """The held-out digits through the page's network."""

    model: Literal["small", "chapter"]
    side: int
    run: RunInfo
    accuracy: float
    matrix: list[list[int]] = Field(..., description="matrix[true][predicted]")
    labels: list[int]
    predicted: list[int]
    confidence: list[float] = Field(..., description="each digit's probability of its predicted class")
    probabilities: list[list[float]]
    layers: list[str]
    cam_layer: str
    units: list[UnitLayer]
    seconds: float


class DigitsResponse(BaseModel):
    """The held-out digits as the model sees them, for thumbnails: one byte per pixel (0–255), base64."""

    model: Literal["small", "chapter"]
    side: int
    count: int
    labels: list[int]
    pixels: str = Field(..., description="base64 of count·side·side bytes, digit after digit, row-major")


class SanityRequest(DigitRequest, MethodKnobs):
    """The cascading model-randomisation test for one digit."""

    methods: Annotated[list[SanityMethod], Field(min_length=1, max_length=4)] = \
        ["saliency", "smoothgrad", "gradcam", "occlusion"]


class SanityStep(BaseModel):
    label: str
    randomised: list[str]
    predicted: int
    maps: dict[str, list[list[float]]]
    rank_correlation: dict[str, float | None]
    rank_correlation_abs: dict[str, float | None]


class SanityResponse(BaseModel):
    model: Literal["small", "chapter"]
    side: int
    target: int
    predicted: int
    probabilities: Probabilities
    steps: list[SanityStep]
    run: RunInfo
    seconds: float


class FeatureVisRequest(BaseModel):
    """Gradient ascent from grey for one unit, plain and regularised."""

    model_config = STRICT
    session: SessionId
    layer: Literal["conv1", "conv2", "dense1", "dense2"]
    unit: Annotated[int, Field(ge=0, le=1023)] = 0
    steps: Annotated[int, Field(ge=1, le=512)] = 128
    lr: Annotated[float, Field(gt=0, le=1)] = 0.05
    jitter: Annotated[int, Field(ge=0, le=7)] = 1
    l2: Annotated[float, Field(ge=0, le=0.5)] = 0.02
    blur: Annotated[float, Field(ge=0, le=2)] = 0.5
    blur_every: Annotated[int, Field(ge=1, le=64)] = 4
    seed: Seed = 0


class CurveRequest(BaseModel):
    """Held-out accuracy under FGSM at each ε."""

    model_config = STRICT
    session: SessionId
    epsilons: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1, max_length=41)] = \
        [round(0.025 * i, 3) for i in range(13)]
