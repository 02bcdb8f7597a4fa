"""Transposed convolution seen as an ordinary convolution, and the sizes involved.

Pure NumPy plus ``app.kernels``; no web code. The transposed convolution itself
is ``app.kernels.conv_transpose2d``; this module builds the *other* picture of
the same numbers: insert s − 1 zeros between input pixels, pad the result by
d(k − 1) − p on the top/left and d(k − 1) − p + output_padding on the
bottom/right (cropping where that is negative), and run a stride-1 direct
convolution (``app.kernels.conv2d``) with the kernel flipped in both axes and
its two channel axes swapped within each group.
"""
from __future__ import annotations

import numpy as np

from app.arithmetic import pair
from app.errors import InvalidArgument

__all__ = ["as_direct_convolution", "direct_weight", "zero_insert"]


def zero_insert(x: np.ndarray, stride, padding, output_padding=0, dilation=1, kernel_size=(1, 1)):
    """The input of the equivalent direct convolution, (C, H', W').

    ``x`` is (C, H, W). Pixels land at multiples of the stride, offset by the
    leading border d(k − 1) − p; the trailing border adds output_padding.
    Negative borders crop. Returns ``(x_up, (top, bottom, left, right))`` with
    the borders actually used (negative = cropped).
    """
    x = np.asarray(x)
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    oh, ow = pair(output_padding, "output_padding")
    dh, dw = pair(dilation, "dilation")
    kh, kw = pair(kernel_size, "kernel_size")
    c, h, w = x.shape
    top, left = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    bottom, right = top + oh, left + ow
    hu, wu = (h - 1) * sh + 1, (w - 1) * sw + 1
    big = np.zeros((c, hu + max(top, 0) + max(bottom, 0), wu + max(left, 0) + max(right, 0)), dtype=x.dtype)
    big[:, max(top, 0) : max(top, 0) + hu : sh, max(left, 0) : max(left, 0) + wu : sw] = x
    r0, c0 = max(-top, 0), max(-left, 0)
    r1 = big.shape[1] - max(-bottom, 0)
    c1 = big.shape[2] - max(-right, 0)
    return big[:, r0:r1, c0:c1], (top, bottom, left, right)


def direct_weight(weight: np.ndarray, groups: int = 1) -> np.ndarray:
    """Transposed-conv weight (C_in, C_out/g, kh, kw) → direct-conv weight (C_out, C_in/g, kh, kw), flipped."""
    w = np.asarray(weight)
    c_in, cout_g, kh, kw = w.shape
    cin_g = c_in // groups
    out = np.empty((cout_g * groups, cin_g, kh, kw), dtype=w.dtype)
    for g in range(groups):
        block = w[g * cin_g : (g + 1) * cin_g]  # (cin_g, cout_g, kh, kw)
        out[g * cout_g : (g + 1) * cout_g] = block.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    return out


def as_direct_convolution(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """The transposed convolution computed as zero insertion + padding + direct conv with the flipped kernel.

    Returns ``(x_up, borders, w_direct, y)``; ``y`` equals
    ``app.kernels.conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups)``.
    """
    from app.kernels import conv2d

    w = np.asarray(weight)
    x_up, borders = zero_insert(x, stride, padding, output_padding, dilation, w.shape[2:])
    w_direct = direct_weight(w, groups)
    y = conv2d(x_up, w_direct, bias, stride=1, padding=0, dilation=dilation, groups=groups)
    return x_up, borders, w_direct, y
