"""Schemas of the Equivariance-lab endpoint."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas.common import STRICT, Array2D, Color, ImageId, PaddingMode


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
    padding_mode: PaddingMode = Field(
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

