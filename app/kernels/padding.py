"""Padding of a (C, H, W) map and its adjoint (the "fold back" of gradients).

A padded axis of length ``before + n + after`` is described by an index map:
padded coordinate -> source coordinate in ``0..n-1``, or -1 for a zero cell.
The maps are O(H + W) NumPy work; the O(C·H·W) copies are Numba kernels that
copy whole row slices and write only the border cells one by one (a branchy
per-pixel pad cost ~10× more, docs/PERFORMANCE.md §5).

Modes follow PyTorch: ``zeros``; ``reflect`` mirrors without repeating the edge
(``[c b | a b c d | c b]``, needs pad < n); ``replicate`` repeats the edge
(any pad); ``circular`` wraps around (needs pad <= n).
"""
import numpy as np
from numba import prange

from ._checks import as_float_array, dims
from ._jit import kernel
from app.errors import InvalidArgument

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def check_mode(padding_mode):
    if padding_mode not in PADDING_MODES:
        raise InvalidArgument(f"padding_mode must be one of {', '.join(PADDING_MODES)}; got {padding_mode!r}")


def check_pad_limits(h, w, pads, padding_mode, name="padding"):
    """Raise if ``pads`` = (top, bottom, left, right) breaks the mode's limit on an h×w input."""
    check_mode(padding_mode)
    top, bottom, left, right = pads
    if min(pads) < 0:
        raise InvalidArgument(f"{name} must be non-negative, got (top, bottom, left, right) = {tuple(pads)}")
    if padding_mode == "reflect":
        if max(top, bottom) >= h or max(left, right) >= w:
            raise InvalidArgument(
                f"reflect {name} must be smaller than the input on each axis: "
                f"padding {max(top, bottom)}×{max(left, right)} on an input of {dims(h, w)}"
            )
    elif padding_mode == "circular":
        if max(top, bottom) > h or max(left, right) > w:
            raise InvalidArgument(
                f"circular {name} must be at most the input size on each axis: "
                f"padding {max(top, bottom)}×{max(left, right)} on an input of {dims(h, w)}"
            )


def axis_index(n, before, after, mode):
    """Index map of one padded axis: int64 array of length ``before + n + after``.

    Entry ``t`` is the source coordinate copied into padded cell ``t``, or -1 for
    a zero cell.  Assumes the mode's limit on the pad has been checked.
    """
    t = np.arange(-before, n + after, dtype=np.int64)
    if mode == "zeros":
        return np.where((t >= 0) & (t < n), t, -1)
    if mode == "replicate":
        return np.clip(t, 0, n - 1)
    if mode == "circular":
        return t % n
    # reflect: one mirror on each side suffices because pad < n.
    t = np.abs(t)
    return np.where(t >= n, 2 * (n - 1) - t, t)


@kernel(parallel=True)
def _pad(x, rows, cols, left, xp):
    """Fill ``xp`` (C, Hp, Wp) from ``x`` (C, H, W) through the index maps.

    ``xp[c, r, k] = x[c, rows[r], cols[k]]`` (0 where an index is -1); the
    centre ``xp[c, r, left:left+W]`` is one contiguous row copy.
    """
    c_n, h_p, w_p = xp.shape
    w = x.shape[2]
    for t in prange(c_n * h_p):
        c = t // h_p
        r = t - c * h_p
        out = xp[c, r]
        src = rows[r]
        if src < 0:
            for k in range(w_p):
                out[k] = 0
            continue
        row = x[c, src]
        mid = out[left:left + w]
        for j in range(w):
            mid[j] = row[j]
        for k in range(left):
            q = cols[k]
            out[k] = row[q] if q >= 0 else 0
        for k in range(left + w, w_p):
            q = cols[k]
            out[k] = row[q] if q >= 0 else 0


@kernel()
def _fold(gp, rows, cols, left, g):
    """Adjoint of ``_pad``: ``g[c, rows[r], cols[k]] += gp[c, r, k]``; ``g`` is overwritten.

    Each prange iteration owns one channel ``g[c]``, so the scatter-adds
    (several padded cells copy the same pixel) cannot race.
    """
    c_n, h_p, w_p = gp.shape
    h, w = g.shape[1], g.shape[2]
    for c in prange(c_n):
        for r in range(h):
            dst = g[c, r]
            for j in range(w):
                dst[j] = 0
        for r in range(h_p):
            src_r = rows[r]
            if src_r < 0:
                continue
            src = gp[c, r]
            dst = g[c, src_r]
            mid = src[left:left + w]
            for j in range(w):
                dst[j] += mid[j]
            for k in range(left):
                q = cols[k]
                if q >= 0:
                    dst[q] += src[k]
            for k in range(left + w, w_p):
                q = cols[k]
                if q >= 0:
                    dst[q] += src[k]


