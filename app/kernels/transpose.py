"""Transposed convolution ("deconvolution") and its backward pass, PyTorch semantics.

A transposed convolution is the input gradient of a convolution (the chapter's
eq. 36.10) used as a layer of its own: each input pixel stamps its value times
the kernel into the output at stride ``s``; ``padding`` crops ``p`` cells from
each border of the stamped result and ``output_padding`` adds rows/columns at
the bottom/right so the size can match a given convolution's input::

    H_out = (H - 1)·s - 2p + d·(k - 1) + output_padding + 1

So ``conv_transpose2d(x, w)`` is exactly ``conv2d_backward``'s grad_input of a
conv2d with weight ``w`` whose output has the shape of ``x``; its own backward
pass is a forward conv2d (for the input) and a conv weight gradient.  Both
reuse the kernels in conv.py.
"""
import numpy as np

from ._checks import as_float_array, dims, pair
from .conv import conv_geometry, grad_input, grad_weight, run_forward
from .padding import pad_planes
from app.errors import InvalidArgument


def _geometry(x, w, stride, padding, output_padding, dilation, groups):
    """Output size and the geometry of the convolution this transposes."""
    c_in, h, wd = x.shape
    if w.shape[0] != c_in:
        raise InvalidArgument(f"weight has {w.shape[0]} input channels (its first axis) but x has {c_in}")
    sh, sw = pair(stride, "stride", 1)
    ph, pw = pair(padding, "padding", 0)
    dh, dw = pair(dilation, "dilation", 1)
    oph, opw = pair(output_padding, "output_padding", 0)
    if (oph >= sh and oph >= dh) or (opw >= sw and opw >= dw):
        raise InvalidArgument(
            f"output_padding {dims(oph, opw)} must be smaller than the stride {dims(sh, sw)} "
            f"or the dilation {dims(dh, dw)} on each axis"
        )
    kh, kw = w.shape[2], w.shape[3]
    h_out = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    w_out = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if h_out < 1 or w_out < 1:
        raise InvalidArgument(
            f"padding {dims(ph, pw)} crops the whole {dims(h_out + 2 * ph, w_out + 2 * pw)} output "
            f"(output would be {dims(h_out, w_out)})"
        )
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise InvalidArgument(f"groups must be a positive integer, got {groups!r}")
    if c_in % groups:
        raise InvalidArgument(f"groups={groups} must divide the input channels ({c_in})")
    c_out = w.shape[1] * groups
    # The forward convolution that maps (C_out, H_out, W_out) back to (C_in, H', W'), H' >= H.
    g = conv_geometry((c_out, h_out, w_out), w.shape, (sh, sw), (ph, pw), (dh, dw), "zeros", int(groups))
    return g


def _fit(a, oh, ow):
    """Zero-extend a (C, H, W) map at the bottom/right to (C, oh, ow) (output_padding >= stride)."""
    if a.shape[1:] == (oh, ow):
        return a
    out = np.zeros((a.shape[0], oh, ow), dtype=a.dtype)
    out[:, : a.shape[1], : a.shape[2]] = a
    return out


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Transposed 2-D convolution (PyTorch's ``conv_transpose2d`` for one image).

    Parameters
    ----------
    x : array (C_in, H, W)
    weight : array (C_in, C_out/groups, kh, kw)  (note: input channels first)
    bias : array (C_out,) or None
    stride, padding, dilation : int or (h, w)
    output_padding : int or (h, w), smaller than the stride or the dilation
    groups : int dividing C_in

    Returns
    -------
    y : (C_out, H_out, W_out) in the dtype of ``x``,
        H_out = (H - 1)·s - 2p + d·(kh - 1) + output_padding + 1.
    """
    x = as_float_array(x, "x", 3)
    w = as_float_array(weight, "weight", 4, x.dtype)
    g = _geometry(x, w, stride, padding, output_padding, dilation, groups)
    y = grad_input(w, _fit(x, g.oh, g.ow), g)
    if bias is not None:
        b = as_float_array(np.atleast_1d(bias), "bias", 1, x.dtype)
        if b.shape != (g.c_in,):
            raise InvalidArgument(f"bias has shape {tuple(b.shape)}; expected ({g.c_in},), one per output channel")
        y += b[:, None, None]
    return y


def conv_transpose2d_backward(x, weight, grad_output, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Gradients of ``conv_transpose2d`` for upstream δ = ``grad_output`` (C_out, H_out, W_out).

    Returns
    -------
    grad_input : (C_in, H, W), the forward convolution of δ with ``weight``
    grad_weight : (C_in, C_out/groups, kh, kw), the correlation of the padded δ with x
    grad_bias : (C_out,), the sum of δ over each map
    """
    x = as_float_array(x, "x", 3)
    w = as_float_array(weight, "weight", 4, x.dtype)
    g = _geometry(x, w, stride, padding, output_padding, dilation, groups)
    gy = as_float_array(grad_output, "grad_output", 3, x.dtype)
    if gy.shape != (g.c_in, g.h, g.w):
        raise InvalidArgument(
            f"grad_output has shape {tuple(gy.shape)}; the output of this conv_transpose2d is {(g.c_in, g.h, g.w)}"
        )
    h, wd = x.shape[1:]
    planes = pad_planes(gy, g.pads, "zeros", g.stride)
    gx = np.empty((g.c_out, g.oh, g.ow), dtype=x.dtype)
    run_forward(planes, w.reshape(g.c_out, -1, g.kh * g.kw), np.zeros(g.c_out, x.dtype), g, gx)
    gw = grad_weight(planes, _fit(x, g.oh, g.ow), g).reshape(w.shape)
    return np.ascontiguousarray(gx[:, :h, :wd]), gw, gy.sum(axis=(1, 2), dtype=x.dtype)
