"""Schemas of the "more of the family" endpoints: transposed and 1-D convolution,
framework padding semantics, and the cost of grouped convolutions."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas.common import STRICT, Array1D, Array2D, Array3D, Array4D, DType, NonNeg, NonNegPair, PaddingMode, SizeArg

Small = Annotated[int, Field(ge=1, le=64)]
Channels = Annotated[int, Field(ge=1, le=1024)]
Side = Annotated[int, Field(ge=1, le=4096)]
NonNegArg = NonNeg | NonNegPair


class ConvTranspose2dRequest(BaseModel):
    """A transposed convolution (PyTorch's ConvTranspose2d) on a small (C_in, H, W) input."""

    model_config = STRICT
    input: Array3D = Field(..., description="(C_in, H, W) nested lists")
    weight: Array4D = Field(..., description="(C_in, C_out / groups, kh, kw), PyTorch's layout")
    bias: Array1D | None = Field(None, description="(C_out,)")
    stride: SizeArg = 1
    padding: NonNegArg = Field(0, description="cells cropped from each border of the full output")
    output_padding: NonNegArg = Field(0, description="extra cells on the bottom/right; smaller than stride or dilation")
    dilation: SizeArg = 1
    groups: Annotated[int, Field(ge=1, le=1024)] = 1
    dtype: DType = "float32"
    explain: bool = Field(False, description="also return the equivalent direct convolution over the zero-inserted input")
    grad_output: Array3D | None = Field(None, description="upstream gradient δ shaped like the output: asks for the backward pass")


class OutputSize(BaseModel):
    """One axis of (n − 1)·s − 2p + d(k − 1) + output_padding + 1."""

    n: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    output_padding: int
    out: int


class Direct(BaseModel):
    """The same numbers as a stride-1 direct convolution."""

    input: list[list[list[float]]] = Field(..., description="the zero-inserted, padded (or cropped) input")
    borders: list[int] = Field(..., description="[top, bottom, left, right] border cells; negative = cropped")
    weight: list[list[list[list[float]]]] = Field(..., description="(C_out, C_in / groups, kh, kw), flipped")
    output: list[list[list[float]]]
    max_abs_diff: float = Field(..., description="max |direct − transposed| over the output")


class ConvTranspose2dResponse(BaseModel):
    output: list[list[list[float]]] = Field(..., description="(C_out, H_out, W_out)")
    output_shape: list[int]
    input_shape: list[int]
    sizes: list[OutputSize] = Field(..., description="the output-size arithmetic for H and W")
    dtype: DType
    direct: Direct | None = None
    grad_input: list[list[list[float]]] | None = None
    grad_weight: list[list[list[list[float]]]] | None = None
    grad_bias: list[float] | None = None


class InputGradientRequest(BaseModel):
    """A conv layer's input gradient (eq. 36.10) next to a transposed convolution of δ."""

    model_config = STRICT
    input: Array3D = Field(..., description="(C_in, H, W) of the forward convolution")
    weight: Array4D = Field(..., description="(C_out, C_in, kh, kw) of the forward convolution")
    grad_output: Array3D = Field(..., description="δ, (C_out, H_out, W_out)")
    stride: SizeArg = 1
    padding: NonNegArg = 0
    dilation: SizeArg = 1
    dtype: DType = "float64"


class InputGradientResponse(BaseModel):
    grad_input: list[list[list[float]]] = Field(..., description="from conv2d_backward (eq. 36.10)")
    transposed: list[list[list[float]]] = Field(..., description="conv_transpose2d(δ, weight, …)")
    output_padding: list[int] = Field(..., description="chosen so the transposed output has the input's size")
    max_abs_diff: float
    dtype: DType


class Conv1dRequest(BaseModel):
    """A 1-D convolution (eq. 36.1) of a (C, L) signal, optionally with its backward pass."""

    model_config = STRICT
    input: Array2D | Array1D = Field(..., description="(C_in, L) or one channel (L)")
    weight: Array3D | Array1D = Field(..., description="(C_out, C_in, k) or one kernel (k)")
    bias: Array1D | None = Field(None, description="(C_out,)")
    stride: Small = 1
    padding: NonNeg = 0
    dilation: Small = 1
    padding_mode: PaddingMode = "zeros"
    dtype: DType = "float64"
    grad_output: Array2D | Array1D | None = Field(None, description="δ shaped like the output: asks for the backward pass")


class Conv1dResponse(BaseModel):
    output: list[list[float]] = Field(..., description="(C_out, L_out)")
    output_shape: list[int]
    input_shape: list[int]
    padded_input: list[list[float]] = Field(..., description="(C_in, L + 2p): what the window slides over")
    dtype: DType
    grad_input: list[list[float]] | None = None
    grad_weight: list[list[list[float]]] | None = None
    grad_bias: list[float] | None = None


class FrameworksRequest(BaseModel):
    """Layer settings to compare across PyTorch and TensorFlow/Keras."""

    model_config = STRICT
    height: Annotated[int, Field(ge=1, le=512)]
    width: Annotated[int, Field(ge=1, le=512)]
    kernel: Small = 3
    stride: Small = 1
    dilation: Small = 1
    padding: Annotated[int, Field(ge=0, le=64)] = 1
    pool_kernel: Small = 2
    pool_stride: Small | None = None
    pool_padding: Annotated[int, Field(ge=0, le=32)] = 0


class FrameworksResponse(BaseModel):
    rows: list[dict] = Field(..., description="one per framework variant: id, framework, op, code, out, h, w, error")


class GroupsRequest(BaseModel):
    """A conv layer whose cost is tabulated for every valid number of groups."""

    model_config = STRICT
    c_in: Channels
    c_out: Channels
    kernel: Small = 3
    height: Side = 32
    width: Side = 32
    stride: Small = 1
    padding: Annotated[int, Field(ge=0, le=64)] = 1
    bias: bool = True


class GroupsOption(BaseModel):
    groups: int
    weight_shape: list[int]
    params: int
    macs: int


class GroupsResponse(BaseModel):
    output_shape: list[int]
    options: list[GroupsOption] = Field(..., description="every groups value dividing both C_in and C_out")
    standard: dict
    depthwise_separable: dict
