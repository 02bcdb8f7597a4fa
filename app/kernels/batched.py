"""Batched (N, C, H, W) convolution and pooling, forward beside backward.

A network layer sees a batch of images at once; its weight and bias gradients
are the sums over the batch of the per-image gradients (eq. 36.9 summed over
n).  Semantics are exactly those of ``conv2d``/``pool2d`` applied to each image
``x[n]``; the geometry and checks are theirs.
"""
import numpy as np
from numba import prange

from . import batch_blocked
from ._checks import as_float_array
from ._jit import kernel
from .conv import _weight_bias, conv_geometry, forward_into, grad_input, grad_weight_bias, transpose_flip
from .padding import fold_contiguous, pad_planes
from .pool import _avg_pool, _avg_pool_backward, pool_geometry
from app.errors import InvalidArgument


# --------------------------------------------------------------------------- convolution


def _conv_args(x, weight, stride, padding, dilation, padding_mode):
    x = as_float_array(x, "x", 4)
    w = as_float_array(weight, "weight", 4, x.dtype)
    g = conv_geometry(x.shape[1:], w.shape, stride, padding, dilation, padding_mode, 1)
    return x, w, g


def conv2d_batch(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros"):
    """``conv2d`` of every image of a batch (chapter eq. 36.3).

    Parameters
    ----------
    x : array (N, C_in, H, W), float32 or float64
    weight : array (C_out, C_in, kh, kw)
    bias : array (C_out,) or None
    stride, padding, dilation, padding_mode : as for ``conv2d``

    Returns
    -------
    y : (N, C_out, H_out, W_out) in the dtype of ``x``
    """
    x, w, g = _conv_args(x, weight, stride, padding, dilation, padding_mode)
    w, b = _weight_bias(w, bias, x.dtype)
    y = np.empty((x.shape[0], g.c_out, g.oh, g.ow), dtype=x.dtype)
    w3 = w.reshape(g.c_out, -1, g.kh * g.kw)
    if batch_blocked.fits(x.dtype, g.stride):
        batch_blocked.conv_forward_batch(x, w3, b, g.pads, g.padding_mode, g.dilation, g.kh, g.kw, y)
        return y
    for n in range(x.shape[0]):
        forward_into(x[n], w3, b, g, y[n])
    return y


def conv2d_batch_backward(x, weight, grad_output, stride=1, padding=0, dilation=1, padding_mode="zeros",
                          input_grad=True, weight_grad=True):
    """Gradients of ``conv2d_batch`` for upstream δ = ``grad_output`` (N, C_out, H_out, W_out).

    Returns
    -------
    grad_input : (N, C_in, H, W), eq. 36.10 per image, or None when ``input_grad`` is
        False (a network's first layer needs no gradient of its input)
    grad_weight : (C_out, C_in, kh, kw), eq. 36.9 summed over the batch, or None
        when ``weight_grad`` is False (frozen weights; timing one gradient alone)
    grad_bias : (C_out,), δ summed over the batch and each map, or None with ``grad_weight``
    All in the dtype of ``x``.
    """
    x, w, g = _conv_args(x, weight, stride, padding, dilation, padding_mode)
    gy = as_float_array(grad_output, "grad_output", 4, x.dtype)
    n_img = x.shape[0]
    if gy.shape != (n_img, g.c_out, g.oh, g.ow):
        raise InvalidArgument(f"grad_output has shape {tuple(gy.shape)}; the output of this conv2d_batch is "
                         f"{(n_img, g.c_out, g.oh, g.ow)}")
    if batch_blocked.fits(x.dtype, g.stride):
        gw = gb = None
        if weight_grad:
            gw, gb = batch_blocked.conv_grad_weight_batch(x, gy, g.pads, g.padding_mode, g.dilation, g.kh, g.kw)
            gw = gw.reshape(w.shape)
        gx = _grad_input_batch(w, gy, g, x.shape) if input_grad else None
        return gx, gw, gb
    gw = np.zeros((g.c_out, g.c_in * g.kh * g.kw), dtype=x.dtype) if weight_grad else None
    gb = np.zeros(g.c_out, dtype=x.dtype) if weight_grad else None
    gx = np.empty(x.shape, dtype=x.dtype) if input_grad else None
    for n in range(n_img):
        if weight_grad:
            gwn, gbn = grad_weight_bias(pad_planes(x[n], g.pads, g.padding_mode, g.stride), gy[n], g)
            gw += gwn.reshape(g.c_out, -1)
            gb += gbn
        if input_grad:
            gx[n] = grad_input(w, gy[n], g)
    return gx, (gw.reshape(w.shape) if weight_grad else None), gb


def _grad_input_batch(w, gy, g, x_shape):
    """Eq. 36.10 at stride 1 for every image: δ fully correlated with the transposed, flipped kernel.

    With zero padding no wider than the kernel's reach only the unpadded cells are
    computed (δ is padded by the reach minus the padding); otherwise the gradient
    of the whole padded input is computed and folded back onto the pixels the
    padded cells copy.
    """
    n_img, c_in, h, wd = x_shape
    eh, ew = g.dilation[0] * (g.kh - 1), g.dilation[1] * (g.kw - 1)
    top, bottom, left, right = g.pads
    wt3 = transpose_flip(w, 1).reshape(c_in, g.c_out, g.kh * g.kw)
    zero_bias = np.zeros(c_in, np.float32)
    if g.padding_mode == "zeros" and top <= eh and bottom <= eh and left <= ew and right <= ew:
        gx = np.empty(x_shape, np.float32)
        batch_blocked.conv_forward_batch(gy, wt3, zero_bias, (eh - top, eh - bottom, ew - left, ew - right), "zeros",
                                         g.dilation, g.kh, g.kw, gx)
        return gx
    hp, wp = h + top + bottom, wd + left + right
    gxp = np.empty((n_img, c_in, hp, wp), np.float32)
    batch_blocked.conv_forward_batch(gy, wt3, zero_bias, (eh, eh, ew, ew), "zeros", g.dilation, g.kh, g.kw, gxp)
    return fold_contiguous(gxp.reshape(n_img * c_in, hp, wp), g.pads, g.padding_mode).reshape(x_shape)


# --------------------------------------------------------------------------- pooling


@kernel(parallel=True)
def _max_pool_batch(x, kh, kw, sh, sw, ph, pw, y, arg):
    """Eq. 36.7 (max) of maps x (M, H, W) into y and arg (M, H_out, W_out); one prange iteration owns a map.

    Same rules as ``pool._max_pool`` (−∞ padding, ties to the first maximum in
    row-major order, NaN never wins, an all −∞ window reports its first
    in-image cell).  A map per task instead of a row: the chapter's maps are
    small (28×28 → 14×14), and the 2×2 stride-2 unpadded window, the one the
    chapter uses, is unrolled into three selects per output.
    """
    m_n, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    plain2 = kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0
    for m in prange(m_n):
        xm = x[m]
        for i in range(oh):
            best_row = y[m, i]
            arg_row = arg[m, i]
            r0 = i * sh - ph
            if plain2:
                top = xm[r0]
                bot = xm[r0 + 1]
                base = r0 * w
                for j in range(ow):
                    q = 2 * j
                    best = top[q]
                    k = base + q
                    v = top[q + 1]
                    take = v > best
                    best = v if take else best
                    k = base + q + 1 if take else k
                    v = bot[q]
                    take = v > best
                    best = v if take else best
                    k = base + w + q if take else k
                    v = bot[q + 1]
                    take = v > best
                    best = v if take else best
                    k = base + w + q + 1 if take else k
                    best_row[j] = best
                    arg_row[j] = k
                continue
            a_lo = max(0, -r0)
            a_hi = min(kh, h - r0)
            for j in range(ow):
                q0 = j * sw - pw
                b_lo = max(0, -q0)
                b_hi = min(kw, w - q0)
                best = -np.inf
                k = -1
                for a in range(a_lo, a_hi):
                    row = xm[r0 + a]
                    for b in range(b_lo, b_hi):
                        v = row[q0 + b]
                        if v > best:
                            best = v
                            k = (r0 + a) * w + q0 + b
                if k < 0:  # every cell is −∞: report the first in-image cell, as PyTorch does
                    k = max(r0, 0) * w + max(q0, 0)
                best_row[j] = best
                arg_row[j] = k


@kernel(parallel=True)
def _max_pool_backward_checked(arg, gy, gx):
    """``gx[m].flat[arg[m, i, j]] += gy[m, i, j]`` over maps m = (n, c) flattened; gx (M, H*W) is overwritten.

    One prange iteration owns a map: it zeroes it (while it is in cache, instead
    of a separate full-size np.zeros pass) and adds each δ onto its winner.
    Indices outside 0..H*W-1 are skipped and counted per map in the returned
    array, so a caller's bad ``argmax`` becomes a ValueError, not a stray write.
    """
    m_n, oh, ow = gy.shape
    hw = gx.shape[1]
    bad = np.zeros(m_n, np.int64)
    for m in prange(m_n):
        dst = gx[m]
        for k in range(hw):
            dst[k] = 0
        for i in range(oh):
            src = gy[m, i]
            idx = arg[m, i]
            for j in range(ow):
                k = idx[j]
                if k < 0 or k >= hw:
                    bad[m] += 1
                else:
                    dst[k] += src[j]
    return bad


def _pool_args(x, kind, kernel_size, stride, padding):
    x = as_float_array(x, "x", 4)
    n, c, h, w = x.shape
    g = pool_geometry((c, h, w), kind, kernel_size, stride, padding)
    return x, g


def _geom_args(g):
    return g.kh, g.kw, g.sh, g.sw, g.ph, g.pw


def pool2d_batch(x, kind="max", kernel_size=2, stride=None, padding=0):
    """``pool2d`` of every map of a batch (eq. 36.7).

    Parameters
    ----------
    x : array (N, C, H, W)
    kind, kernel_size, stride, padding : as for ``pool2d``

    Returns
    -------
    y : (N, C, H_out, W_out) in the dtype of ``x``
    argmax : int64 (N, C, H_out, W_out), flat index r*W + c of each window's
        maximum within its H×W map, or None for average pooling
    """
    x, g = _pool_args(x, kind, kernel_size, stride, padding)
    n, c, h, w = x.shape
    xm = x.reshape(n * c, h, w)
    y = np.empty((n * c, g.oh, g.ow), dtype=x.dtype)
    if kind == "avg":
        _avg_pool(xm, *_geom_args(g), y)
        return y.reshape(n, c, g.oh, g.ow), None
    arg = np.empty(y.shape, dtype=np.int64)
    _max_pool_batch(xm, *_geom_args(g), y, arg)
    return y.reshape(n, c, g.oh, g.ow), arg.reshape(n, c, g.oh, g.ow)


def pool2d_batch_backward(x, grad_output, kind="max", kernel_size=2, stride=None, padding=0, argmax=None):
    """Gradient of ``pool2d_batch`` with respect to ``x`` for upstream δ = ``grad_output``.

    ``argmax``: for max pooling, the winners ``pool2d_batch`` returned for this
    ``x`` (saves recomputing them); None recomputes them.  Ignored for "avg".

    Returns
    -------
    grad_input : (N, C, H, W) in the dtype of ``x``
    """
    x, g = _pool_args(x, kind, kernel_size, stride, padding)
    n, c, h, w = x.shape
    gy = as_float_array(grad_output, "grad_output", 4, x.dtype)
    if gy.shape != (n, c, g.oh, g.ow):
        raise InvalidArgument(f"grad_output has shape {tuple(gy.shape)}; the output of this pool2d_batch is "
                         f"{(n, c, g.oh, g.ow)}")
    gym = gy.reshape(n * c, g.oh, g.ow)
    if kind == "avg":
        gx = np.zeros((n * c, h, w), dtype=x.dtype)
        _avg_pool_backward(gym, *_geom_args(g), gx)
        return gx.reshape(x.shape)
    gx = np.empty((n * c, h, w), dtype=x.dtype)
    if argmax is None:
        arg = np.empty(gym.shape, dtype=np.int64)
        _max_pool_batch(x.reshape(n * c, h, w), *_geom_args(g), np.empty(gym.shape, x.dtype), arg)
    else:
        arg = np.asarray(argmax)
        if arg.dtype.kind not in "iu":
            raise InvalidArgument(f"argmax has dtype {arg.dtype}; expected the integer indices pool2d_batch returned")
        if arg.shape != gy.shape:
            raise InvalidArgument(f"argmax has shape {tuple(arg.shape)}; expected {tuple(gy.shape)}, the shape of grad_output")
        arg = np.ascontiguousarray(arg, dtype=np.int64).reshape(gym.shape)
        if not arg.flags.writeable:
            arg = arg.copy()
    bad = _max_pool_backward_checked(arg, gym, gx.reshape(n * c, h * w))
    if argmax is not None and bad.any():
        raise InvalidArgument(f"argmax holds {int(bad.sum())} indices outside 0..{h * w - 1}, the cells of an "
                         f"{h}×{w} map; pass the argmax pool2d_batch returned for this x")
    return gx.reshape(x.shape)
