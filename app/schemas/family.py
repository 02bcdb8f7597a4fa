"""Schemas of the "more of the family" endpoints: transposed and 1-D convolution,
framework padding semantics, the cost of grouped convolutions, and three more views
of one convolution (frequency domain, separable kernels, im2col)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import (
    STRICT, Array1D, Array2D, Array3D, Array4D, DType, ImageId, NonNeg, NonNegPair, PaddingMode, SizeArg,
)

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


# --- One convolution, three more views: frequency domain, separable kernels, im2col ---------

Knob14 = Annotated[int, Field(ge=1, le=4)]
Knob04 = Annotated[int, Field(ge=0, le=4)]
Kernel2D = Annotated[Array2D, Field(description="kh × kw weights (rows of equal length), at most 15 × 15")]


class Band(BaseModel):
    """One ring of frequencies, lo < |f| ≤ hi cycles per pixel."""

    name: Literal["low", "middle", "high"]
    low: float
    high: float
    gain: float = Field(..., description="mean |K| over the band")
    energy_ratio: float | None = Field(..., description="the image's energy in the band after ÷ before filtering")


class Bands(BaseModel):
    """What a kernel keeps and removes, in frequency."""

    dc_gain: float = Field(..., description="|K| at frequency 0: the sum of the weights")
    bands: list[Band]


class FftCostRow(BaseModel):
    k: int
    direct: int


class FftCost(BaseModel):
    """Direct k²·H·W (eq. 36.11, one channel) against H·W·log₂(H·W) for the FFT route."""

    pixels: int
    kernel: list[int]
    direct: int
    fft: float
    log2_pixels: float
    crossover_k: float = Field(..., description="√log₂(H·W): square kernels wider than this favour the FFT count")
    cheaper: Literal["fft", "direct"]
    table: list[FftCostRow] = Field(..., description="direct counts for k = 1, 3, …, 15 on this image")


class NamedKernel(BaseModel):
    model_config = STRICT
    name: Annotated[str, Field(min_length=1, max_length=40)]
    kernel: Kernel2D


class FftRequest(BaseModel):
    """The convolution theorem on one channel of a stored image."""

    model_config = STRICT
    image_id: ImageId
    kernel: Kernel2D
    compare: list[NamedKernel] = Field([], max_length=3,
                                       description="kernels shown side by side in frequency (e.g. a blur and an edge)")


class ComparedKernel(BaseModel):
    name: str
    bands: Bands
    response: list | None = Field(None, description="centred |K|, H × W (binary: array response_<i>)")
    filtered: list | None = Field(None, description="the image through this kernel (circular), H × W")


class FftResponse(BaseModel):
    """Maps as nested lists (or CLB1 binary arrays) plus the checks; spectra are centred (fftshift)."""

    shape: list[int] = Field(..., description="[H, W] of the gray image")
    kernel_shape: list[int]
    origin: list[int] = Field(..., description="the kernel tap placed at index (0, 0) when zero-padded to the image")
    max_abs_diff: float = Field(..., description="max |ifft2(X·conj K) − conv2d(circular, same)|: float round-off")
    max_abs_diff_unflipped: float = Field(..., description="the same with X·K (the theorem's convolution = flipped kernel)")
    max_abs_diff_zeros: float = Field(..., description="FFT of the zero-padded image vs conv2d with zero padding")
    border_effect: float = Field(..., description="max |circular − zero-padded| (only near the border)")
    scale: float = Field(..., description="max |direct|, to judge the differences against")
    zero_pad: list[int] = Field(..., description="[kh − 1, kw − 1]: zero rows and columns the FFT needs for zero padding")
    border_width: int = Field(..., description="pixels from the border within which circular and zero padding differ")
    bands: Bands
    cost: FftCost
    compare: list[ComparedKernel] = []
    spectrum: list | None = Field(None, description="log(1 + |X|), centred")
    response: list | None = Field(None, description="|K| of the kernel zero-padded to the image, centred")
    product: list | None = Field(None, description="log(1 + |X·conj K|), centred")
    via_fft: list | None = Field(None, description="real(ifft2(X·conj K))")
    direct: list | None = Field(None, description="conv2d(x, k, padding='same', padding_mode='circular')")


class AliasingRequest(BaseModel):
    """Stride on fine vertical stripes 0.5 + 0.5·cos(2π x / period), with and without a blur first."""

    model_config = STRICT
    period: Annotated[float, Field(ge=2.0, le=64.0)] = Field(2.5, description="stripe period in pixels")
    stride: Annotated[int, Field(ge=2, le=4)] = 2
    blur: Kernel2D = Field(..., description="the low-pass kernel applied (as a strided convolution) before sampling")
    size: Annotated[int, Field(ge=16, le=128)] = 64


class Measured(BaseModel):
    frequency: float = Field(..., description="dominant frequency, cycles per input pixel")
    period: float | None = Field(..., description="its period in input pixels")
    amplitude: float = Field(..., description="crest height above the mean")


class AliasingResponse(BaseModel):
    frequency: float = Field(..., description="1 / period, cycles per input pixel")
    nyquist: float = Field(..., description="1 / (2·stride): the finest pattern the strided output can hold")
    aliases: bool
    alias_frequency: float = Field(..., description="where the stripes fold to after the stride")
    alias_period: float | None
    measured: dict[str, Measured] = Field(..., description="input, strided, blurred_strided")
    blur_gain: float = Field(..., description="|B(f)| of the blur at the stripe frequency")
    stride: int
    size: int
    period: float
    input: list | None = None
    strided: list | None = None
    blurred_strided: list | None = None


class SeparableRequest(BaseModel):
    """The SVD of a kernel, its rank-r approximation, and both applied to a stored image."""

    model_config = STRICT
    kernel: Kernel2D
    rank: Annotated[int, Field(ge=1, le=15)] = Field(1, description="terms kept; at most min(kh, kw)")
    rtol: Annotated[float, Field(ge=1e-15, le=0.5)] = Field(
        1e-3, description="singular values below rtol·σ₁ count as zero (presets carry 4 significant digits)")
    image_id: ImageId


class Term(BaseModel):
    sigma: float
    column: list[float] = Field(..., description="√σ·u (kh)")
    row: list[float] = Field(..., description="√σ·v (kw)")


class Factors(BaseModel):
    column: list[float]
    row: list[float]
    max_abs_diff: float = Field(..., description="max |column ⊗ row − kernel|")


class SeparableCost(BaseModel):
    per_pixel_full: int = Field(..., description="kh·kw")
    per_pixel_separable: int = Field(..., description="rank·(kh + kw)")
    per_pass_pair: int = Field(..., description="kh + kw: one column pass and one row pass")
    full: int = Field(..., description="eq. 36.11 on the image, one channel")
    separable: int
    ratio: float
    break_even_rank: int = Field(..., description="largest rank whose passes still cost less than kh·kw")
    h: int
    w: int


class SeparableResponse(BaseModel):
    singular_values: list[float]
    rank: int
    exact_rank: int = Field(..., description="rank at float precision (NumPy's matrix_rank rule)")
    tolerance: float
    rtol: float
    terms: list[Term]
    factors: Factors | None = Field(..., description="the kernel's own column and row when it is rank 1")
    approx: list[list[float]] = Field(..., description="the rank-r kernel")
    residual: list[list[float]] = Field(..., description="K − K_r")
    error_fro: float
    error_rel: float
    error_max: float
    energy_kept: float = Field(..., description="Σ_{i<r} σᵢ² / Σ σᵢ²")
    maps_max_abs_diff: float
    scale: float
    two_pass_max_abs_diff: float = Field(..., description="r column-then-row passes vs the 2-D rank-r convolution")
    cost: SeparableCost
    shape: list[int]
    full: list | None = None
    low_rank: list | None = None


class Im2colRequest(BaseModel):
    """im2col + GEMM on a small input: typed numbers, or a stored image shrunk to size × size."""

    model_config = STRICT
    input: Array3D | None = Field(None, description="(C_in, H, W), H and W at most 16")
    image_id: ImageId | None = None
    size: Annotated[int, Field(ge=2, le=16)] = Field(8, description="with image_id: shrink the image to at most this side")
    weight: Array4D = Field(..., description="(C_out, C_in, kh, kw); with image_id, C_in 1 = gray, 3 = RGB")
    bias: Array1D | None = Field(None, description="(C_out,)")
    stride: Knob14 | Annotated[list[Knob14], Field(min_length=2, max_length=2)] = 1
    padding: Knob04 | Annotated[list[Knob04], Field(min_length=2, max_length=2)] = 0
    dilation: Knob14 | Annotated[list[Knob14], Field(min_length=2, max_length=2)] = 1
    padding_mode: PaddingMode = "zeros"

    @model_validator(mode="after")
    def one_source(self):
        if (self.input is None) == (self.image_id is None):
            raise ValueError("send either input (numbers, (C_in, H, W)) or image_id (a stored image), not both or neither")
        return self


class Im2colSize(BaseModel):
    """One axis of eq. 36.4 with dilation: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1."""

    n: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    out: int


class Memory(BaseModel):
    input_shape: list[int]
    patch_shape: list[int]
    input_bytes: int
    patch_bytes: int
    ratio: float
    copies_per_pixel: int = Field(..., description="kh·kw: the most columns one input pixel is copied into")
    bytes_per_value: int


class Im2colResponse(BaseModel):
    input_shape: list[int]
    output_shape: list[int]
    sizes: list[Im2colSize]
    macs: int = Field(..., description="eq. 36.11: C_out·C_in·kh·kw·H_out·W_out, the GEMM's multiply-adds")
    max_abs_diff: float = Field(..., description="max |GEMM reshaped − conv2d|")
    memory: Memory = Field(..., description="this small input, float32")
    memory_image: Memory | None = Field(None, description="the same layer on the full stored image")
    input: list | None = None
    padded: list | None = None
    patches: list | None = Field(None, description="(C_in·kh·kw, H_out·W_out): one column per output pixel")
    index: list | None = Field(None, description="flat index into padded for every patch entry")
    weights: list | None = Field(None, description="(C_out, C_in·kh·kw): one row per filter")
    product: list | None = None
    output: list | None = None
    direct: list | None = None
