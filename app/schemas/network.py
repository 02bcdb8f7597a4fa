"""Schemas of the Network lab: a layer stack, its summary, its feature maps and a unit's fields.

A layer is one of five shapes told apart by ``type``. Types and ranges are checked
here (422 naming the field); whether the layers fit together (a kernel larger than
its input, a dense layer on a map) is checked by ``app.labs.network`` with the layer's
index in the message.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field

from app.schemas.common import STRICT, ConvLayerGeometry, ImageId, PoolPaddingArg, SizeArg

Width = Annotated[int, Field(ge=1, le=65536)]
Activation = Literal["relu"] | None


class ConvLayer(ConvLayerGeometry):
    """A convolution: ``filters`` maps of ``kernel`` taps; ``activation: "relu"`` fuses a ReLU."""

    model_config = STRICT
    type: Literal["conv"]
    filters: Width
    kernel: SizeArg
    activation: Activation = None


class PoolLayer(BaseModel):
    """Max or average pooling; ``stride`` defaults to ``kernel``; padding at most half the window."""

    model_config = STRICT
    type: Literal["pool"]
    kind: Literal["max", "avg"] = "max"
    kernel: SizeArg = 2
    stride: SizeArg | None = None
    padding: PoolPaddingArg = 0


class ReluLayer(BaseModel):
    model_config = STRICT
    type: Literal["relu"]


class FlattenLayer(BaseModel):
    model_config = STRICT
    type: Literal["flatten"]


class DenseLayer(BaseModel):
    """A fully connected layer on a flat input (put a flatten before it)."""

    model_config = STRICT
    type: Literal["dense"]
    units: Width
    activation: Activation = None


LayerSpec = Annotated[
    Union[ConvLayer, PoolLayer, ReluLayer, FlattenLayer, DenseLayer], Field(discriminator="type")
]
Dim = Annotated[int, Field(ge=1, le=4096)]


class SummaryRequest(BaseModel):
    """A stack on an input of shape [C, H, W]."""

    model_config = STRICT
    input_shape: Annotated[list[Dim], Field(min_length=3, max_length=3, description="[C, H, W]")]
    layers: Annotated[list[LayerSpec], Field(max_length=64)]
    mark_invalid: bool = Field(
        False,
        description="true: answer 200 and mark each invalid layer with its reason (the page's builder); "
        "false: answer 422 naming the first invalid layer",
    )

    def layer_dicts(self) -> list[dict]:
        return [layer.model_dump() for layer in self.layers]


RF = int | float | list[int | float]


class SummaryRow(BaseModel):
    """One layer of the summary; the numbers are null and ``error`` says why for an invalid layer."""

    index: int
    type: str | None
    name: str | None = Field(None, description="short label, e.g. 'conv 32 3×3 same, ReLU'")
    output_shape: list[int] | None = Field(None, description="[C, H, W] for maps, [N] after flatten/dense")
    params: int | None
    macs: int | None = Field(None, description="multiply-adds of the forward pass (eq. 36.11)")
    activation_bytes: int | None = Field(None, description="float32 bytes of the layer's output")
    rf_size: RF | None = Field(None, description="receptive field in input pixels; [h, w] when the axes differ")
    rf_jump: RF | None = Field(None, description="input pixels between neighbouring units")
    rf_start: RF | None = Field(None, description="input coordinate of the centre of unit (0, 0)'s field")
    error: str | None = None


class Totals(BaseModel):
    params: int
    macs: int
    activation_bytes: int
    input_bytes: int


class SummaryResponse(BaseModel):
    input_shape: list[int]
    layers: list[SummaryRow]
    totals: Totals
    valid: bool
    text: str = Field(..., description="the same table as plain text, like a Keras model summary")


class RunRequest(SummaryRequest):
    """Run the stack on a stored image (centre-cropped and resized to the input's H×W)."""

    image_id: ImageId
    weights: Literal["random", "edges", "ones"] = Field(
        "random",
        description="seeded He-normal weights; 'edges': the chapter's Sobel x, Sobel y and Laplacian "
        "in the first conv layer's first filters; 'ones': every weight 1 (the empirical receptive-field check)",
    )
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    max_channels: Annotated[int, Field(ge=1, le=64)] = Field(
        16, description="conv filters and dense units are capped at this width (halved further if the work is too large)"
    )
    show_channels: Annotated[int, Field(ge=1, le=64)] = Field(8, description="maps returned per layer")


class Unit(BaseModel):
    model_config = STRICT
    layer: Annotated[int, Field(ge=0)]
    channel: Annotated[int, Field(ge=0)] = 0
    row: Annotated[int, Field(ge=0)] = 0
    col: Annotated[int, Field(ge=0)] = 0


class ErfRequest(RunRequest):
    """The effective receptive field of one unit: |∂unit/∂input| by backpropagation."""

    unit: Unit
    gates: Literal["relu", "linear"] = Field(
        "relu", description="'linear' lets the gradient through every ReLU (the linear network's field)"
    )
    share: Annotated[float, Field(gt=0, le=1)] = Field(0.95, description="share of the gradient mass to locate")
