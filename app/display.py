"""Feature maps as colour-table indices, for an answer meant only to be looked at.

The Convolution lab colours each map through a 256-entry table. Instead of the
float32 values (4 bytes each) the server can send the table index the page
would compute (1 byte each); the page then paints without touching a float.
The rule is the page's (static/js/labs/conv/maps.js with
widgets/conv-grid-view.js), reproduced to the bit: per map, with ``lo``/``hi``
its float32 minimum and maximum,

- diverging: range [−m, m], m = max(|lo|, |hi|, 1e−6) (below 1e−6 the values
  are float32 rounding of an exact zero, not worth a colour);
- viridis or gray: range [lo, hi], or [lo, lo + 1] for a constant map;
- auto: diverging when the map has a negative value, viridis otherwise;

and index = clamp(floor((v − lo) · (255 / (hi − lo)) + 0.5), 0, 255), every
step in float64 as JavaScript does it (floor(t + 0.5) is Math.round). The one
pass over the values is a Numba loop compiled WITHOUT fastmath: a fused
multiply-add would round differently from the page.
"""
from __future__ import annotations

import numba
import numpy as np

DISPLAY_MODES = ("auto", "diverging", "viridis", "gray")
SIGNED_FLOOR = 1e-6


def map_for(mode: str, lo: float) -> str:
    """The colour map a display mode draws a map with minimum ``lo`` in."""
    if mode == "auto":
        return "diverging" if lo < 0 else "viridis"
    return mode


def range_for(map_name: str, lo: float, hi: float) -> tuple[float, float]:
    """The [low, high] a map's colours span (see the module docstring)."""
    if map_name == "diverging":
        m = max(abs(lo), abs(hi), SIGNED_FLOOR)
        return -m, m
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _indices(values, lo, scale, out):
    """out[i] = clamp(floor((values[i] − lo) · scale + 0.5), 0, 255), in float64; NaN → 0."""
    for i in range(values.size):
        t = np.floor((np.float64(values[i]) - lo) * scale + 0.5)
        if not t >= 0:  # negative, or NaN (JavaScript's `NaN | 0` is 0)
            out[i] = 0
        elif t > 255:
            out[i] = 255
        else:
            out[i] = np.uint8(t)


def colour_indices(y: np.ndarray, mode: str) -> dict:
    """uint8 table indices of (C, H, W) maps ``y`` under ``mode``, with each map's
    min, max, the range used and the map chosen (lists of C)."""
    if mode not in DISPLAY_MODES:
        raise ValueError(f"display: must be one of {', '.join(DISPLAY_MODES)}, got {mode!r}")
    if y.ndim != 3:
        raise ValueError(f"expected (C, H, W) maps, got shape {list(y.shape)}")
    c = y.shape[0]
    flat = np.ascontiguousarray(y).reshape(c, -1)
    out = np.empty(flat.shape, np.uint8)
    mins, maxs, ranges, maps = [], [], [], []
    for f in range(c):
        values = flat[f]
        lo_v = float(values.min()) if values.size else 0.0
        hi_v = float(values.max()) if values.size else 0.0
        name = map_for(mode, lo_v)
        lo, hi = range_for(name, lo_v, hi_v)
        if values.size:
            _indices(values, lo, 255.0 / (hi - lo), out[f])
        mins.append(lo_v)
        maxs.append(hi_v)
        ranges.append([lo, hi])
        maps.append(name)
    return {"index": out.reshape(y.shape), "min": mins, "max": maxs, "range": ranges, "map": maps}
