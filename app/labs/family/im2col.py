"""Lowering a convolution to one matrix product (im2col + GEMM), on a small input.

Every output pixel's window — C_in·kh·kw numbers of the padded input — is copied into
one column of a "patch matrix"; the filters, each flattened to C_in·kh·kw numbers, are
the rows of a weight matrix. One matrix product (C_out × C_in·kh·kw) · (C_in·kh·kw ×
H_out·W_out), reshaped, is the whole convolution (eq. 36.3), with exactly the
multiply-adds of eq. 36.11. The price is memory: each input pixel is copied into up to
kh·kw columns, which is why frameworks build the patch matrix in tiles.

Row order of the patch matrix: channel, then kernel row a, then kernel column b (the
order of ``weight.reshape(C_out, -1)``); column order: output pixels row by row.

Pure NumPy plus ``app.kernels``; the HTTP layer is ``app/api/family.py``.
"""
from __future__ import annotations

import numpy as np

from app import arithmetic
from app.kernels import conv2d, pad2d
from app.errors import InvalidArgument

MAX_SIDE = 16  # the patch matrix is drawn number by number
MAX_CHANNELS = 4
MAX_FILTERS = 8
MAX_KERNEL = 7


def shrink(x, h: int, w: int) -> np.ndarray:
    """Area-average a (C, H, W) image down to (C, h, w) (each output cell the mean of its block).

    Blocks are the pixels whose centres fall in the cell; an image already no larger than
    h×w along an axis keeps that axis.
    """
    x = np.asarray(x, dtype=np.float64)
    c, hh, ww = x.shape
    h, w = min(h, hh), min(w, ww)
    rows = np.minimum((np.arange(hh) * h) // hh, h - 1)
    cols = np.minimum((np.arange(ww) * w) // ww, w - 1)
    out = np.zeros((c, h, w))
    np.add.at(out, (slice(None), rows[:, None], cols[None, :]), x)
    counts = np.bincount(rows, minlength=h)[:, None] * np.bincount(cols, minlength=w)[None, :]
    return out / counts


def _geometry(shape, kh, kw, stride, padding, dilation):
    c, h, w = shape
    (sh, sw), (dh, dw) = arithmetic.pair(stride, "stride"), arithmetic.pair(dilation, "dilation")
    ph, pw = arithmetic.pair(padding, "padding")
    sizes = []
    for axis, n, k, s, p, d in (("H", h, kh, sh, ph, dh), ("W", w, kw, sw, pw, dw)):
        try:
            out = arithmetic.conv_output_size(n, k, s, p, d)
        except InvalidArgument as exc:
            need = -(-(arithmetic.effective_kernel(k, d) - n) // 2)
            raise InvalidArgument(f"{axis}: {exc}; add padding ≥ {need}, lower the dilation or use a smaller kernel") from None
        sizes.append({"n": n, "kernel": k, "stride": s, "padding": p, "dilation": d, "out": out})
    return (sh, sw), (ph, pw), (dh, dw), sizes


def patch_index(shape, kh: int, kw: int, stride=1, padding=0, dilation=1) -> np.ndarray:
    """(C·kh·kw, H_out·W_out) int array: the flat index into the padded (C, Hp, Wp) input that each
    entry of the patch matrix copies. One map drives both building and hover-highlighting."""
    c, h, w = shape
    (sh, sw), (ph, pw), (dh, dw), sizes = _geometry(shape, kh, kw, stride, padding, dilation)
    oh, ow = sizes[0]["out"], sizes[1]["out"]
    hp, wp = h + 2 * ph, w + 2 * pw
    ch = np.arange(c)[:, None, None]
    a = np.arange(kh)[None, :, None]
    b = np.arange(kw)[None, None, :]
    i = np.arange(oh)[:, None]
    j = np.arange(ow)[None, :]
    row = (i * sh)[None, None, None] + (a * dh)[..., None, None]      # (1, kh, 1, oh, 1)
    col = (j * sw)[None, None, None] + (b * dw)[..., None, None]      # (1, 1, kw, 1, ow)
    flat = ch[..., None, None] * (hp * wp) + row * wp + col           # (c, kh, kw, oh, ow)
    return flat.reshape(c * kh * kw, oh * ow)


def im2col(x, kh: int, kw: int, stride=1, padding=0, dilation=1, padding_mode="zeros") -> tuple[np.ndarray, np.ndarray]:
    """(padded input (C, Hp, Wp), patch matrix (C·kh·kw, H_out·W_out))."""
    x = np.asarray(x, dtype=np.float64)
    ph, pw = arithmetic.pair(padding, "padding")
    idx = patch_index(x.shape, kh, kw, stride, (ph, pw), dilation)
    xp = pad2d(x, (ph, ph, pw, pw), padding_mode)
    return xp, xp.reshape(-1)[idx]


def lowered_conv(x, weight, bias=None, stride=1, padding=0, dilation=1, padding_mode="zeros") -> dict:
    """The convolution as im2col + one matrix product, beside the direct ``conv2d``.

    Parameters
    ----------
    x : array (C_in, H, W), H and W at most 16
    weight : array (C_out, C_in, kh, kw)
    bias : array (C_out,) or None
    stride, padding, dilation : int or (h, w); padding_mode as for ``conv2d``

    Returns
    -------
    dict with ``padded`` (C_in, Hp, Wp), ``patches`` (C_in·kh·kw, L), ``index`` (same shape,
    flat indices into ``padded``), ``weights`` (C_out, C_in·kh·kw), ``product`` (C_out, L)
    (bias added), ``output`` (C_out, H_out, W_out) = product reshaped, ``direct`` (conv2d),
    ``max_abs_diff``, ``sizes`` (eq. 36.4 per axis) and ``macs`` (eq. 36.11).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    if x.ndim != 3:
        raise InvalidArgument(f"input: expected (C_in, H, W), got shape {list(x.shape)}")
    if w.ndim != 4:
        raise InvalidArgument(f"weight: expected (C_out, C_in, kh, kw), got shape {list(w.shape)}")
    c, h, wd = x.shape
    if h > MAX_SIDE or wd > MAX_SIDE:
        raise InvalidArgument(f"input: {h}×{wd} is larger than {MAX_SIDE}×{MAX_SIDE}; the patch matrix is drawn "
                         "number by number, so use a smaller input")
    c_out, wc, kh, kw = w.shape
    if c > MAX_CHANNELS:
        raise InvalidArgument(f"input: {c} channels; this view draws at most {MAX_CHANNELS}")
    if c_out > MAX_FILTERS:
        raise InvalidArgument(f"weight: {c_out} filters; this view draws at most {MAX_FILTERS}")
    if kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise InvalidArgument(f"weight: kernel {kh}×{kw} is larger than {MAX_KERNEL}×{MAX_KERNEL}, the largest this view draws")
    if wc != c:
        raise InvalidArgument(f"weight: its second axis ({wc}) must equal the input channels ({c})")
    b = np.zeros(c_out) if bias is None else np.asarray(bias, dtype=np.float64)
    if b.shape != (c_out,):
        raise InvalidArgument(f"bias: expected {c_out} numbers (one per filter), got shape {list(b.shape)}")
    _, _, _, sizes = _geometry(x.shape, kh, kw, stride, padding, dilation)
    oh, ow = sizes[0]["out"], sizes[1]["out"]
    ph, pw = arithmetic.pair(padding, "padding")
    idx = patch_index(x.shape, kh, kw, stride, (ph, pw), dilation)
    padded = pad2d(x, (ph, ph, pw, pw), padding_mode)
    patches = padded.reshape(-1)[idx]
    weights = w.reshape(c_out, -1)
    product = weights @ patches + b[:, None]
    output = product.reshape(c_out, oh, ow)
    direct = conv2d(x, w, b, stride=stride, padding=(ph, pw), dilation=dilation, padding_mode=padding_mode)
    return {
        "padded": padded,
        "patches": patches,
        "index": idx,
        "weights": weights,
        "product": product,
        "output": output,
        "direct": direct,
        "max_abs_diff": float(np.max(np.abs(output - direct))),
        "sizes": sizes,
        "macs": arithmetic.conv_macs(oh, ow, c_out, c, kh, kw),
    }


def memory(c: int, h: int, w: int, kh: int, kw: int, stride=1, padding=0, dilation=1,
           bytes_per_value: int = 4) -> dict:
    """Bytes of the patch matrix (C·kh·kw × H_out·W_out) against the input's C·H·W (float32 by default).

    Each input pixel lands in up to kh·kw columns, so the ratio approaches kh·kw at stride 1
    ("same" size) and falls with the stride squared.
    """
    _, _, _, sizes = _geometry((c, h, w), kh, kw, stride, padding, dilation)
    oh, ow = sizes[0]["out"], sizes[1]["out"]
    rows, cols = c * kh * kw, oh * ow
    patch = arithmetic.activation_bytes((rows, cols), bytes_per_value)
    inp = arithmetic.activation_bytes((c, h, w), bytes_per_value)
    return {
        "input_shape": [c, h, w],
        "patch_shape": [rows, cols],
        "input_bytes": inp,
        "patch_bytes": patch,
        "ratio": patch / inp,
        "copies_per_pixel": kh * kw,
        "bytes_per_value": bytes_per_value,
    }
