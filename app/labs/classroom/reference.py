"""A slow, obviously-correct NumPy convolution: the independent check behind the parity badge.

Nothing here shares code with ``app.kernels`` (only the size rules of ``app.arithmetic``):
padding is ``np.pad``, and the layer is the textbook sum over filters, channels and
kernel taps, each tap adding one strided slice of the padded input (chapter eq. 36.3).
Always computed in float64.
"""
from __future__ import annotations

import numpy as np

from app.arithmetic import conv_sizes, effective_kernel, pair, padding_sides
from app.errors import InvalidArgument

NP_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros", groups=1) -> np.ndarray:
    """Cross-correlation of x (C_in, H, W) with weight (C_out, C_in / groups, kh, kw); float64 (C_out, H_out, W_out).

    With groups g, filter o sees only the input channels of its block: the C_in / g
    channels starting at (o // (C_out / g)) · C_in / g.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    c_out, c_in_g, kh, kw = w.shape
    if groups < 1 or x.shape[0] % groups or c_out % groups or x.shape[0] // groups != c_in_g:
        raise InvalidArgument(f"input has {x.shape[0]} channels; with groups={groups} and {c_out} filters the kernel "
                         f"expects {c_in_g * groups}, divisible by groups")
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    (pt, pb), (pl, pr) = padding_sides(padding, kh, kw, dh, dw)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr)), mode=NP_PAD_MODES[padding_mode])
    span_h, span_w = effective_kernel(kh, dh), effective_kernel(kw, dw)
    oh, ow, _ = conv_sizes(x.shape[1], x.shape[2], kh, kw, (sh, sw), padding, (dh, dw))
    if oh < 1 or ow < 1:
        raise InvalidArgument(f"dilated kernel {span_h}×{span_w} is larger than the padded input {xp.shape[1]}×{xp.shape[2]}")
    y = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        first = (o // (c_out // groups)) * c_in_g  # first input channel of this filter's group
        for c in range(c_in_g):
            for a in range(kh):
                for b in range(kw):
                    # every output cell (i, j) reads xp[first + c, i*sh + a*dh, j*sw + b*dw]
                    rows = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
                    cols = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
                    y[o] += w[o, c, a, b] * xp[first + c, rows, cols]
        if bias is not None:
            y[o] += float(bias[o])
    return y


def flip(weight) -> np.ndarray:
    """The kernel rotated by 180° (true convolution instead of cross-correlation)."""
    return np.asarray(weight)[..., ::-1, ::-1]
