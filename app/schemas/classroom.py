"""Schemas of the classroom endpoints: the parity badge and the learn-a-filter demo."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import STRICT, Array1D, Array2D, Array3D, Array4D, Color, ConvLayerGeometry, ImageId


class ParityRequest(ConvLayerGeometry):
    """One convolution layer, as the Convolution lab computes it, to be checked independently."""

    model_config = STRICT
    input: Array3D | None = Field(None, description="(C, H, W) nested lists, or use image_id")
    image_id: ImageId | None = Field(None, description="id of an uploaded image or a sample")
    color: Color | None = Field(None, description="convert the stored image to gray or rgb")
    weight: Array4D = Field(..., description="(C_out, C_in / groups, kh, kw)")
    bias: Array1D | None = Field(None, description="(C_out,)")
    groups: Annotated[int, Field(ge=1, le=1024)] = 1
    flip: bool = Field(False, description="true convolution: flip the kernel before sliding it")
    relu: bool = False
    torch: bool = Field(True, description="also compare with PyTorch when it is installed (its first import is slow)")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.input is None) == (self.image_id is None):
            raise ValueError("give exactly one of input (nested lists) or image_id")
        return self


class ParityCheck(BaseModel):
    """How far ConvLab's float32 result is from one independent computation."""

    name: str
    available: bool
    max_abs_diff: float | None = None
    version: str | None = None
    note: str | None = None


class ParityResponse(BaseModel):
    output_shape: list[int]
    max_abs_value: float = Field(..., description="largest |value| of the output, for scale")
    reference: ParityCheck
    torch: ParityCheck


HiddenKernel = Literal["sobel-x", "sobel-y", "laplacian", "sharpen", "box", "emboss"]


class LearnFilterRequest(BaseModel):
    """Recover a hidden kernel from input/output pairs by gradient descent."""

    model_config = STRICT
    hidden: HiddenKernel | None = Field("sobel-x", description="a named hidden kernel, or null to send `kernel`")
    kernel: Array2D | None = Field(None, description="a custom hidden kernel (kh, kw), at most 7×7")
    steps: Annotated[int, Field(ge=1, le=400)] = 80
    lr: Annotated[float, Field(gt=0, le=2)] = 0.05
    pairs: Annotated[int, Field(ge=1, le=16)] = 4
    size: Annotated[int, Field(ge=4, le=64)] = 24
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0

    @model_validator(mode="after")
    def _one_kernel(self):
        if (self.hidden is None) == (self.kernel is None):
            raise ValueError("give exactly one of hidden (a kernel name) or kernel (nested lists)")
        if self.kernel is not None:
            rows = {len(r) for r in self.kernel}
            if len(rows) != 1 or not (1 <= len(self.kernel) <= 7) or not (1 <= rows.pop() <= 7):
                raise ValueError("kernel: must be a rectangular grid of 1 to 7 rows and columns")
        return self


class LearnFilterResponse(BaseModel):
    truth: list[list[float]]
    kernels: list[list[list[float]]] = Field(..., description="the estimate before every step (steps + 1 grids)")
    losses: list[float]
    grad_norms: list[float]
    max_abs_error: float = Field(..., description="max |estimate − truth| after the last step")
