"""Schemas of the Backward-lab endpoint.

The input is named by ``image_id`` (an upload or a sample) or sent as small
nested lists in ``input`` (C, H, W), exactly as for /api/conv2d.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import (
    STRICT,
    Array1D,
    Array4D,
    ConvLayerGeometry,
    Index3,
    OneHotNeedsIndex,
    Seed,
    Source,
)
from app.schemas.compute import _InputMixin

class DeltaSpec(OneHotNeedsIndex):
    """The upstream gradient δ = ∂L/∂y, described rather than sent.

    ``ones`` (L = Σ y), ``one_hot`` at ``index`` = [c, y, x] of the output
    (L = y[c, y, x]), ``random`` (seeded standard normal), or ``squared_error``
    against ``target`` (L = ½ Σ (y − t)², δ = y − t).
    """

    model_config = STRICT
    kind: Literal["ones", "one_hot", "random", "squared_error"] = "ones"
    index: Index3 | None = None
    seed: Seed = 0
    target: Literal["sobel_x", "sobel_y", "laplacian", "zero"] = "sobel_x"


class GradcheckSpec(BaseModel):
    """Finite-difference check in float64: every weight and bias, plus ``samples`` input pixels."""

    model_config = STRICT
    step: Annotated[float, Field(ge=1e-10, le=0.1)] = Field(1e-6, description="h of (L(θ+h) − L(θ−h)) / 2h")
    samples: Annotated[int, Field(ge=0, le=256)] = Field(32, description="input pixels to check (seeded choice)")
    seed: Seed = 0


class BackwardRequest(_InputMixin, ConvLayerGeometry):
    """One conv layer's forward pass and its three gradients for a chosen δ (float64 inside)."""

    model_config = STRICT
    weight: Array4D = Field(..., description="(C_out, C_in, kh, kw)")
    bias: Array1D | None = Field(None, description="(C_out,)")
    delta: DeltaSpec = Field(default_factory=DeltaSpec)
    gradcheck: GradcheckSpec | None = Field(None, description="also run the finite-difference check")


class BackwardResponse(BaseModel):
    """Arrays (float32 for display) plus shapes; the gradcheck numbers are float64."""

    input: list = Field(..., description="(C_in, H, W): the input x the layer saw")
    output: list = Field(..., description="(C_out, H_out, W_out): x ⋆ K")
    grad_output: list = Field(..., description="δ (C_out, H_out, W_out)")
    grad_weight: list = Field(..., description="(C_out, C_in, kh, kw): x ⋆ δ, eq. 36.9")
    grad_input: list = Field(..., description="(C_in, H, W): δ fully convolved with the flipped kernel, eq. 36.10")
    grad_bias: list = Field(..., description="(C_out,): Σ δ")
    target: list | None = Field(None, description="the target map t of a squared_error δ")
    input_shape: list[int]
    output_shape: list[int]
    weight_shape: list[int]
    pads: list[int] = Field(..., description="padding actually used: top, bottom, left, right")
    loss: float | None = Field(None, description="½ Σ (y − t)² for a squared_error δ")
    gradcheck: dict | None = None
    gradcheck_skipped: str | None = Field(None, description="why the check did not run (too much work)")
