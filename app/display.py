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
from app.errors import InvalidArgument

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


# Values per parallel task: a few hundred KB of float32, enough to amortise the task.
_CHUNK = 1 << 16


@numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _indices(values, lo, scale, out):
    """out[f, i] = clamp(floor((values[f, i] − lo[f]) · scale[f] + 0.5), 0, 255) in float64; NaN → 0.

    Parallel over (map, chunk) tasks, each owning its slice of ``out``. The clamp is two
    selects rather than branches so LLVM vectorises the row (about 2× faster than the
    branchy form, same results: ``t >= 0`` is false for NaN, as JavaScript's ``NaN | 0`` is 0).
    """
    c, n = values.shape
    per_map = (n + _CHUNK - 1) // _CHUNK
    for task in numba.prange(c * per_map):
        f = task // per_map
        start = (task % per_map) * _CHUNK
        row = values[f, start : min(start + _CHUNK, n)]
        dst = out[f, start : min(start + _CHUNK, n)]
        low, s = lo[f], scale[f]
        for i in range(row.size):
            t = np.floor((np.float64(row[i]) - low) * s + 0.5)
            t = t if t >= 0.0 else 0.0
            t = t if t <= 255.0 else 255.0
            dst[i] = np.uint8(t)


def colour_indices(y: np.ndarray, mode: str) -> dict:
    """uint8 table indices of (C, H, W) maps ``y`` under ``mode``, with each map's
    min, max, the range used and the map chosen (lists of C)."""
    if mode not in DISPLAY_MODES:
        raise InvalidArgument(f"display: must be one of {', '.join(DISPLAY_MODES)}, got {mode!r}")
    if y.ndim != 3:
        raise InvalidArgument(f"expected (C, H, W) maps, got shape {list(y.shape)}")
    c = y.shape[0]
    flat = np.ascontiguousarray(y).reshape(c, -1)
    out = np.empty(flat.shape, np.uint8)
    if flat.shape[1] == 0:
        return {"index": out.reshape(y.shape), "min": [0.0] * c, "max": [0.0] * c,
                "range": [list(range_for(map_for(mode, 0.0), 0.0, 0.0)) for _ in range(c)],
                "map": [map_for(mode, 0.0)] * c}
    mins = [float(v) for v in flat.min(axis=1)]
    maxs = [float(v) for v in flat.max(axis=1)]
    maps = [map_for(mode, lo) for lo in mins]
    ranges = [list(range_for(name, lo, hi)) for name, lo, hi in zip(maps, mins, maxs)]
    low = np.array([r[0] for r in ranges], np.float64)
    scale = np.array([255.0 / (r[1] - r[0]) for r in ranges], np.float64)
    _indices(flat, low, scale, out)
    return {"index": out.reshape(y.shape), "min": mins, "max": maxs, "range": ranges, "map": maps}
