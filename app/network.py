"""Layer stacks: validate them, summarise them, run them and backpropagate through them.

Pure compute (NumPy, ``app.arithmetic`` and ``app.kernels``; no web code). A stack
is a list of layer dicts as the HTTP API takes them (SPEC.md,
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
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from app import arithmetic as ar
from app.arithmetic import Pair

LAYER_TYPES = ("conv", "pool", "relu", "flatten", "dense")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
POOL_KINDS = ("max", "avg")
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
            raise ValueError(f"{field} is required")
        value = default
    p = ar.pair(value, field)
    if min(p) < minimum:
        raise ValueError(f"{field} must be >= {minimum}, got {_pair_text(p) if p[0] != p[1] else p[0]}")
    return p


def parse_layer(spec: dict, index: int) -> Layer:
    """Check one layer dict and return it as a :class:`Layer`; errors name ``layers[i].field``."""
    where = f"layers[{index}]"
    if not isinstance(spec, dict):
        raise ValueError(f"{where} must be an object with a type")
    kind = spec.get("type")
    if kind not in LAYER_TYPES:
        raise ValueError(f"{where}.type must be one of {', '.join(LAYER_TYPES)}; got {kind!r}")
    activation = spec.get("activation")
    if activation not in ACTIVATIONS:
        raise ValueError(f'{where}.activation must be "relu" or null; got {activation!r}')
    if kind == "conv":
        filters = spec.get("filters")
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"{where}.filters must be a positive integer; got {filters!r}")
        padding = spec.get("padding", 0)
        if padding is None:
            padding = 0
        if not isinstance(padding, str):
            padding = _size(padding, f"{where}.padding", minimum=0)
        elif padding not in ("same", "valid"):
            raise ValueError(f'{where}.padding must be an int, an [h, w] pair, "same" or "valid"; got {padding!r}')
        mode = spec.get("padding_mode") or "zeros"
        if mode not in PADDING_MODES:
            raise ValueError(f"{where}.padding_mode must be one of {', '.join(PADDING_MODES)}; got {mode!r}")
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
            raise ValueError(f'{where}.kind must be "max" or "avg"; got {pool_kind!r}')
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
            raise ValueError(f"{where}.units must be a positive integer; got {units!r}")
        return Layer("dense", units=units, activation=activation)
    return Layer(kind)


def parse_input_shape(shape) -> tuple[int, int, int]:
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ValueError(f"input_shape must be [C, H, W]; got {shape!r}")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape):
        raise ValueError(f"input_shape must hold three positive integers [C, H, W]; got {list(shape)}")
    return tuple(int(v) for v in shape)


# --------------------------------------------------------------------------- shapes


def output_shape(layer: Layer, shape: tuple[int, ...], index: int) -> tuple[int, ...]:
    """Shape after ``layer`` given its input ``shape`` ((C, H, W) or (N,)); ValueError says why not."""
    where = f"layers[{index}]"
    if layer.type in ("conv", "pool"):
        if len(shape) != 3:
            raise ValueError(
                f"{where}: {layer.type} needs a (C, H, W) map but its input is flat ({shape[0]} values); "
                "move it before the flatten"
            )
        c, h, w = shape
        if layer.type == "conv":
            if layer.padding == "same" and layer.stride != (1, 1):
                raise ValueError(
                    f'{where}.padding: "same" needs stride 1 (got stride {_pair_text(layer.stride)}); '
                    "give the padding as a number"
                )
            top, bottom, left, right = layer.pads()
            if layer.padding_mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
                raise ValueError(
                    f"{where}.padding: reflect padding {_dims(max(top, bottom), max(left, right))} must be "
                    f"smaller than the input {_dims(h, w)}; lower it or use zeros"
                )
            if layer.padding_mode == "circular" and (max(top, bottom) > h or max(left, right) > w):
                raise ValueError(
                    f"{where}.padding: circular padding {_dims(max(top, bottom), max(left, right))} must be "
                    f"at most the input {_dims(h, w)}"
                )
            eh = ar.effective_kernel(layer.kernel[0], layer.dilation[0])
            ew = ar.effective_kernel(layer.kernel[1], layer.dilation[1])
            hp, wp = h + top + bottom, w + left + right
            if eh > hp or ew > wp:
                what = "dilated kernel" if layer.dilation != (1, 1) else "kernel"
                raise ValueError(
                    f"{where}.kernel: {what} {_dims(eh, ew)} is larger than the padded input {_dims(hp, wp)}; "
                    "use a smaller kernel or dilation, or more padding"
                )
            oh = ar.conv_output_size_padded(h, layer.kernel[0], layer.stride[0], top + bottom, layer.dilation[0])
            ow = ar.conv_output_size_padded(w, layer.kernel[1], layer.stride[1], left + right, layer.dilation[1])
            return (layer.filters, oh, ow)
        (kh, kw), (ph, pw) = layer.kernel, layer.padding
        if 2 * ph > kh or 2 * pw > kw:
            raise ValueError(
                f"{where}.padding: pool padding {_dims(ph, pw)} must be at most half the window {_dims(kh, kw)}"
            )
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ValueError(
                f"{where}.kernel: pool window {_dims(kh, kw)} is larger than the padded input "
                f"{_dims(h + 2 * ph, w + 2 * pw)}; use a smaller window or remove a pooling layer"
            )
        oh = ar.pool_output_size(h, kh, layer.stride[0], ph)
        ow = ar.pool_output_size(w, kw, layer.stride[1], pw)
        return (c, oh, ow)
    if layer.type == "dense":
        if len(shape) != 1:
            raise ValueError(
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


def _json_rf(value):
    return list(value) if isinstance(value, tuple) else value


@dataclass
class Row:
    """One row of the summary; ``error`` set (and the numbers None) for an invalid layer."""

    index: int
    layer: Layer | None
    shape_in: tuple[int, ...] | None
    shape_out: tuple[int, ...] | None = None
    params: int | None = None
    macs: int | None = None
    rf: dict | None = None
    error: str | None = None

    def as_dict(self, spec_type: str | None = None) -> dict:
        rf = self.rf or {}
        return {
            "index": self.index,
            "type": self.layer.type if self.layer else spec_type,
            "name": self.layer.label() if self.layer else None,
            "output_shape": list(self.shape_out) if self.shape_out else None,
            "params": self.params,
            "macs": self.macs,
            "activation_bytes": ar.activation_bytes(self.shape_out) if self.shape_out else None,
            "rf_size": _json_rf(rf.get("size")),
            "rf_jump": _json_rf(rf.get("jump")),
            "rf_start": _json_rf(rf.get("start")),
            "error": self.error,
        }


def analyse(input_shape, specs: Sequence[dict], strict: bool = True) -> list[Row]:
    """Per-layer shapes, parameters, MACs and receptive fields of a stack.

    ``strict``: the first invalid layer raises ValueError (naming ``layers[i].field``).
    Otherwise each invalid layer gets a row with ``error`` and is passed over (the
    layers after it see its input), so one mistake does not blank the whole table.
    """
    shape = parse_input_shape(input_shape)
    rows: list[Row] = []
    rf_layers: list[dict] = []  # what app.arithmetic sees, one entry per valid layer
    last_map: tuple[int, int] = shape[1:]  # spatial size of the last (C, H, W) activation
    collapsed = False  # a dense layer already covers the whole map
    for index, spec in enumerate(specs):
        layer = None
        try:
            layer = parse_layer(spec, index)
            out = output_shape(layer, shape, index)
        except ValueError as exc:
            if strict:
                raise
            rows.append(Row(index, layer, shape, error=str(exc)))
            continue
        row = Row(index, layer, shape, out, layer_params(layer, shape), layer_macs(layer, shape, out))
        if layer.spatial:
            rf_layers.append(layer.arithmetic_dict())
            last_map = out[1:]
        elif layer.type == "dense" and not collapsed:
            rf_layers.append({"type": "conv", "kernel": last_map, "stride": 1, "padding": 0, "dilation": 1})
            collapsed = True
        else:
            rf_layers.append({"type": layer.type})
        rows.append(row)
        shape = out
    fields = iter(ar.receptive_field(rf_layers))
    for row in rows:
        if row.error is None:
            row.rf = next(fields)
    return rows


def summarize(input_shape, layers: Sequence[dict], strict: bool = True) -> dict:
    """The model summary as the API returns it: rows, totals and whether every layer is valid."""
    rows = analyse(input_shape, layers, strict)
    shape = parse_input_shape(input_shape)
    good = [r for r in rows if r.error is None]
    return {
        "input_shape": list(shape),
        "layers": [r.as_dict(_spec_type(layers[r.index])) for r in rows],
        "totals": {
            "params": sum(r.params for r in good),
            "macs": sum(r.macs for r in good),
            "activation_bytes": sum(ar.activation_bytes(r.shape_out) for r in good),
            "input_bytes": ar.activation_bytes(shape),
        },
        "valid": len(good) == len(rows),
    }


def _spec_type(spec) -> str | None:
    return spec.get("type") if isinstance(spec, dict) and isinstance(spec.get("type"), str) else None


def summary_text(summary: dict) -> str:
    """A Keras-like plain-text summary of :func:`summarize`'s result."""
    head = ("#", "layer", "output", "params", "MACs", "memory", "RF", "jump", "start")
    lines = [head]
    for row in summary["layers"]:
        if row["error"]:
            lines.append(f"{row['index'] + 1}  {row['name'] or row['type'] or '?'}  ✗ {row['error']}")
            continue
        lines.append(
            (
                str(row["index"] + 1),
                row["name"],
                "×".join(map(str, _hwc(row["output_shape"]))),
                f"{row['params']:,}",
                f"{row['macs']:,}",
                _bytes_text(row["activation_bytes"]),
                _rf_text(row["rf_size"]),
                _rf_text(row["rf_jump"]),
                _rf_text(row["rf_start"]),
            )
        )
    t = summary["totals"]
    lines.append(("", "total", "", f"{t['params']:,}", f"{t['macs']:,}", _bytes_text(t["activation_bytes"]), "", "", ""))
    cells = [line for line in lines if isinstance(line, tuple)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
    out = [f"Input {'×'.join(map(str, _hwc(summary['input_shape'])))}"]
    for n, line in enumerate(lines):
        if isinstance(line, str):  # an invalid layer: its reason on one line
            out.append(line)
            continue
        out.append("  ".join(c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(line)).rstrip())
        if n == 0 or n == len(lines) - 2:
            out.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return "\n".join(out)


def _hwc(shape):
    """(C, H, W) → H×W×C as model summaries print it; flat shapes unchanged."""
    return [shape[1], shape[2], shape[0]] if len(shape) == 3 else list(shape)


def _rf_text(v) -> str:
    if isinstance(v, list):
        return "×".join(_num(x) for x in v)
    return _num(v)


def _num(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _bytes_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


# --------------------------------------------------------------------------- presets

CANONICAL = [
    {"type": "conv", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "pool", "kind": "max", "kernel": 2},
    {"type": "conv", "filters": 64, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "pool", "kind": "max", "kernel": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 10},
]


def _vgg16() -> list[dict]:
    layers = []
    for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        layers += [{"type": "conv", "filters": filters, "kernel": 3, "padding": 1, "activation": "relu"}] * repeats
        layers.append({"type": "pool", "kind": "max", "kernel": 2})
    return layers + [
        {"type": "flatten"},
        {"type": "dense", "units": 4096, "activation": "relu"},
        {"type": "dense", "units": 4096, "activation": "relu"},
        {"type": "dense", "units": 1000},
    ]


PRESETS: dict[str, dict] = {
    # The chapter's classifier (Keras: Conv2D(32, 3, relu, same) … Dense(10)).
    "canonical": {"input_shape": [1, 28, 28], "layers": CANONICAL},
    # LeCun et al. 1998: two 5×5 convs with 2×2 subsampling (average pooling here, ReLU for tanh),
    # C5 written as flatten + dense 120 (the same 48,120 weights).
    "lenet5": {
        "input_shape": [1, 32, 32],
        "layers": [
            {"type": "conv", "filters": 6, "kernel": 5, "activation": "relu"},
            {"type": "pool", "kind": "avg", "kernel": 2},
            {"type": "conv", "filters": 16, "kernel": 5, "activation": "relu"},
            {"type": "pool", "kind": "avg", "kernel": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 120, "activation": "relu"},
            {"type": "dense", "units": 84, "activation": "relu"},
            {"type": "dense", "units": 10},
        ],
    },
    # Krizhevsky et al. 2012 on a 227×227 input, without the two-GPU split (so conv 2, 4, 5
    # have twice the paper's weights); the geometry of TF-Slim's alexnet_v2.
    "alexnet": {
        "input_shape": [3, 227, 227],
        "layers": [
            {"type": "conv", "filters": 96, "kernel": 11, "stride": 4, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "conv", "filters": 256, "kernel": 5, "padding": 2, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "conv", "filters": 384, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "conv", "filters": 384, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "conv", "filters": 256, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 4096, "activation": "relu"},
            {"type": "dense", "units": 4096, "activation": "relu"},
            {"type": "dense", "units": 1000},
        ],
    },
    # Simonyan & Zisserman 2014, configuration D.
    "vgg16": {"input_shape": [3, 224, 224], "layers": _vgg16()},
}


# --------------------------------------------------------------------------- running a stack


def fit_image(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Centre-crop ``x`` (C, H, W) to the aspect ratio h:w, then resize it to h×w.

    Resampling is separable with a triangle filter widened by the scale factor when
    shrinking (so a photo reduced to 28×28 does not alias).
    """
    c, ih, iw = x.shape
    if ih * w > iw * h:  # too tall
        ch = max(1, round(iw * h / w))
        top = (ih - ch) // 2
        x = x[:, top : top + ch]
    elif ih * w < iw * h:
        cw = max(1, round(ih * w / h))
        left = (iw - cw) // 2
        x = x[:, :, left : left + cw]
    if x.shape[1:] == (h, w):
        return np.ascontiguousarray(x, dtype=np.float32)
    rh, rw = _resize_matrix(x.shape[1], h), _resize_matrix(x.shape[2], w)
    out = rh @ x.astype(np.float64) @ rw.T  # two matrix products, broadcast over channels
    return np.ascontiguousarray(out, dtype=np.float32)


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    scale = n_in / n_out
    support = max(1.0, scale)
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    taps = np.arange(n_in)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights


def match_channels(x: np.ndarray, c: int) -> np.ndarray:
    """Give a 1- or 3-channel image ``c`` channels: average to gray, then repeat."""
    if x.shape[0] == c:
        return x
    gray = x.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(np.repeat(gray, c, axis=0), dtype=np.float32)


# The chapter's hand-made edge kernels (section 36.7): Sobel x, Sobel y, Laplacian.
EDGE_KERNELS = np.array(
    [
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    ],
    dtype=np.float32,
)
EDGE_NAMES = ("Sobel x", "Sobel y", "Laplacian")


@dataclass
class Params:
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    note: str = ""


def widths(layers: Sequence[Layer], cap: int | None) -> list[Layer]:
    """The stack with conv filters and dense units capped at ``cap`` (None: as given)."""
    if cap is None:
        return list(layers)
    out = []
    for layer in layers:
        if layer.type == "conv":
            layer = replace(layer, filters=min(layer.filters, cap))
        elif layer.type == "dense":
            layer = replace(layer, units=min(layer.units, cap))
        out.append(layer)
    return out


def stack_macs(input_shape, layers: Sequence[Layer]) -> int:
    shape, total = tuple(input_shape), 0
    for i, layer in enumerate(layers):
        out = output_shape(layer, shape, i)
        total += layer_macs(layer, shape, out)
        shape = out
    return total


@dataclass(frozen=True)
class CappedStack:
    """A stack narrowed so that one forward pass fits a budget of multiply-adds."""

    input_shape: tuple[int, int, int]
    rows: list[Row]  # the stack as given, analysed
    layers: list[Layer]  # the stack as it runs
    cap: int  # at most this many filters per conv and units per dense layer
    macs: int  # multiply-adds of one forward pass of ``layers``

    @property
    def capped(self) -> bool:
        """Whether any layer runs narrower than it was given."""
        return any(a != b for a, b in zip(self.layers, (row.layer for row in self.rows)))


def cap_widths(input_shape, specs: Sequence[dict], max_channels: int, budget: int) -> CappedStack:
    """Analyse the stack (strictly) and cap its widths at ``max_channels``, halving the cap
    until a forward pass needs at most ``budget`` multiply-adds or the cap is down to 1.

    The maps on screen and the gradients then come from the same, narrower network.
    At a cap of 1 the stack may still be over budget: the caller compares ``macs``.
    """
    rows = analyse(input_shape, specs, strict=True)
    full = [row.layer for row in rows]
    cap = max_channels
    while True:
        layers = widths(full, cap)
        macs = stack_macs(input_shape, layers)
        if macs <= budget or cap == 1:
            return CappedStack(parse_input_shape(input_shape), rows, layers, cap, macs)
        cap = max(1, cap // 2)


def make_params(input_shape, layers: Sequence[Layer], weights: str = "random", seed: int = 0) -> list[Params]:
    """Weights for every layer: seeded He-normal ("random"), all ones ("ones"), or the
    chapter's edge kernels in the first conv's first filters ("edges", the rest random).

    Each layer draws from its own generator seeded by (seed, index), so editing one
    layer leaves the weights of the layers before it unchanged.
    """
    params, shape, first_conv = [], tuple(input_shape), True
    for i, layer in enumerate(layers):
        out = output_shape(layer, shape, i)
        rng = np.random.default_rng([seed, i])
        p = Params()
        if layer.type in ("conv", "dense"):
            if layer.type == "conv":
                wshape = (layer.filters, shape[0], *layer.kernel)
            else:
                wshape = (layer.units, shape[0])
            fan_in = math.prod(wshape[1:])
            if weights == "ones":
                p.weight = np.ones(wshape, np.float32)
            else:
                p.weight = (rng.standard_normal(wshape) * math.sqrt(2.0 / fan_in)).astype(np.float32)
            # A small positive bias keeps ReLUs on flat dark regions alive, so most units
            # have a non-zero gradient to show.
            p.bias = np.full(wshape[0], 0.0 if weights == "ones" else 0.05, np.float32)
            if weights == "edges" and layer.type == "conv" and first_conv:
                p.note = _put_edges(p.weight)
            if layer.type == "conv":
                first_conv = False
        params.append(p)
        shape = out
    return params


def _put_edges(w: np.ndarray) -> str:
    """Write Sobel x, Sobel y and the Laplacian into the first filters of ``w`` (in place)."""
    c_out, c_in, kh, kw = w.shape
    if kh < 3 or kw < 3:
        return "edge kernels need a kernel of at least 3×3: random weights instead"
    top, left = (kh - 3) // 2, (kw - 3) // 2
    n = min(c_out, len(EDGE_KERNELS))
    for f in range(n):
        w[f] = 0
        w[f, :, top : top + 3, left : left + 3] = EDGE_KERNELS[f] / c_in
    return f"filters 0–{n - 1}: {', '.join(EDGE_NAMES[:n])}; the rest random"


@dataclass
class Trace:
    """Everything a forward pass keeps for the backward pass."""

    inputs: list[np.ndarray]  # input of each layer
    pre: list[np.ndarray | None]  # pre-activation of conv/dense layers with a fused ReLU
    outputs: list[np.ndarray]


def forward(x: np.ndarray, layers: Sequence[Layer], params: Sequence[Params]) -> Trace:
    """Run the stack on ``x`` (C, H, W) with ConvLab's kernels; dense layers are a matrix product."""
    from app import kernels as K

    trace = Trace([], [], [])
    a = x
    for layer, p in zip(layers, params):
        trace.inputs.append(a)
        pre = None
        if layer.type == "conv":
            pad = layer.padding if isinstance(layer.padding, str) else layer.padding
            y = K.conv2d(a, p.weight, p.bias, layer.stride, pad, layer.dilation, layer.padding_mode)
        elif layer.type == "pool":
            y, _ = K.pool2d(a, layer.kind, layer.kernel, layer.stride, layer.padding)
        elif layer.type == "relu":
            y = K.relu(a)
        elif layer.type == "flatten":
            y = a.reshape(-1)
        else:
            y = (p.weight @ a + p.bias).astype(a.dtype)
        if layer.activation == "relu":
            pre = y
            y = K.relu(y)
        trace.pre.append(pre)
        trace.outputs.append(y)
        a = y
    return trace


@dataclass
class StackRun:
    """A capped stack run on an image: the input it saw, its weights and every layer's output."""

    stack: CappedStack
    x: np.ndarray  # (C, H, W) the image fitted to the stack's input shape
    params: list[Params]
    trace: Trace


def run_stack(stack: CappedStack, image: np.ndarray, weights: str = "random", seed: int = 0) -> StackRun:
    """Fit ``image`` (C, H, W) to the stack's input, make its weights and run it forward."""
    c, h, w = stack.input_shape
    x = match_channels(fit_image(image, h, w), c)
    params = make_params(stack.input_shape, stack.layers, weights, seed)
    return StackRun(stack, x, params, forward(x, stack.layers, params))


def backward(
    trace: Trace,
    layers: Sequence[Layer],
    params: Sequence[Params],
    upto: int,
    grad: np.ndarray,
    gates: str = "relu",
) -> np.ndarray:
    """Backpropagate ``grad`` (shaped like the output of layer ``upto``) to the input.

    ``gates="relu"`` is the true gradient; ``"linear"`` lets δ through every ReLU as if
    it were the identity (the ERF of the linear network, Luo et al. 2016). Uses
    ConvLab's backward passes: conv2d_backward (eq. 36.10), pool2d_backward, relu_backward.
    """
    from app import kernels as K

    g = grad
    for i in range(upto, -1, -1):
        layer, p, a = layers[i], params[i], trace.inputs[i]
        if layer.activation == "relu" and gates == "relu":
            g = K.relu_backward(trace.pre[i], g)
        if layer.type == "conv":
            g, _, _ = K.conv2d_backward(a, p.weight, g, layer.stride, layer.padding, layer.dilation, layer.padding_mode)
        elif layer.type == "pool":
            g = K.pool2d_backward(a, g, layer.kind, layer.kernel, layer.stride, layer.padding)
        elif layer.type == "relu":
            if gates == "relu":
                g = K.relu_backward(a, g)
        elif layer.type == "flatten":
            g = g.reshape(a.shape)
        else:
            g = (p.weight.T @ g).astype(a.dtype)
    return g


def unit_field(rows: Sequence[Row], layer_index: int, row: int, col: int, input_hw: Pair) -> dict:
    """The theoretical receptive field of unit (row, col) of a layer, in input pixels.

    ``top``/``left`` may be negative and ``bottom``/``right`` past the image: those
    cells are padding. ``inside`` is the part that lies in the image.
    """
    rf = rows[layer_index].rf
    size, jump, start = (_as_pair(rf[k]) for k in ("size", "jump", "start"))
    top = int(round(start[0] + row * jump[0] - (size[0] - 1) / 2))
    left = int(round(start[1] + col * jump[1] - (size[1] - 1) / 2))
    bottom, right = top + size[0], left + size[1]  # exclusive
    h, w = input_hw
    inside = (max(0, top), max(0, left), min(h, bottom), min(w, right))
    return {"top": top, "left": left, "height": size[0], "width": size[1], "inside": inside}


def _as_pair(v):
    return (v, v) if not isinstance(v, (tuple, list)) else tuple(v)


def mass_fraction(grad_mag: np.ndarray, box: tuple[int, int, int, int], share: float = 0.95) -> dict:
    """How concentrated the gradient is: the fewest pixels holding ``share`` of its mass.

    ``box`` = (top, left, bottom, right) is the in-image part of the theoretical field.
    Returns the pixel count, its fraction of the box, and the mass inside the box
    (1.0 in exact arithmetic: no gradient can leave the theoretical field).
    """
    total = float(grad_mag.sum())
    t, l, b, r = box
    area = max(0, b - t) * max(0, r - l)
    if total <= 0:
        return {"pixels": 0, "area": area, "fraction": 0.0, "inside": 0.0, "total": 0.0, "mask": None}
    flat = np.sort(grad_mag.ravel())[::-1]
    cum = np.cumsum(flat, dtype=np.float64)
    n = int(np.searchsorted(cum, share * cum[-1]) + 1)
    n = min(n, flat.size)
    threshold = flat[n - 1]
    inside = float(grad_mag[t:b, l:r].sum()) / total
    mask = grad_mag >= threshold
    return {
        "pixels": n,
        "area": area,
        "fraction": n / area if area else 0.0,
        "inside": inside,
        "total": total,
        "threshold": float(threshold),
        "mask": mask,
    }