@kernel(parallel=True)
def _pad_planes(x, rowmap, colmap, q_lo, q_hi, sw, left, planes):
    """Pad and phase-split in one pass: ``planes[c, p, r, q] = xp[c, r*s_h + p_h, q*s_w + p_w]``.

    rowmap (s_h, Hq) and colmap (s_w, Wq) give the source row/column of each
    plane cell or -1 for a zero cell (padding of mode "zeros", or beyond the
    padded extent).  On plane column phase ``p_w`` the cells ``q_lo[p_w] <= q <
    q_hi[p_w]`` read the input row directly at ``q*s_w + p_w - left``; only the
    few border cells go through ``colmap``.  One prange iteration owns one plane row.
    """
    c_n, n_planes, hq, wq = planes.shape
    for t in prange(c_n * n_planes * hq):
        c = t // (n_planes * hq)
        rem = t - c * n_planes * hq
        p = rem // hq
        r = rem - p * hq
        ph = p // sw
        pw = p - ph * sw
        out = planes[c, p, r]
        src = rowmap[ph, r]
        if src < 0:
            for q in range(wq):
                out[q] = 0
            continue
        row = x[c, src]
        cm = colmap[pw]
        lo = q_lo[pw]
        hi = q_hi[pw]
        for q in range(lo):
            k = cm[q]
            out[q] = row[k] if k >= 0 else 0
        if hi > lo:
            # Row views indexed by the bare loop variable: no wraparound checks (docs/PERFORMANCE.md §2).
            start = lo * sw + pw - left
            dst = out[lo:hi]
            src = row[start:start + (hi - lo - 1) * sw + 1:sw]
            for m in range(hi - lo):
                dst[m] = src[m]
        for q in range(hi, wq):
            k = cm[q]
            out[q] = row[k] if k >= 0 else 0


def pad_planes(x, pads, mode, stride):
    """``to_planes(pad_contiguous(x, pads, mode), stride)`` in one parallel pass (no padded copy).

    Returns (C, s_h*s_w, ceil(Hp/s_h), ceil(Wp/s_w)); cells beyond the padded
    extent are zero.
    """
    sh, sw = stride
    top, bottom, left, right = pads
    c, h, w = x.shape
    hp, wp = h + top + bottom, w + left + right
    if sh == sw == 1:
        xp = pad_contiguous(x, pads, mode)
        return xp.reshape(c, 1, hp, wp)
    hq, wq = -(-hp // sh), -(-wp // sw)
    rows = np.full(hq * sh, -1, np.int64)
    rows[:hp] = axis_index(h, top, bottom, mode)
    cols = np.full(wq * sw, -1, np.int64)
    cols[:wp] = axis_index(w, left, right, mode)
    phases = np.arange(sw)
    # q*sw + pw in [left, left + w)  <=>  q in [ceil((left - pw)/sw), ceil((left + w - pw)/sw))
    q_lo = np.clip(-((phases - left) // sw), 0, wq)
    q_hi = np.clip(-((phases - left - w) // sw), 0, wq)
    planes = np.empty((c, sh * sw, hq, wq), dtype=x.dtype)
    _pad_planes(
        x,
        np.ascontiguousarray(rows.reshape(hq, sh).T),
        np.ascontiguousarray(cols.reshape(wq, sw).T),
        q_lo.astype(np.int64),
        np.maximum(q_hi, q_lo).astype(np.int64),
        sw,
        left,
        planes,
    )
    return planes


def pad_contiguous(x, pads, mode):
    """Pad a validated C-contiguous (C, H, W) array; no checks."""
    top, bottom, left, right = pads
    c, h, w = x.shape
    if top == bottom == left == right == 0:
        return x
    xp = np.empty((c, h + top + bottom, w + left + right), dtype=x.dtype)
    _pad(x, axis_index(h, top, bottom, mode), axis_index(w, left, right, mode), left, xp)
    return xp


def fold_contiguous(gp, pads, mode):
    """Adjoint of ``pad_contiguous`` on a C-contiguous padded gradient; no checks."""
    top, bottom, left, right = pads
    c, h_p, w_p = gp.shape
    if top == bottom == left == right == 0:
        return gp
    h, w = h_p - top - bottom, w_p - left - right
    g = np.empty((c, h, w), dtype=gp.dtype)
    _fold(gp, axis_index(h, top, bottom, mode), axis_index(w, left, right, mode), left, g)
    return g


def _four(padding):
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        return (int(padding),) * 4
    p = tuple(int(v) for v in padding)
    if len(p) == 2:
        return (p[0], p[0], p[1], p[1])
    if len(p) == 4:
        return p
    raise InvalidArgument(f"padding must be an int, (h, w) or (top, bottom, left, right); got {padding!r}")


def pad2d(x, padding, mode="zeros"):
    """Pad a (C, H, W) map the way ``conv2d`` sees it.

    Parameters
    ----------
    x : array (C, H, W)
    padding : int, (h, w) or (top, bottom, left, right)
    mode : "zeros", "reflect", "replicate" or "circular"

    Returns
    -------
    (C, H + top + bottom, W + left + right) array in the dtype of ``x``.
    """
    x = as_float_array(x, "x", 3)
    pads = _four(padding)
    check_pad_limits(x.shape[1], x.shape[2], pads, mode)
    out = pad_contiguous(x, pads, mode)
    return out.copy() if out is x else out


def pad2d_backward(grad_padded, padding, mode="zeros"):
    """Adjoint of ``pad2d``: fold the gradient of every padded cell onto the pixel it copies.

    Parameters
    ----------
    grad_padded : array (C, Hp, Wp), the gradient with respect to the padded map
    padding, mode : as given to ``pad2d``

    Returns
    -------
    (C, Hp - top - bottom, Wp - left - right) array: zero-padding cells are
    dropped; reflect/replicate/circular cells add onto their source pixel.
    """
    gp = as_float_array(grad_padded, "grad_padded", 3)
    pads = _four(padding)
    h, w = gp.shape[1] - pads[0] - pads[1], gp.shape[2] - pads[2] - pads[3]
    if h < 1 or w < 1:
        raise InvalidArgument(f"padding {tuple(pads)} leaves no input inside grad_padded of {dims(*gp.shape[1:])}")
    check_pad_limits(h, w, pads, mode)
    out = fold_contiguous(gp, pads, mode)
    return out.copy() if out is gp else out
