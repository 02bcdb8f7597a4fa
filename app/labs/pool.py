"""Compute behind the Pooling lab: the pooling-invariance experiment (shift the input
by less than a window and count which pooled outputs stay the same).

NumPy + app.kernels only; no web code.
"""
from __future__ import annotations

import numpy as np

from app.kernels import pool2d
from app.errors import InvalidArgument


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content of (C, H, W) down by dy and right by dx pixels (≥ 0); the
    uncovered rows/columns repeat the edge, what leaves the frame is lost."""
    c, h, w = x.shape
    rows = np.clip(np.arange(h) - dy, 0, h - 1)
    cols = np.clip(np.arange(w) - dx, 0, w - 1)
    return x[:, rows][:, :, cols]


def pool_invariance(x, kind="max", kernel_size=2, stride=None, padding=0, axis="x"):
    """Shift the input by 0 … window−1 pixels and count which pooled outputs stay the same.

    Parameters
    ----------
    x : (C, H, W); kind, kernel_size, stride, padding : as for ``app.kernels.pool2d``
    axis : "x" (shift right), "y" (down) or "xy" (diagonally)

    Returns
    -------
    dict with ``shifts`` (list of ints), ``unchanged`` (fraction of pooled outputs
    equal to the unshifted ones, per shift), ``pixels_unchanged`` (the same
    fraction for the raw input pixels, the baseline), ``tolerance``, and arrays
    ``pooled`` (S, C, H_out, W_out) and ``changed`` (S, C, H_out, W_out; 1 where
    the output moved).
    """
    if axis not in ("x", "y", "xy"):
        raise InvalidArgument(f'axis must be "x", "y" or "xy"; got {axis!r}')
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    n = {"x": kw, "y": kh, "xy": min(kh, kw)}[axis]
    base, _ = pool2d(x, kind, kernel_size, stride, padding)
    span = float(np.max(np.abs(x))) if x.size else 0.0
    tol = 1e-6 * max(1.0, span)  # average pooling may round differently after a shift
    shifts = list(range(n))
    pooled = np.empty((n, *base.shape), dtype=base.dtype)
    changed = np.empty((n, *base.shape), dtype=np.int32)
    unchanged, pixels_unchanged = [], []
    for s in shifts:
        dy, dx = (0 if axis == "x" else s), (0 if axis == "y" else s)
        xs = shift(x, dy, dx)
        y, _ = pool2d(xs, kind, kernel_size, stride, padding)
        pooled[s] = y
        changed[s] = np.abs(y - base) > tol
        unchanged.append(float(1.0 - changed[s].mean()))
        pixels_unchanged.append(float(np.mean(np.abs(xs - x) <= tol)))
    return {
        "shifts": shifts,
        "unchanged": unchanged,
        "pixels_unchanged": pixels_unchanged,
        "tolerance": tol,
        "pooled": pooled,
        "changed": changed,
    }
