"""Schemas of the Pooling-lab endpoints.

The input is named by ``image_id`` (an upload or a sample) or sent as small
nested lists in ``input`` (C, H, W), exactly as for /api/conv2d.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import (
    STRICT,
    Index3,
    OneHotNeedsIndex,
    PoolPaddingArg,
    Seed,
    SizeArg,
    Source,
)
from app.schemas.compute import _InputMixin

class PoolDeltaSpec(OneHotNeedsIndex):
    """δ for the pooling backward view: ``ones``, ``one_hot`` at [c, y, x] or seeded ``random``."""

    model_config = STRICT
    kind: Literal["ones", "one_hot", "random"] = "ones"
    index: Index3 | None = None
    seed: Seed = 0


class _PoolBase(_InputMixin):
    model_config = STRICT
    source: Source = Field("image", description="pool the image itself or a Sobel response of it")
    kind: Literal["max", "avg"] = "max"
    kernel_size: SizeArg = 2
    stride: SizeArg | None = Field(None, description="defaults to kernel_size")
    padding: PoolPaddingArg = Field(0, description="at most half the window")


class PoolLabRequest(_PoolBase):
    """Pooling of the image (or a Sobel map of it), with the winners and the routed gradient."""

    delta: PoolDeltaSpec = Field(default_factory=PoolDeltaSpec)


class PoolLabResponse(BaseModel):
    input: list = Field(..., description="the map that was pooled (C, H, W)")
    output: list = Field(..., description="(C, H_out, W_out)")
    argmax: list | None = Field(None, description="flat index r·W + c of each window's winner (max only)")
    grad_output: list
    grad_input: list = Field(..., description="δ routed back: to the winners (max) or spread evenly (avg)")
    input_shape: list[int]
    output_shape: list[int]


class PoolInvarianceRequest(_PoolBase):
    """Shift the input by 0 … window−1 pixels and count unchanged pooled outputs."""

    axis: Literal["x", "y", "xy"] = Field("x", description="shift right (x), down (y) or diagonally (xy)")


class PoolInvarianceResponse(BaseModel):
    shifts: list[int]
    unchanged: list[float] = Field(..., description="fraction of pooled outputs that did not change, per shift")
    pixels_unchanged: list[float] = Field(..., description="fraction of input pixels that did not change (baseline)")
    tolerance: float
    pooled: list = Field(..., description="(S, C, H_out, W_out) pooled output of each shifted input")
    changed: list = Field(..., description="(S, C, H_out, W_out) 1 where the pooled output changed")
    output_shape: list[int]
