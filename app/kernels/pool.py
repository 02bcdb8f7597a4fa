"""Max and average pooling (chapter eq. 36.7) and their backward passes.

PyTorch's conventions: padding at most half the window; max pooling pads with
−∞ (a padded cell never wins); average pooling counts padded zeros, so every
window divides by kh·kw; ties go to the first maximum in row-major order.
``argmax`` holds flat indices ``r*W + c`` into the unpadded H×W of each channel.
"""
from typing import NamedTuple

import numpy as np
from numba import prange

from .. import arithmetic
from ._checks import as_float_array, dims, pair
from ._jit import kernel
from app.errors import InvalidArgument

POOL_KINDS = ("max", "avg")


# --------------------------------------------------------------------------- kernels


@kernel(parallel=True)
def _max_pool(x, kh, kw, sh, sw, ph, pw, y, arg):
    """Eq. 36.7 with stride and −∞ padding; fills ``y`` and ``arg`` (C, H_out, W_out).

    One prange iteration owns one output row.  For each tap (a, b) only the
    columns j whose input column lies inside the image are visited, so the
    inner loop has no bounds test and no branch (selects only), and vectorises.
    """
    c_n, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    for t in prange(c_n * oh):
        c = t // oh
        i = t - c * oh
        best = y[c, i]
        where = arg[c, i]
        for j in range(ow):
            best[j] = -np.inf
            where[j] = -1
        for a in range(kh):
            r = i * sh - ph + a
            if r < 0 or r >= h:
                continue
            row = x[c, r]
            for b in range(kw):
                off = b - pw
                j_lo = max(0, (-off + sw - 1) // sw)
                j_hi = min(ow, (w - 1 - off) // sw + 1)
                base = r * w + off
                for j in range(j_lo, j_hi):
                    col = j * sw + off
                    v = row[col]
                    bj = best[j]
                    take = v > bj  # strict: ties keep the earlier cell
                    best[j] = v if take else bj
                    where[j] = base + j * sw if take else where[j]
        for j in range(ow):
            if where[j] < 0:  # every cell is −∞: report the first in-image cell, as PyTorch does
                where[j] = max(i * sh - ph, 0) * w + max(j * sw - pw, 0)


@kernel(parallel=True)
def _avg_pool(x, kh, kw, sh, sw, ph, pw, y):
    """Average over each kh×kw window, padded zeros included (divisor kh·kw)."""
    c_n, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    scale = 1.0 / (kh * kw)
    for t in prange(c_n * oh):
        c = t // oh
        i = t - c * oh
        acc = y[c, i]
        for j in range(ow):
            acc[j] = 0
        for a in range(kh):
            r = i * sh - ph + a
            if r < 0 or r >= h:
                continue
            row = x[c, r]
            for b in range(kw):
                off = b - pw
                j_lo = max(0, (-off + sw - 1) // sw)
                j_hi = min(ow, (w - 1 - off) // sw + 1)
                for j in range(j_lo, j_hi):
                    acc[j] += row[j * sw + off]
        for j in range(ow):
            acc[j] *= scale


@kernel()
def _max_pool_backward(arg, gy, gx):
    """Route each δ to its window's winner: ``gx[c].flat[arg[c, i, j]] += gy[c, i, j]``.

    gx (C, H*W) must arrive zeroed; one prange iteration owns a channel, so
    overlapping windows that share a winner accumulate without racing.
    """
    c_n, oh, ow = gy.shape
    for c in prange(c_n):
        dst = gx[c]
        for i in range(oh):
            src = gy[c, i]
            idx = arg[c, i]
            for j in range(ow):
                dst[idx[j]] += src[j]


@kernel()
def _avg_pool_backward(gy, kh, kw, sh, sw, ph, pw, gx):
    """Spread each δ evenly, δ/(kh·kw), over its window's in-image cells.

    gx (C, H, W) must arrive zeroed; one prange iteration owns a channel.
    """
    c_n, h, w = gx.shape
    oh, ow = gy.shape[1], gy.shape[2]
    scale = 1.0 / (kh * kw)
    for c in prange(c_n):
        for i in range(oh):
            src = gy[c, i]
            for a in range(kh):
                r = i * sh - ph + a
                if r < 0 or r >= h:
                    continue
                dst = gx[c, r]
                for b in range(kw):
                    off = b - pw
                    j_lo = max(0, (-off + sw - 1) // sw)
                    j_hi = min(ow, (w - 1 - off) // sw + 1)
                    for j in range(j_lo, j_hi):
                        dst[j * sw + off] += src[j] * scale


# --------------------------------------------------------------------------- geometry


class PoolGeometry(NamedTuple):
    kind: str
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    oh: int
    ow: int


def pool_geometry(x_shape, kind, kernel_size, stride, padding):
    """Check pooling arguments against an input of shape (C, H, W)."""
    if kind not in POOL_KINDS:
        raise InvalidArgument(f'kind must be "max" or "avg"; got {kind!r}')
    _, h, w = x_shape
    kh, kw = pair(kernel_size, "kernel_size", 1)
    sh, sw = pair(kernel_size if stride is None else stride, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    if 2 * ph > kh or 2 * pw > kw:
        raise InvalidArgument(f"padding {dims(ph, pw)} must be at most half the pool window {dims(kh, kw)}")
    hp, wp = h + 2 * ph, w + 2 * pw
    if kh > hp or kw > wp:
        raise InvalidArgument(f"pool window {dims(kh, kw)} is larger than the padded input {dims(hp, wp)}")
    oh, ow = arithmetic.pool_output_size(h, kh, sh, ph), arithmetic.pool_output_size(w, kw, sw, pw)
    return PoolGeometry(kind, kh, kw, sh, sw, ph, pw, oh, ow)


def _args(g):
    return g.kh, g.kw, g.sh, g.sw, g.ph, g.pw


# --------------------------------------------------------------------------- public API


def pool2d(x, kind="max", kernel_size=2, stride=None, padding=0):
    """Max or average pooling of each channel (eq. 36.7).

    Parameters
    ----------
    x : array (C, H, W)
    kind : "max" or "avg"
    kernel_size, stride, padding : int or (h, w); stride defaults to
        kernel_size; padding at most half the window

    Returns
    -------
    y : (C, H_out, W_out) in the dtype of ``x``, H_out = floor((H + 2p - k)/s) + 1
    argmax : int64 (C, H_out, W_out) flat index r*W + c of each window's
        maximum in the unpadded input, or None for average pooling
    """
    x = as_float_array(x, "x", 3)
    g = pool_geometry(x.shape, kind, kernel_size, stride, padding)
    y = np.empty((x.shape[0], g.oh, g.ow), dtype=x.dtype)
    if kind == "avg":
        _avg_pool(x, *_args(g), y)
        return y, None
    arg = np.empty(y.shape, dtype=np.int64)
    _max_pool(x, *_args(g), y, arg)
    return y, arg


def pool2d_backward(x, grad_output, kind="max", kernel_size=2, stride=None, padding=0):
    """Gradient of ``pool2d`` with respect to ``x`` for upstream δ = ``grad_output``.

    Max: each δ goes to its window's winner (windows that overlap and share a
    winner add up).  Average: each δ is spread evenly, δ/(kh·kw), over the
    window (the share of padded cells is dropped).

    Returns
    -------
    grad_input : (C, H, W) in the dtype of ``x``
    """
    x = as_float_array(x, "x", 3)
    g = pool_geometry(x.shape, kind, kernel_size, stride, padding)
    gy = as_float_array(grad_output, "grad_output", 3, x.dtype)
    c, h, w = x.shape
    if gy.shape != (c, g.oh, g.ow):
        raise InvalidArgument(f"grad_output has shape {tuple(gy.shape)}; the output of this pool2d is {(c, g.oh, g.ow)}")
    gx = np.zeros(x.shape, dtype=x.dtype)
    if kind == "avg":
        _avg_pool_backward(gy, *_args(g), gx)
        return gx
    y = np.empty(gy.shape, dtype=x.dtype)
    arg = np.empty(gy.shape, dtype=np.int64)
    _max_pool(x, *_args(g), y, arg)
    _max_pool_backward(arg, gy, gx.reshape(c, h * w))
    return gx
