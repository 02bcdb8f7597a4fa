"""2-D convolution (cross-correlation) and its backward pass.

Forward (chapter eq. 36.3, with stride ``s``, dilation ``d`` and padding)::

    y[o, i, j] = b[o] + sum_{c in group(o)} sum_{a, b'} w[o, c, a, b'] * xp[c, i*s_h + a*d_h, j*s_w + b'*d_w]

where ``xp`` is the padded input.  Backward: the weight gradient is the
correlation of the padded input with the upstream gradient δ (eq. 36.9); the
input gradient is the full convolution of δ with the flipped kernel (eq. 36.10),
computed here as a gather so each parallel iteration owns the rows it writes,
then folded back through the padding (reflect/replicate/circular cells add onto
the pixel they copy).

Layout trick shared by all three kernels.  A stride-``s`` convolution reads
``xp`` at rows ``i*s + a*d``.  Splitting ``xp`` into ``s_h*s_w`` phase planes,
``planes[c, p_h*s_w + p_w, r, q] = xp[c, r*s_h + p_h, q*s_w + p_w]``, turns
every tap (a, b') into a *contiguous* run of one plane::

    xp[c, i*s_h + a*d_h, j*s_w + b'*d_w] = planes[c, tap_plane, i + tap_row, j + tap_col]

with ``tap_plane``, ``tap_row``, ``tap_col`` from ``_taps``.  Stride 1 needs no
copy (one plane = ``xp``).  Inner loops then run over a 1-D row view indexed by
the bare loop variable, which LLVM vectorises (docs/PERFORMANCE.md §2).
"""
import functools
from typing import NamedTuple

import numpy as np
from numba import prange

from .. import arithmetic
from ._checks import as_float_array, dims, pair
from . import _fused, batch_blocked
from ._jit import kernel
from .blocked import (
    conv_forward_blocked_split,
    conv_grad_weight_blocked,
    fits as blocked_fits,
    fits_grad_weight as blocked_fits_grad_weight,
)
from .padding import check_pad_limits, fold_contiguous, pad_planes
from app.errors import InvalidArgument


# --------------------------------------------------------------------------- kernels


