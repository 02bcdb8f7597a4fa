"""1-D convolution (the chapter's eq. 36.1) as the 2-D kernels with a height of one.

``s[o, i] = b[o] + sum_c sum_a x[c, i·stride + a·dilation] · w[o, c, a]`` over the
padded signal; its backward pass is eq. 36.9 and 36.10 in one dimension.
"""
import numpy as np

from ._checks import _int, as_float_array
from .conv import conv2d, conv2d_backward, resolve_padding
from app.errors import InvalidArgument


def _lift(x, weight, stride, padding, dilation):
    x = as_float_array(x, "x", 2)
    w = as_float_array(weight, "weight", 3, x.dtype)
    s, d = _int(stride, "stride"), _int(dilation, "dilation")
    if s < 1:
        raise InvalidArgument(f"stride must be at least 1, got {s}")
    if d < 1:
        raise InvalidArgument(f"dilation must be at least 1, got {d}")
    if isinstance(padding, str):
        pads = resolve_padding(padding, 1, w.shape[2], (1, s), (1, d))
        pad2 = padding
    else:
        p = _int(padding, "padding")
        if p < 0:
            raise InvalidArgument(f"padding must be at least 0, got {p}")
        pads, pad2 = (0, 0, p, p), (0, p)
    length, k = x.shape[1], w.shape[2]
    if d * (k - 1) + 1 > length + pads[2] + pads[3]:
        what = "dilated kernel" if d > 1 else "kernel"
        raise InvalidArgument(f"{what} of length {d * (k - 1) + 1} is larger than the padded input of length {length + pads[2] + pads[3]}")
    return x[:, None, :], w[:, :, None, :], dict(stride=(1, s), padding=pad2, dilation=(1, d))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros", groups=1):
    """1-D cross-correlation with bias (eq. 36.1 with channels).

    Parameters
    ----------
    x : array (C_in, L)
    weight : array (C_out, C_in/groups, k)
    bias : (C_out,) or None
    stride, dilation : int >= 1; padding : int, "valid" or "same"
    padding_mode : "zeros", "reflect", "replicate" or "circular"

    Returns
    -------
    y : (C_out, L_out), L_out = floor((L + 2p - d(k - 1) - 1)/s) + 1, dtype of ``x``.
    """
    x4, w4, kw = _lift(x, weight, stride, padding, dilation)
    return conv2d(x4, w4, bias, padding_mode=padding_mode, groups=groups, **kw)[:, 0, :]


def conv1d_backward(x, weight, grad_output, stride=1, padding=0, dilation=1, padding_mode="zeros", groups=1):
    """Gradients of ``conv1d``: (grad_input (C_in, L), grad_weight (C_out, C_in/groups, k), grad_bias (C_out,))."""
    x4, w4, kw = _lift(x, weight, stride, padding, dilation)
    gy = np.asarray(grad_output)
    if gy.ndim != 2:
        raise InvalidArgument(f"grad_output is {gy.ndim}-dimensional with shape {tuple(gy.shape)}; expected (C_out, L_out)")
    gx, gw, gb = conv2d_backward(x4, w4, gy[:, None, :], padding_mode=padding_mode, groups=groups, **kw)
    return gx[:, 0, :], gw[:, :, 0, :], gb
