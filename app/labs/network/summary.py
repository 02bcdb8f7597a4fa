"""The model-summary table of a stack: per layer output shape, parameters,
multiply-adds and receptive field (size, jump, start), and its text rendering."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from app import arithmetic as ar
from app.errors import InvalidArgument

from .layers import (
    Layer,
    layer_macs,
    layer_params,
    output_shape,
    parse_input_shape,
    parse_layer,
)


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
        except InvalidArgument as exc:
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
                ar.format_bytes(row["activation_bytes"]),
                _rf_text(row["rf_size"]),
                _rf_text(row["rf_jump"]),
                _rf_text(row["rf_start"]),
            )
        )
    t = summary["totals"]
    lines.append(("", "total", "", f"{t['params']:,}", f"{t['macs']:,}", ar.format_bytes(t["activation_bytes"]), "", "", ""))
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
