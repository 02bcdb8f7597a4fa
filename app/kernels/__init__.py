"""ConvLab's compute core: NumPy in, NumPy out, Numba inside.

Public API (see ../shared/SPEC.md, "Python compute API — app.kernels"):
``conv2d``/``conv2d_backward``, ``pool2d``/``pool2d_backward``, ``flip_kernel``,
``relu``/``relu_backward``, ``pad2d``/``pad2d_backward`` and ``warmup``.
Every kernel takes float32 or float64 and returns the dtype of its input; bad
arguments raise ``ValueError`` naming the parameter and the numbers.
"""
import time

import numpy as np

from .act import relu, relu_backward
from .conv import conv2d, conv2d_backward, flip_kernel
from .padding import PADDING_MODES, pad2d, pad2d_backward
from .pool import POOL_KINDS, pool2d, pool2d_backward

__all__ = [
    "PADDING_MODES",
    "POOL_KINDS",
    "conv2d",
    "conv2d_backward",
    "flip_kernel",
    "pad2d",
    "pad2d_backward",
    "pool2d",
    "pool2d_backward",
    "relu",
    "relu_backward",
    "warmup",
]


def warmup():
    """Compile (or load from the cache) every Numba specialisation the server uses.

    Runs each public entry point once on tiny float32 and float64 inputs, with
    stride 1 and 2 and padding, so no request ever waits for the JIT.  Returns
    the seconds it took (~tens of seconds on a cold cache, well under 1 s warm).
    """
    t0 = time.perf_counter()
    for dtype in (np.float32, np.float64):
        x = np.linspace(-1, 1, 2 * 6 * 7, dtype=dtype).reshape(2, 6, 7)
        w = np.linspace(-1, 1, 2 * 2 * 3 * 3, dtype=dtype).reshape(2, 2, 3, 3)
        for stride in (1, 2):
            y = conv2d(x, w, np.ones(2, dtype), stride=stride, padding=1, padding_mode="reflect")
            conv2d_backward(x, w, y, stride=stride, padding=1, padding_mode="reflect")
        pad2d(x, 1, "zeros")
        pad2d_backward(pad2d(x, 1, "circular"), 1, "circular")
        for kind in POOL_KINDS:
            y, _ = pool2d(x, kind, 2, padding=1)
            pool2d_backward(x, y, kind, 2, padding=1)
        relu_backward(x, relu(x))
    return time.perf_counter() - t0
