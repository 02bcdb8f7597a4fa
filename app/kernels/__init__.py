"""ConvLab's compute core: NumPy in, NumPy out, Numba inside.

Public API (docs/CONTRACT.md, "Python: app.kernels"):
``conv2d``/``conv2d_backward``, ``pool2d``/``pool2d_backward``, ``flip_kernel``,
``relu``/``relu_backward``, ``pad2d``/``pad2d_backward``, ``conv_transpose2d``/
``conv_transpose2d_backward``, ``conv1d``/``conv1d_backward``, the batched
``conv2d_batch``/``conv2d_batch_backward`` and ``pool2d_batch``/
``pool2d_batch_backward`` (N, C, H, W) for network layers, and ``warmup``.
Every kernel takes float32 or float64 and returns the dtype of its input; bad
arguments raise ``ValueError`` naming the parameter and the numbers.
"""
import time

import numpy as np

from .act import relu, relu_backward
from .batched import conv2d_batch, conv2d_batch_backward, pool2d_batch, pool2d_batch_backward
from .conv import conv2d, conv2d_backward, flip_kernel
from .conv1d import conv1d, conv1d_backward
from .padding import PADDING_MODES, pad2d, pad2d_backward
from .pool import POOL_KINDS, pool2d, pool2d_backward
from .transpose import conv_transpose2d, conv_transpose2d_backward

__all__ = [
    "PADDING_MODES",
    "POOL_KINDS",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv2d_batch",
    "conv2d_batch_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "flip_kernel",
    "pad2d",
    "pad2d_backward",
    "pool2d",
    "pool2d_backward",
    "pool2d_batch",
    "pool2d_batch_backward",
    "relu",
    "relu_backward",
    "warmup",
]


def warmup():
    """Compile (or load from the cache) every Numba specialisation the server uses.

    Runs each public entry point on tiny float32 and float64 inputs: kernel
    widths 3, 5 and 7 (the generated fast paths) and 2 (the generic path),
    stride 1 and 2, and the register-blocked kernel, so no request ever waits
    for the JIT.  Returns the seconds it took (tens of seconds on a cold cache,
    well under a second warm).
    """
    t0 = time.perf_counter()
    for dtype in (np.float32, np.float64):
        x = np.linspace(-1, 1, 2 * 9 * 9, dtype=dtype).reshape(2, 9, 9)
        b = np.ones(2, dtype)
        for kw in (2, 3, 5, 7):
            w = np.linspace(-1, 1, 2 * 2 * 3 * kw, dtype=dtype).reshape(2, 2, 3, kw)
            for stride in (1, 2):
                y = conv2d(x, w, b, stride=stride, padding=1, padding_mode="reflect")
                conv2d_backward(x, w, y, stride=stride, padding=1, padding_mode="reflect")
        w = np.linspace(-1, 1, 2 * 2 * 3 * 3, dtype=dtype).reshape(2, 2, 3, 3)
        y = conv_transpose2d(x, w, b, stride=2, padding=1)
        conv_transpose2d_backward(x, w, y, stride=2, padding=1)
        y = conv1d(x[:, 0], w[:, :, 0], b, padding="same")
        conv1d_backward(x[:, 0], w[:, :, 0], y, padding="same")
        pad2d_backward(pad2d(x, 1, "circular"), 1, "circular")
        for kind in POOL_KINDS:
            y, _ = pool2d(x, kind, 2, padding=1)
            pool2d_backward(x, y, kind, 2, padding=1)
        relu_backward(x, relu(x))
        xb = x.reshape(1, 2, 9, 9)
        w = np.linspace(-1, 1, 2 * 2 * 3 * 3, dtype=dtype).reshape(2, 2, 3, 3)
        yb = conv2d_batch(xb, w, b, padding="same")
        conv2d_batch_backward(xb, w, yb, padding="same")
        conv2d_batch_backward(xb, w, yb, padding="same", input_grad=False)
        for kind in POOL_KINDS:
            yb, arg = pool2d_batch(xb, kind, 2)
            pool2d_batch_backward(xb, yb, kind, 2, argmax=arg)
    # The register-blocked float32 kernels (>= 4 output channels, >= 16 output
    # columns): forward band by band, weight gradient.
    x = np.linspace(-1, 1, 2 * 9 * 40, dtype=np.float32).reshape(2, 9, 40)
    w = np.ones((4, 2, 3, 3), np.float32)
    for stride in (1, 2):
        conv2d_backward(x, w, conv2d(x, w, stride=stride, padding=1), stride=stride, padding=1)
    x = np.linspace(-1, 1, 4 * 9 * 40, dtype=np.float32).reshape(4, 9, 40)
    conv_transpose2d_backward(x, w, conv_transpose2d(x, w, padding=1), padding=1)
    # Its AVX-512 variant (>= 8 output channels, >= 48 output columns; W2, W3, W5): stride 1 and the
    # stride-2 band fill that splits even and odd columns 16 lanes at a time.
    x = np.linspace(-1, 1, 2 * 9 * 100, dtype=np.float32).reshape(2, 9, 100)
    w = np.ones((8, 2, 5, 5), np.float32)
    for stride in (1, 2):
        conv2d(x, w, stride=stride, padding=2)
    # The batched kernels of a network layer (batch_blocked.py): row-vector and
    # channel-vector forward (>= 64 taps per output, rows >= 14), row-vector and
    # channel-lane weight gradients (>= 24 input channels).
    for c_in in (1, 8, 16, 32):
        xb = np.linspace(-1, 1, 2 * c_in * 5 * 16, dtype=np.float32).reshape(2, c_in, 5, 16)
        w = np.ones((32, c_in, 3, 3), np.float32)
        conv2d_batch_backward(xb, w, conv2d_batch(xb, w, padding="same"), padding="same")
    # 16-channel vector × 26 positions (9–16 output channels, rows >= 26): W4's input gradient
    # (3-wide kernel rows reuse each broadcast; other widths and column dilations one tap at a time).
    xb = np.linspace(-1, 1, 16 * 3 * 28, dtype=np.float32).reshape(1, 16, 3, 28)
    w = np.ones((16, 16, 3, 3), np.float32)
    for dilation in (1, (1, 2)):
        yb = conv2d_batch(xb, w, padding="same", dilation=dilation)
        conv2d_batch_backward(xb, w, yb, padding="same", dilation=dilation)
    return time.perf_counter() - t0
