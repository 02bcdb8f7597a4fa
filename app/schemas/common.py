"""Types shared by the request and response schemas."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Every request model: strict types (no "1" for 1, no true for 1.0), finite numbers,
# unknown fields refused, so a typo gets a 422 naming it instead of being ignored.
STRICT = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")

# Magnitude bound on every number a client sends in an array: far beyond any
# teaching example, far below float32 overflow after a few hundred multiply-adds.
VALUE_LIMIT = 1e6
Value = Annotated[float, Field(ge=-VALUE_LIMIT, le=VALUE_LIMIT)]

Array1D = list[Value]
Array2D = list[Array1D]
Array3D = list[Array2D]
Array4D = list[Array3D]

# Spatial parameters: one int for both axes, or an [h, w] pair.
Size = Annotated[int, Field(ge=1, le=1024)]
NonNeg = Annotated[int, Field(ge=0, le=1024)]
SizePair = Annotated[list[Size], Field(min_length=2, max_length=2)]
NonNegPair = Annotated[list[NonNeg], Field(min_length=2, max_length=2)]
SizeArg = Size | SizePair
PaddingArg = NonNeg | NonNegPair | Literal["valid", "same"]
PoolPaddingArg = NonNeg | NonNegPair
# The border rule of a convolution; app.kernels.PADDING_MODES holds the same names
# for the compute side (tests/test_api.py checks that the two agree).
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]

# The upstream gradient δ described instead of sent: where a one-hot sits, and seeds.
Index3 = Annotated[list[Annotated[int, Field(ge=0, le=100_000)]], Field(min_length=3, max_length=3)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
# What the Backward and Pooling labs run on: the image itself or a Sobel response of it.
Source = Literal["image", "sobel_x", "sobel_y", "sobel_mag"]

Color = Literal["gray", "rgb"]
ColorOrAuto = Literal["gray", "rgb", "auto"]
DType = Literal["float32", "float64"]
ImageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^([0-9a-f]{16,64}|sample-[a-z0-9-]{1,40})$")]


class OneHotNeedsIndex(BaseModel):
    """A δ description whose ``one_hot`` kind must say where: ``index`` = [c, y, x] of an output pixel."""

    @model_validator(mode="after")
    def _one_hot_needs_index(self):
        if getattr(self, "kind", None) == "one_hot" and getattr(self, "index", None) is None:
            raise ValueError("a one_hot δ needs index [c, y, x] of an output pixel")
        return self


class ConvLayerGeometry(BaseModel):
    """How one 2-D convolution slides: the fields every conv request spells the same way."""

    stride: SizeArg = 1
    padding: PaddingArg = Field(0, description='int, [h, w], "valid" or "same" (stride 1 only)')
    dilation: SizeArg = 1
    padding_mode: PaddingMode = "zeros"


class ErrorBody(BaseModel):
    """Every error answer: one message a person can act on."""

    detail: str


def error_responses(*codes: int) -> dict:
    """OpenAPI entries for the error statuses an operation can answer."""
    text = {
        400: "The request body could not be parsed",
        404: "Unknown image id: upload the image again",
        413: "Too large: request body, image pixels or computation exceed a limit (the message names it)",
        415: "Not an image ConvLab can read (PNG, JPEG, GIF, BMP, WebP)",
        422: "Invalid parameter or damaged file (the message names the field)",
        403: "Not allowed: the teacher's token is missing or wrong",
        409: "Not now: e.g. the question is closed (the message says why)",
        503: "Unavailable: e.g. class mode needs Redis with several workers (the message says what to do)",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}