@kernel(parallel=True)
def _conv_forward(planes, w, b, tap_plane, tap_row, tap_col, groups, y):
    """Eq. 36.3 over phase planes; fills ``y``.

    planes (C_in, S, Hq, Wq); w (C_out, C_in/groups, T) with T = kh*kw taps;
    b (C_out,); tap_* (T,) int64; y (C_out, H_out, W_out).  One prange
    iteration owns one output row ``y[o, i]``.
    """
    c_out, oh, ow = y.shape
    cin_g = w.shape[1]
    cout_g = c_out // groups
    n_taps = tap_plane.shape[0]
    for t in prange(c_out * oh):
        o = t // oh
        i = t - o * oh
        c0 = (o // cout_g) * cin_g
        acc = y[o, i]
        bias = b[o]
        for j in range(ow):
            acc[j] = bias
        for cg in range(cin_g):
            for k in range(n_taps):
                wv = w[o, cg, k]
                q = tap_col[k]
                src = planes[c0 + cg, tap_plane[k], i + tap_row[k], q:q + ow]
                for j in range(ow):
                    acc[j] += wv * src[j]


@kernel(parallel=True, reduce=True)
def _conv_grad_weight(planes, gy, tap_plane, tap_row, tap_col, groups, gw):
    """Eq. 36.9: ``gw[o, c, k] = sum_{i,j} gy[o, i, j] * planes[c, tap k at (i, j)]``.

    gw (C_out, C_in/groups, T) must arrive zeroed; one prange iteration owns
    ``gw[o, c]``.
    """
    c_out, oh, ow = gy.shape
    cin_g = gw.shape[1]
    cout_g = c_out // groups
    n_taps = tap_plane.shape[0]
    for t in prange(c_out * cin_g):
        o = t // cin_g
        cg = t - o * cin_g
        c = (o // cout_g) * cin_g + cg
        for k in range(n_taps):
            s = gw[o, cg, k]
            q = tap_col[k]
            for i in range(oh):
                src = planes[c, tap_plane[k], i + tap_row[k], q:q + ow]
                g = gy[o, i]
                for j in range(ow):
                    s += g[j] * src[j]
            gw[o, cg, k] = s


@kernel(parallel=True)
def _conv_grad_planes(gy, w, tap_plane, tap_row, tap_col, groups, gp):
    """Eq. 36.10 as a gather: gradient with respect to the phase planes.

    ``gp[c, p, r, q + j] += w[o, c, k] * gy[o, r - tap_row[k], j]`` over every
    output channel ``o`` of c's group and every tap ``k`` on plane ``p``.
    gp (C_in, S, Hq, Wq) must arrive zeroed; one prange iteration owns one
    plane row ``gp[c, p, r]``, so overlapping windows never race.
    """
    c_in, n_planes, hq, wq = gp.shape
    c_out, oh, ow = gy.shape
    cin_g = w.shape[1]
    cout_g = c_out // groups
    n_taps = tap_plane.shape[0]
    for t in prange(c_in * n_planes * hq):
        c = t // (n_planes * hq)
        rem = t - c * n_planes * hq
        p = rem // hq
        r = rem - p * hq
        grp = c // cin_g
        cg = c - grp * cin_g
        out = gp[c, p, r]
        for k in range(n_taps):
            if tap_plane[k] != p:
                continue
            i = r - tap_row[k]
            if i < 0 or i >= oh:
                continue
            q = tap_col[k]
            dst = out[q:q + ow]
            for o in range(grp * cout_g, (grp + 1) * cout_g):
                wv = w[o, cg, k]
                src = gy[o, i]
                for j in range(ow):
                    dst[j] += wv * src[j]


# --------------------------------------------------------------------------- geometry


class ConvGeometry(NamedTuple):
    """Validated shapes and index maps of one convolution."""

    c_in: int
    c_out: int
    h: int
    w: int
    kh: int
    kw: int
    stride: tuple
    dilation: tuple
    pads: tuple  # (top, bottom, left, right)
    padding_mode: str
    groups: int
    oh: int
    ow: int
    tap_plane: np.ndarray
    tap_row: np.ndarray
    tap_col: np.ndarray


def resolve_padding(padding, kh, kw, stride, dilation):
    """Padding as (top, bottom, left, right) from an int, an (h, w) pair, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise InvalidArgument(f'padding="same" needs stride 1, got stride {dims(*stride)}')
            # PyTorch's rule (app.arithmetic): an odd total puts the extra row/column at the bottom/right.
            return arithmetic.same_padding(kh, dilation[0]) + arithmetic.same_padding(kw, dilation[1])
        raise InvalidArgument(f'padding must be an int, an (h, w) pair, "valid" or "same"; got {padding!r}')
    ph, pw = pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


def conv_geometry(x_shape, w_shape, stride, padding, dilation, padding_mode, groups):
    """Check a convolution's arguments and return its ``ConvGeometry``.

    x_shape (C_in, H, W); w_shape (C_out, C_in/groups, kh, kw).
    """
    c_in, h, w = x_shape
    c_out, cin_g, kh, kw = w_shape
    stride = pair(stride, "stride", 1)
    dilation = pair(dilation, "dilation", 1)
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise InvalidArgument(f"groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    if c_in % groups or c_out % groups:
        raise InvalidArgument(
            f"groups={groups} must divide both the input channels ({c_in}) and the output channels ({c_out})"
        )
    if cin_g * groups != c_in:
        if groups == 1:
            raise InvalidArgument(f"weight expects {cin_g} input channels but x has {c_in}")
        raise InvalidArgument(
            f"weight expects {cin_g} input channels per group (× groups={groups} = {cin_g * groups}) but x has {c_in}"
        )
    pads = resolve_padding(padding, kh, kw, stride, dilation)
    check_pad_limits(h, w, pads, padding_mode)
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp:
        kind = "dilated kernel" if dilation != (1, 1) else "kernel"
        raise InvalidArgument(f"{kind} {dims(eh, ew)} is larger than the padded input {dims(hp, wp)}")
    oh = arithmetic.conv_output_size_padded(h, kh, stride[0], pads[0] + pads[1], dilation[0])  # eq. 36.4
    ow = arithmetic.conv_output_size_padded(w, kw, stride[1], pads[2] + pads[3], dilation[1])
    tp, tr, tc = _taps(kh, kw, stride, dilation)
    return ConvGeometry(c_in, c_out, h, w, kh, kw, stride, dilation, pads, padding_mode, groups, oh, ow, tp, tr, tc)


@functools.lru_cache(maxsize=256)
def _taps(kh, kw, stride, dilation):
    """Plane, row offset and column offset of each tap (a, b') in row-major order.

    Cached (~18 µs of NumPy calls per conv2d otherwise); the arrays are only read.
    """
    (sh, sw), (dh, dw) = stride, dilation
    a = np.arange(kh, dtype=np.int64) * dh
    b = np.arange(kw, dtype=np.int64) * dw
    plane = ((a % sh)[:, None] * sw + (b % sw)[None, :]).ravel()
    row = np.repeat(a // sh, kw)
    col = np.tile(b // sw, kh)
    return plane, row, col


def to_planes(xp, stride):
    """Phase planes (C, s_h*s_w, ceil(Hp/s_h), ceil(Wp/s_w)) of a padded map."""
    sh, sw = stride
    c, hp, wp = xp.shape
    if sh == sw == 1:
        return xp.reshape(c, 1, hp, wp)
    planes = np.zeros((c, sh * sw, -(-hp // sh), -(-wp // sw)), dtype=xp.dtype)
    for ph in range(sh):
        for pw in range(sw):
            src = xp[:, ph::sh, pw::sw]
            planes[:, ph * sw + pw, : src.shape[1], : src.shape[2]] = src
    return planes


def from_planes(planes, hp, wp, stride):
    """Inverse of ``to_planes`` (each padded cell lies on exactly one plane)."""
    sh, sw = stride
    c = planes.shape[0]
    if sh == sw == 1:
        return planes.reshape(c, hp, wp)
    xp = np.empty((c, hp, wp), dtype=planes.dtype)
    for ph in range(sh):
        for pw in range(sw):
            dst = xp[:, ph::sh, pw::sw]
            dst[...] = planes[:, ph * sw + pw, : dst.shape[1], : dst.shape[2]]
    return xp


def _weight_bias(weight, bias, dtype, c_out=None):
    w = as_float_array(weight, "weight", 4, dtype)
    if bias is None:
        b = np.zeros(w.shape[0], dtype=dtype)
    else:
        b = as_float_array(np.atleast_1d(bias), "bias", 1, dtype)
        if b.shape != (w.shape[0],):
            raise InvalidArgument(f"bias has shape {tuple(b.shape)}; expected ({w.shape[0]},), one per output channel")
    return w, b


# --------------------------------------------------------------------------- public API


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros", groups=1):
    """Multi-channel 2-D cross-correlation with bias (chapter eq. 36.2, 36.3).

    Parameters
    ----------
    x : array (C_in, H, W), float32 or float64 (other real dtypes become float64)
    weight : array (C_out, C_in/groups, kh, kw)
    bias : array (C_out,) or None
    stride, dilation : int or (h, w), each >= 1
    padding : int, (h, w), "valid" or "same" (stride 1 only; an odd total puts
        the extra row/column at the bottom/right, as PyTorch does)
    padding_mode : "zeros", "reflect", "replicate" or "circular"
    groups : int dividing C_in and C_out; group g's outputs see only group g's inputs

    Returns
    -------
    y : array (C_out, H_out, W_out) in the dtype of ``x``, with
        H_out = floor((H + pad_top + pad_bottom - d_h (kh - 1) - 1) / s_h) + 1 (eq. 36.4).
    """
    x = as_float_array(x, "x", 3)
    w, b = _weight_bias(weight, bias, x.dtype)
    g = conv_geometry(x.shape, w.shape, stride, padding, dilation, padding_mode, groups)
    return _forward(x, w, b, g)


def _forward(x, w, b, g):
    y = np.empty((g.c_out, g.oh, g.ow), dtype=x.dtype)
    forward_into(x, w.reshape(g.c_out, -1, g.kh * g.kw), b, g, y)
    return y


def forward_into(x, w3, b, g, y):
    """Eq. 36.3 of the unpadded x into ``y``; w3 (C_out, C_in/groups, kh·kw)."""
    if batch_blocked.serves_image_forward(g, y.dtype):
        # AVX-512, many channels: the 16-lane channel-vector kernels, the image cut into bands of rows.
        batch_blocked.conv_forward_batch(np.ascontiguousarray(x)[None], np.ascontiguousarray(w3), b, g.pads,
                                         g.padding_mode, g.dilation, g.kh, g.kw, y[None])
        return
    if blocked_fits(g.c_out, g.groups, g.ow, y.dtype):
        # Pads (and phase-splits) band by band inside the kernel: no full-size padded copy.
        conv_forward_blocked_split(x, w3, b, g, y)
        return
    run_forward(pad_planes(x, g.pads, g.padding_mode, g.stride), w3, b, g, y)


# Output positions per task of the flat kernels (rows · Wq ≈ FLAT_TILE): two
# accumulators of 4 KiB each stay in L1 next to the input rows they sweep.
FLAT_TILE = 1024
# The flat kernels pay off on short output rows, where the row kernels' per-row
# setup dominates (W4, 128 wide: 3.4 vs 4.7-6.6 ms CPU; its grad_input 3.4 vs
# 4.7); on rows of 256 and more the row kernels win (8->8 at 256²: 1.65 vs 1.93;
# W2/W5 at 512²: 3.3 vs 3.8), measured with row-major task order in both.
FLAT_MAX_OW = 256


def run_forward(planes, w3, b, g, y):
    """Dispatch on kernel size outside the parallel loop (docs/PERFORMANCE.md §3).

    The size-specialised kernels are compiled for float32 only (the speed
    path); float64 (finite-difference checks, small inputs) takes the generic
    kernel, which keeps cold-cache compile time down.  Square kernels in
    ``_fused.FLAT_FORWARD`` fuse all taps of two output channels over flat
    multi-row sweeps (only with at least two output channels per group — a
    single map, W1, is faster row by row — and output rows shorter than
    ``FLAT_MAX_OW``); otherwise one kernel row at a time is fused.  With stride
    1, at least four output channels per group and 16 output columns, the
    register-blocked kernel (``blocked.py``) serves every kernel size and
    dilation instead (``forward_into`` reaches it for every stride).
    """
    if planes.shape[1] == 1 and blocked_fits(g.c_out, g.groups, g.ow, y.dtype):
        # Stride 1: the one plane is the padded input; the band kernel copies it band by band.
        conv_forward_blocked_split(np.ascontiguousarray(planes[:, 0]), w3, b, g._replace(pads=(0, 0, 0, 0)), y)
        return
    if y.dtype == np.float32 and g.kh == g.kw and g.kw in _fused.FLAT_FORWARD and g.c_out >= 2 * g.groups and g.ow < FLAT_MAX_OW:
        c, n_planes, hq, wq = planes.shape
        off = g.tap_row * wq + g.tap_col
        rows = max(1, FLAT_TILE // wq)
        _fused.FLAT_FORWARD[g.kw](planes.reshape(c, n_planes, hq * wq), w3, b, off, g.tap_plane, wq, rows, g.groups, y)
        return
    fn = _fused.FORWARD.get(g.kw, _conv_forward) if y.dtype == np.float32 else _conv_forward
    fn(planes, w3, b, g.tap_plane, g.tap_row, g.tap_col, g.groups, y)


def conv2d_backward(x, weight, grad_output, stride=1, padding=0, dilation=1, padding_mode="zeros", groups=1):
    """Gradients of ``conv2d`` for an upstream gradient δ = ``grad_output``.

    Parameters
    ----------
    x, weight, stride, padding, dilation, padding_mode, groups : as for ``conv2d``
    grad_output : array (C_out, H_out, W_out), δ = dL/dy

    Returns
    -------
    grad_input : (C_in, H, W), eq. 36.10 (full convolution of δ with the flipped
        kernel), folded back through the padding
    grad_weight : (C_out, C_in/groups, kh, kw), eq. 36.9 (correlation of the padded input with δ)
    grad_bias : (C_out,), the sum of δ over each map
    All in the dtype of ``x``.
    """
    x = as_float_array(x, "x", 3)
    w = as_float_array(weight, "weight", 4, x.dtype)
    g = conv_geometry(x.shape, w.shape, stride, padding, dilation, padding_mode, groups)
    gy = as_float_array(grad_output, "grad_output", 3, x.dtype)
    if gy.shape != (g.c_out, g.oh, g.ow):
        raise InvalidArgument(f"grad_output has shape {tuple(gy.shape)}; the output of this conv2d is {(g.c_out, g.oh, g.ow)}")
    gx = grad_input(w, gy, g)
    if batch_blocked.serves_image_grad_weight(g, gy.dtype):
        # AVX-512, many input channels: input channels in the vector lanes, the image cut into bands of rows.
        gw, gb = batch_blocked.conv_grad_weight_batch(x[None], gy[None], g.pads, g.padding_mode, g.dilation, g.kh,
                                                      g.kw)
        return gx, gw.reshape(w.shape), gb
    planes = pad_planes(x, g.pads, g.padding_mode, g.stride)
    gw, gb = grad_weight_bias(planes, gy, g)
    return gx, gw.reshape(w.shape), gb


# The flat weight-gradient sweeps (blocked and _fused) stream a whole plane and
# whole δ maps per task: faster while a plane stays in L2 (W4: 130² cells),
# slower than the row-by-row kernel once it does not (W2: 514², measured 4.8 vs
# 3.6 ms CPU for the flat kernel, 2.7 vs 1.9 ms wall for the blocked one).
FLAT_GW_MAX = 1 << 16


def grad_weight_bias(planes, gy, g):
    """Eq. 36.9 and the bias gradient (the sum of each δ map): (C_out, C_in/groups, kh·kw), (C_out,)."""
    if _blocked_grad_weight(planes, gy, g):
        # The blocked kernel sums δ while its maps are in cache.
        return conv_grad_weight_blocked(np.ascontiguousarray(planes), gy, g.tap_plane, g.tap_row, g.tap_col, g.groups)
    return grad_weight(planes, gy, g), gy.sum(axis=(1, 2), dtype=gy.dtype)


def _blocked_grad_weight(planes, gy, g):
    """Whether ``conv_grad_weight_blocked`` serves these planes and δ (float32, planes small enough for L2)."""
    return planes.shape[2] * planes.shape[3] <= FLAT_GW_MAX and blocked_fits_grad_weight(g.c_out, g.groups, gy.dtype)


def grad_weight(planes, gy, g):
    """Eq. 36.9 on the phase planes of the padded input: (C_out, C_in/groups, kh·kw)."""
    c, n_planes, hq, wq = planes.shape
    if _blocked_grad_weight(planes, gy, g):
        # 4 output channels x 3 taps in registers (W4: 1.06 vs 1.48 ms for the flat kernel).
        gw, _ = conv_grad_weight_blocked(np.ascontiguousarray(planes), gy, g.tap_plane, g.tap_row, g.tap_col, g.groups)
        return gw
    if gy.dtype == np.float32 and g.kh == g.kw and g.kw in _fused.FLAT_GRAD_WEIGHT and hq * wq <= FLAT_GW_MAX:
        gyq = np.zeros((g.c_out, g.oh, wq), dtype=gy.dtype)
        gyq[:, :, : g.ow] = gy
        gw = np.empty((g.c_out, g.c_in // g.groups, g.kh * g.kw), dtype=gy.dtype)
        off = g.tap_row * wq + g.tap_col
        n = (g.oh - 1) * wq + g.ow
        _fused.FLAT_GRAD_WEIGHT[g.kw](
            planes.reshape(c, n_planes, hq * wq), gyq.reshape(g.c_out, -1), off, g.tap_plane, n, g.groups, gw
        )
        return gw
    gw = np.zeros((g.c_out, g.c_in // g.groups, g.kh * g.kw), dtype=gy.dtype)
    fn = _fused.GRAD_WEIGHT.get(g.kw, _conv_grad_weight) if gy.dtype == np.float32 else _conv_grad_weight
    fn(planes, gy, g.tap_plane, g.tap_row, g.tap_col, g.groups, gw)
    return gw


def grad_input(w, gy, g):
    """Eq. 36.10: gradient with respect to the unpadded input, (C_in, H, W), folded through the padding."""
    hp, wp = g.h + g.pads[0] + g.pads[1], g.w + g.pads[2] + g.pads[3]
    if g.stride == (1, 1):
        eh, ew = g.dilation[0] * (g.kh - 1), g.dilation[1] * (g.kw - 1)
        top, bottom, left, right = g.pads
        if g.padding_mode == "zeros" and top <= eh and bottom <= eh and left <= ew and right <= ew:
            # Zero padding folds back to nothing: compute only the unpadded cells
            # (W4: 128² instead of 130², and no cropping copy).
            return _grad_stride1(w, gy, g, (eh - top, eh - bottom, ew - left, ew - right))
        gxp = _grad_stride1(w, gy, g, (eh, eh, ew, ew))
    else:
        shape = (g.c_in, g.stride[0] * g.stride[1], -(-hp // g.stride[0]), -(-wp // g.stride[1]))
        gplanes = np.zeros(shape, dtype=gy.dtype)
        _conv_grad_planes(gy, w.reshape(g.c_out, -1, g.kh * g.kw), g.tap_plane, g.tap_row, g.tap_col, g.groups, gplanes)
        gxp = from_planes(gplanes, hp, wp, g.stride)
    return fold_contiguous(gxp, g.pads, g.padding_mode)


def transpose_flip(w, groups):
    """(C_out, C_in/g, kh, kw) -> (C_in, C_out/g, kh, kw), spatially reversed, group by group."""
    c_out, cin_g, kh, kw = w.shape
    wt = w.reshape(groups, c_out // groups, cin_g, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return np.ascontiguousarray(wt).reshape(groups * cin_g, c_out // groups, kh, kw)


def _grad_stride1(w, gy, g, pads):
    """Eq. 36.10 literally: the full correlation of δ with the flipped kernel (stride 1).

    δ is zero-padded by ``pads`` (top, bottom, left, right) — the dilated
    kernel's extent minus one on every side for the gradient of the whole padded
    input (C_in, Hp, Wp) — then run through the forward kernel with the
    transposed, flipped weights.
    """
    eh, ew = g.dilation[0] * (g.kh - 1), g.dilation[1] * (g.kw - 1)
    wt = transpose_flip(w, g.groups)
    oh, ow = gy.shape[1] + pads[0] + pads[1] - eh, gy.shape[2] + pads[2] + pads[3] - ew
    tp, tr, tc = _taps(g.kh, g.kw, (1, 1), g.dilation)
    gt = ConvGeometry(g.c_out, g.c_in, gy.shape[1], gy.shape[2], g.kh, g.kw, (1, 1), g.dilation, pads, "zeros",
                      g.groups, oh, ow, tp, tr, tc)
    gx = np.empty((g.c_in, oh, ow), dtype=gy.dtype)
    forward_into(gy, wt.reshape(g.c_in, -1, g.kh * g.kw), np.zeros(g.c_in, gy.dtype), gt, gx)
    return gx


def flip_kernel(weight):
    """The kernel reversed on both spatial axes.

    ``conv2d(x, flip_kernel(w))`` is the mathematician's convolution (the
    chapter's remark after eq. 36.1); CNNs compute the unflipped correlation.
    """
    w = np.asarray(weight)
    if w.ndim < 2:
        raise InvalidArgument(f"weight is {w.ndim}-dimensional; expected at least (kh, kw)")
    return np.ascontiguousarray(w[..., ::-1, ::-1])
