"""Schemas of the convolution and pooling endpoints.

Arrays travel as nested lists (C, H, W) / (C_out, C_in/groups, kh, kw). An image
already on the server is named by ``image_id`` instead of sent as ``input``.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import (
    STRICT,
    Array1D,
    Array3D,
    Array4D,
    Color,
    ConvLayerGeometry,
    DType,
    ImageId,
    PaddingArg,
    PoolPaddingArg,
    SizeArg,
)


class GradSpec(BaseModel):
    """An upstream gradient δ described instead of sent: all ones, a one-hot at
    ``index`` = [c, y, x] of the output, or seeded standard-normal noise."""

    model_config = STRICT
    kind: Literal["ones", "one_hot", "random"]
    index: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=3, max_length=3)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None

    @model_validator(mode="after")
    def _needs(self):
        if self.kind == "one_hot" and self.index is None:
            raise ValueError("a one_hot gradient needs index [c, y, x]")
        return self


class _InputMixin(BaseModel):
    input: Array3D | None = Field(
        None, description="(C, H, W) nested lists; small arrays only (see max_json_elements). Or use image_id."
    )
    image_id: ImageId | None = Field(None, description="id of an uploaded image or a sample, instead of input")
    color: Color | None = Field(
        None, description="convert the stored image named by image_id to gray (1 channel) or rgb (3); default: as stored"
    )
    dtype: DType = Field("float32", description="precision of the computation and of the returned arrays")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.input is None) == (self.image_id is None):
            raise ValueError("give exactly one of input (nested lists) or image_id")
        if self.color is not None and self.image_id is None:
            raise ValueError("color: applies only to an image named by image_id")
        return self


class Conv2dRequest(_InputMixin, ConvLayerGeometry):
    """One 2-D convolution layer (cross-correlation, as deep-learning frameworks compute it)."""

    model_config = STRICT
    weight: Array4D = Field(..., description="(C_out, C_in / groups, kh, kw)")
    bias: Array1D | None = Field(None, description="(C_out,)")
    groups: Annotated[int, Field(ge=1, le=1024)] = 1
    flip: bool = Field(False, description="true convolution: flip the kernel in both axes before sliding it")
    relu: bool = Field(False, description="apply ReLU to the output (and to the gradient on the way back)")
    grad_output: Array3D | GradSpec | None = Field(
        None, description="upstream gradient δ, shaped like the output, or a GradSpec; asks for the backward pass"
    )
    display: Literal["auto", "diverging", "viridis", "gray"] | None = Field(
        None,
        description="binary answers only: send output_index (uint8 colour-table indices per map, the page's "
        "colouring rule, see app/display.py) with output_range and output_map instead of the float output",
    )


class Pool2dRequest(_InputMixin):
    """One 2-D pooling layer (PyTorch's defaults: max pads with −∞, average counts padded zeros)."""

    model_config = STRICT
    kind: Literal["max", "avg"] = "max"
    kernel_size: SizeArg = 2
    stride: SizeArg | None = Field(None, description="defaults to kernel_size")
    padding: PoolPaddingArg = Field(0, description="at most half the window")
    grad_output: Array3D | GradSpec | None = Field(
        None, description="upstream gradient δ, shaped like the output, or a GradSpec; asks for the backward pass"
    )


Nested3 = list[list[list[float]]]


class _MapsResponse(BaseModel):
    output: Nested3 = Field(..., description="(C, H_out, W_out)")
    output_shape: list[int]
    input_shape: list[int]
    output_min: list[float] = Field(..., description="per output map")
    output_max: list[float] = Field(..., description="per output map")
    dtype: DType
    grad_output: Nested3 | None = Field(None, description="the δ used, when it was given as a GradSpec")
    grad_input: Nested3 | None = None


class Conv2dResponse(_MapsResponse):
    """Forward result, plus the three gradients when grad_output was given; colour indices
    (output_index) instead of output when display was asked for."""

    output: Nested3 | None = Field(None, description="(C, H_out, W_out); absent when display was asked for")

    grad_weight: list[list[list[list[float]]]] | None = None
    grad_bias: list[float] | None = None
    display: Literal["auto", "diverging", "viridis", "gray"] | None = Field(None, description="as requested")
    output_index: list[list[list[int]]] | None = Field(
        None, description="with display: (C, H_out, W_out) uint8 colour-table indices (0–255), instead of output"
    )
    output_range: list[list[float]] | None = Field(None, description="with display: [low, high] coloured, per map")
    output_map: list[str] | None = Field(None, description='with display: "diverging", "viridis" or "gray", per map')


class Pool2dResponse(_MapsResponse):
    """Forward result; argmax holds flat indices into the unpadded H×W input (max pooling only)."""

    argmax: list[list[list[int]]] | None = None
