"""Layers of a stack: validating a layer dict, its output shape, parameters and multiply-adds.

Pure compute (NumPy, ``app.arithmetic`` and ``app.kernels``; no web code). A stack
is a list of layer dicts as the HTTP API takes them (docs/CONTRACT.md,
``POST /api/network/summary``)::

    {"type": "conv", "filters", "kernel", "stride", "padding", "dilation", "padding_mode", "activation"}
    {"type": "pool", "kind": "max" | "avg", "kernel", "stride", "padding"}
    {"type": "relu"}   {"type": "flatten"}   {"type": "dense", "units", "activation"}

Sizes are an int or an (h, w) pair; omitted stride/padding/dilation take the usual
defaults (a pool's stride defaults to its window). ``activation: "relu"`` fuses a
ReLU into a conv or dense layer, as Keras's ``activation="relu"`` does.

Receptive fields come from :func:`app.arithmetic.receptive_field`. A dense layer on
a flattened H×W map is the convolution whose kernel covers the whole map, so its
field is that of an H×W "valid" convolution; flatten and ReLU leave the field as it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from app import arithmetic as ar
from app.arithmetic import Pair
from app.kernels import PADDING_MODES, POOL_KINDS
from app.errors import InvalidArgument

LAYER_TYPES = ("conv", "pool", "relu", "flatten", "dense")
ACTIVATIONS = (None, "relu")


def _dims(h, w) -> str:
    return f"{h}×{w}"


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class Layer:
    """One validated layer; sizes are (h, w) pairs, padding a pair or "same"/"valid"."""

    type: str
    filters: int = 0
    units: int = 0
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    padding: Pair | str = (0, 0)
    dilation: Pair = (1, 1)
    padding_mode: str = "zeros"
    kind: str = "max"
    activation: str | None = None

    @property
    def spatial(self) -> bool:
        return self.type in ("conv", "pool")

    def pads(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) padding; "same" puts an odd extra after (PyTorch)."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            top, bottom = ar.same_padding(self.kernel[0], self.dilation[0])
            left, right = ar.same_padding(self.kernel[1], self.dilation[1])
            return (top, bottom, left, right)
        return (self.padding[0], self.padding[0], self.padding[1], self.padding[1])

    def label(self) -> str:
        """Short name for tables, e.g. ``conv 32 3×3 same, ReLU``."""
        act = ", ReLU" if self.activation == "relu" else ""
        if self.type == "conv":
            parts = [f"conv {self.filters} {_dims(*self.kernel)}"]
            if self.stride != (1, 1):
                parts.append(f"s{_pair_text(self.stride)}")
            if isinstance(self.padding, str):
                parts.append(self.padding)
            elif self.padding != (0, 0):
                parts.append(f"p{_pair_text(self.padding)}")
            if self.dilation != (1, 1):
                parts.append(f"d{_pair_text(self.dilation)}")
            if self.padding_mode != "zeros":
                parts.append(self.padding_mode)
            return " ".join(parts) + act
        if self.type == "pool":
            text = f"{self.kind} pool {_dims(*self.kernel)}"
            if self.stride != self.kernel:
                text += f" s{_pair_text(self.stride)}"
            if self.padding != (0, 0):
                text += f" p{_pair_text(self.padding)}"
            return text
        if self.type == "dense":
            return f"dense {self.units}{act}"
        return {"relu": "ReLU", "flatten": "flatten"}[self.type]

    def arithmetic_dict(self) -> dict:
        """The layer as :func:`app.arithmetic.receptive_field` takes it."""
        return {
            "type": self.type,
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
        }


def _pair_text(p: Pair) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}×{p[1]}"


def _size(value, field: str, default=None, minimum: int = 1) -> Pair:
    if value is None:
        if default is None:
            raise InvalidArgument(f"{field} is required")
        value = default
    p = ar.pair(value, field)
    if min(p) < minimum:
        raise InvalidArgument(f"{field} must be >= {minimum}, got {_pair_text(p) if p[0] != p[1] else p[0]}")
    return p


def parse_layer(spec: dict, index: int) -> Layer:
    """Check one layer dict and return it as a :class:`Layer`; errors name ``layers[i].field``."""
    where = f"layers[{index}]"
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{where} must be an object with a type")
    kind = spec.get("type")
    if kind not in LAYER_TYPES:
        raise InvalidArgument(f"{where}.type must be one of {', '.join(LAYER_TYPES)}; got {kind!r}")
    activation = spec.get("activation")
    if activation not in ACTIVATIONS:
        raise InvalidArgument(f'{where}.activation must be "relu" or null; got {activation!r}')
    if kind == "conv":
        filters = spec.get("filters")
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise InvalidArgument(f"{where}.filters must be a positive integer; got {filters!r}")
        padding = spec.get("padding", 0)
        if padding is None:
            padding = 0
        if not isinstance(padding, str):
            padding = _size(padding, f"{where}.padding", minimum=0)
        elif padding not in ("same", "valid"):
            raise InvalidArgument(f'{where}.padding must be an int, an [h, w] pair, "same" or "valid"; got {padding!r}')
        mode = spec.get("padding_mode") or "zeros"
        if mode not in PADDING_MODES:
            raise InvalidArgument(f"{where}.padding_mode must be one of {', '.join(PADDING_MODES)}; got {mode!r}")
        return Layer(
            "conv",
            filters=filters,
            kernel=_size(spec.get("kernel"), f"{where}.kernel"),
            stride=_size(spec.get("stride"), f"{where}.stride", 1),
            padding=padding,
            dilation=_size(spec.get("dilation"), f"{where}.dilation", 1),
            padding_mode=mode,
            activation=activation,
        )
    if kind == "pool":
        pool_kind = spec.get("kind") or "max"
        if pool_kind not in POOL_KINDS:
            raise InvalidArgument(f'{where}.kind must be "max" or "avg"; got {pool_kind!r}')
        kernel = _size(spec.get("kernel"), f"{where}.kernel", 2)
        return Layer(
            "pool",
            kind=pool_kind,
            kernel=kernel,
            stride=_size(spec.get("stride"), f"{where}.stride", kernel),
            padding=_size(spec.get("padding"), f"{where}.padding", 0, minimum=0),
        )
    if kind == "dense":
        units = spec.get("units")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise InvalidArgument(f"{where}.units must be a positive integer; got {units!r}")
        return Layer("dense", units=units, activation=activation)
    return Layer(kind)


def parse_input_shape(shape) -> tuple[int, int, int]:
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise InvalidArgument(f"input_shape must be [C, H, W]; got {shape!r}")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
        raise InvalidArgument(f"input_shape must hold three positive integers [C, H, W]; got {list(shape)}")
    return tuple(int(v) for v in shape)


# --------------------------------------------------------------------------- shapes


def output_shape(layer: Layer, shape: tuple[int, ...], index: int) -> tuple[int, ...]:
    """Shape after ``layer`` given its input ``shape`` ((C, H, W) or (N,)); ValueError says why not."""
    where = f"layers[{index}]"
    if layer.type in ("conv", "pool"):
        if len(shape) != 3:
            raise InvalidArgument(
                f"{where}: {layer.type} needs a (C, H, W) map but its input is flat ({shape[0]} values); "
                "move it before the flatten"
            )
        c, h, w = shape
        if layer.type == "conv":
            if layer.padding == "same" and layer.stride != (1, 1):
                raise InvalidArgument(
                    f'{where}.padding: "same" needs stride 1 (got stride {_pair_text(layer.stride)}); '
                    "give the padding as a number"
                )
            top, bottom, left, right = layer.pads()
            if layer.padding_mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
                raise InvalidArgument(
                    f"{where}.padding: reflect padding {_dims(max(top, bottom), max(left, right))} must be "
                    f"smaller than the input {_dims(h, w)}; lower it or use zeros"
                )
            if layer.padding_mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
                raise InvalidArgument(
                    f"{where}.padding: circular padding {_dims(max(top, bottom), max(left, right))} must be "
                    f"at most the input {_dims(h, w)}"
                )
            eh = ar.effective_kernel(layer.kernel[0], layer.dilation[0])
            ew = ar.effective_kernel(layer.kernel[1], layer.dilation[1])
            hp, wp = h + top + bottom, w + left + right
            if eh > hp or ew > wp:
                what = "dilated kernel" if layer.dilation != (1, 1) else "kernel"
                raise InvalidArgument(
                    f"{where}.kernel: {what} {_dims(eh, ew)} is larger than the padded input {_dims(hp, wp)}; "
                    "use a smaller kernel or dilation, or more padding"
                )
            oh = ar.conv_output_size_padded(h, layer.kernel[0], layer.stride[0], top + bottom, layer.dilation[0])
            ow = ar.conv_output_size_padded(w, layer.kernel[1], layer.stride[1], left + right, layer.dilation[1])
            return (layer.filters, oh, ow)
        (kh, kw), (ph, pw) = layer.kernel, layer.padding
        if 2 * ph > kh or 2 * pw > kw:
            raise InvalidArgument(
                f"{where}.padding: pool padding {_dims(ph, pw)} must be at most half the window {_dims(kh, kw)}"
            )
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise InvalidArgument(
                f"{where}.kernel: pool window {_dims(kh, kw)} is larger than the padded input "
                f"{_dims(h + 2 * ph, w + 2 * pw)}; use a smaller window or remove a pooling layer"
            )
        oh = ar.pool_output_size(h, kh, layer.stride[0], ph)
        ow = ar.pool_output_size(w, kw, layer.stride[1], pw)
        return (c, oh, ow)
    if layer.type == "dense":
        if len(shape) != 1:
            raise InvalidArgument(
                f"{where}: dense needs a flat input but gets a {'×'.join(map(str, shape))} map; "
                "add a flatten layer before it"
            )
        return (layer.units,)
    if layer.type == "flatten":
        return (math.prod(shape),)
    return tuple(shape)  # relu


def layer_params(layer: Layer, shape_in: tuple[int, ...]) -> int:
    if layer.type == "conv":
        return ar.conv_params(shape_in[0], layer.filters, *layer.kernel)
    if layer.type == "dense":
        return ar.dense_params(shape_in[0], layer.units)
    return 0


def layer_macs(layer: Layer, shape_in: tuple[int, ...], shape_out: tuple[int, ...]) -> int:
    """Multiply-adds of the forward pass (eq. 36.11 for conv; n_in·n_out for dense; 0 otherwise)."""
    if layer.type == "conv":
        return ar.conv_macs(shape_out[1], shape_out[2], shape_out[0], shape_in[0], *layer.kernel)
    if layer.type == "dense":
        return shape_in[0] * layer.units
    return 0
