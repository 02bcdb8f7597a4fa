"""Translation equivariance of convolution, measured on the user's image.

Convolution commutes with shifting: conv(shift(x)) = shift(conv(x)).  On a finite
image that holds exactly only where neither side sees the border, unless the
image is treated as a torus: with circular padding and a circular shift (a roll)
it holds on the whole map, to the last bit, because both sides add the same
products in the same order.  A stride s subsamples the output, so an input shift
d becomes an output shift d/s: only shifts that are multiples of s survive.
Max pooling after the convolution is (partly) *invariant*: a shift smaller than
the pooling window often leaves the window's maximum in place.

Pure NumPy plus ``app.kernels``; the HTTP layer is ``app/api/equivariance.py``.
"""
from __future__ import annotations

import numpy as np

from app.kernels import conv2d, pool2d
from app.errors import InvalidArgument


def shift(x, dy: int, dx: int, circular: bool):
    """Move the content of x (..., H, W) down by dy and right by dx.

    ``circular``: what leaves one side comes back on the other (``np.roll``);
    otherwise the vacated rows/columns are zero and what leaves is lost.
    """
    if circular:
        return np.roll(x, (dy, dx), axis=(-2, -1))
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out


def output_shift(d: int, s: int) -> int:
    """The output shift that goes with an input shift d under stride s (nearest, halves away from 0)."""
    q = (abs(d) + s // 2) // s
    return q if d >= 0 else -q


def _interior_axis(n, n_out, k, s, p, dil, d, od):
    """Output indices i whose window, in both pipelines, reads only real, unmoved-in pixels.

    Along one axis: input length n, output length n_out, kernel k, stride s,
    leading padding p, dilation dil, input shift d, output shift od.
    """
    i = np.arange(n_out)
    lo = i * s - p                      # first input row read by output i of conv(shift(x))
    hi = lo + (k - 1) * dil
    j = i - od                          # the output of conv(x) that shift(conv(x)) puts at i
    lo2 = j * s - p
    hi2 = lo2 + (k - 1) * dil
    return (lo >= max(0, d)) & (hi < n + min(0, d)) & (j >= 0) & (j < n_out) & (lo2 >= 0) & (hi2 < n)


def compare(x, kernel, dy=0, dx=0, stride=1, padding=1, padding_mode="zeros", dilation=1, pool=0):
    """conv(shift(x)) against shift(conv(x)) for one kernel on every channel of x.

    Parameters
    ----------
    x : array (C, H, W); the kernel is applied to the channel mean (weight kernel/C on each channel)
    kernel : array (kh, kw)
    dy, dx : input shift in pixels (down, right)
    stride, padding, dilation : int or (h, w), as for ``conv2d``
    padding_mode : as for ``conv2d``; "circular" also makes the shift circular
    pool : max-pooling window (and stride) for the invariance demo; 0 = off

    Returns
    -------
    dict with arrays ``conv_shift``, ``shift_conv``, ``diff`` (H_out, W_out),
    ``interior`` (bool mask), ``shifted_input`` (C, H', W'), and numbers
    ``max_interior``, ``max_whole``, ``output_shift`` (oy, ox), ``exact_shift``
    (the shift is a multiple of the stride), ``cropped`` (H, W) when the input
    was cut to a multiple of the stride, plus ``pool`` results when asked.
    """
    x = np.asarray(x)
    kernel = np.asarray(kernel, dtype=x.dtype)
    if kernel.ndim != 2:
        raise InvalidArgument(f"kernel must be 2-dimensional (kh, kw); got shape {tuple(kernel.shape)}")
    c = x.shape[0]
    sy, sx = (stride, stride) if np.isscalar(stride) else tuple(stride)
    py, px = (padding, padding) if np.isscalar(padding) else tuple(padding)
    ddy, ddx = (dilation, dilation) if np.isscalar(dilation) else tuple(dilation)
    circular = padding_mode == "circular"
    h0, w0 = x.shape[1:]
    # A roll by a multiple of the stride lines the output grid up only if the stride
    # divides the image; cut the last rows/columns so it does.
    h, w = h0 - h0 % sy, w0 - w0 % sx
    if (h, w) != (h0, w0):
        x = x[:, :h, :w]
    weight = np.broadcast_to(kernel / c, (1, c) + kernel.shape)
    conv = lambda img: conv2d(img, weight, None, (sy, sx), (py, px), (ddy, ddx), padding_mode)[0]  # noqa: E731

    y = conv(x)
    xs = shift(x, dy, dx, circular)
    conv_shift = conv(xs)
    oy, ox = output_shift(dy, sy), output_shift(dx, sx)
    shift_conv = shift(y, oy, ox, circular)
    diff = conv_shift - shift_conv
    kh, kw = kernel.shape
    interior = np.outer(
        _interior_axis(h, y.shape[0], kh, sy, py, ddy, dy, oy),
        _interior_axis(w, y.shape[1], kw, sx, px, ddx, dx, ox),
    )
    result = {
        "shifted_input": xs,
        "conv_shift": conv_shift,
        "shift_conv": shift_conv,
        "diff": diff,
        "interior": interior,
        "max_whole": float(np.abs(diff).max()),
        "max_interior": float(np.abs(diff[interior]).max()) if interior.any() else None,
        "interior_cells": int(interior.sum()),
        "output_shift": (oy, ox),
        "exact_shift": dy % sy == 0 and dx % sx == 0,
        "cropped": (h, w) if (h, w) != (h0, w0) else None,
        "scale": float(np.abs(y).max()),
    }
    if pool:
        result["pool"] = pool_invariance(y, conv_shift, pool)
    return result


def pool_invariance(y, y_shifted, k: int):
    """How much of a k×k max-pooled map survives a small input shift (compared in place, not shifted back).

    Returns pooled maps of both, and the fraction of cells that did not change,
    before pooling (``unchanged_before``) and after (``unchanged_after``).
    """
    a, _ = pool2d(y[None], "max", k)
    b, _ = pool2d(y_shifted[None], "max", k)
    tol = 1e-6 * max(1.0, float(np.abs(y).max()))
    same_after = np.abs(a[0] - b[0]) <= tol
    # Compare the unpooled maps over the same area the pooled cells cover.
    hh, ww = a.shape[1] * k, a.shape[2] * k
    same_before = np.abs(y[:hh, :ww] - y_shifted[:hh, :ww]) <= tol
    return {
        "pooled": a[0],
        "pooled_shifted": b[0],
        "unchanged": same_after,
        "unchanged_after": float(same_after.mean()),
        "unchanged_before": float(same_before.mean()),
        "window": k,
    }


def stride_sweep(x, kernel, axis_shifts, stride=2, padding=1, padding_mode="zeros", dilation=1):
    """Max |conv(shift x) − shift(conv x)| (interior and whole) for horizontal shifts ``axis_shifts``.

    Shows that only multiples of the stride keep equivariance.
    """
    rows = []
    for d in axis_shifts:
        r = compare(x, kernel, 0, d, stride, padding, padding_mode, dilation)
        rows.append({"dx": int(d), "max_interior": r["max_interior"], "max_whole": r["max_whole"],
                     "exact_shift": r["exact_shift"]})
    return rows
