"""Compute behind the Backward lab (and the Pooling lab's source maps): the maps a lab
starts from, the targets of a squared-error loss, and the upstream gradients δ sent
back (also the δ ``POST /api/conv2d`` builds from a described ``grad_output``).

NumPy + app.kernels only; no web code.  Every bad argument is a ``ValueError``
whose message names the field.
"""
from __future__ import annotations

import numpy as np

from app.kernels import conv2d
from app.errors import InvalidArgument

# Hand-designed 3×3 filters used as targets and as the Sobel feature-map source.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
SOBEL_Y = SOBEL_X.T.copy()
# The chapter's Laplacian (section 36.7): +4 at the centre, −1 at the four neighbours.
LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=np.float64)
TARGET_KERNELS = {"sobel_x": SOBEL_X, "sobel_y": SOBEL_Y, "laplacian": LAPLACIAN}
SOURCES = ("image", "sobel_x", "sobel_y", "sobel_mag")
TARGETS = ("sobel_x", "sobel_y", "laplacian", "zero")
DELTA_KINDS = ("ones", "one_hot", "random", "squared_error")


def _depthwise(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Apply one 3×3 kernel to every channel of x (C, H, W), same size, edges replicated."""
    c = x.shape[0]
    weight = np.broadcast_to(k, (c, 1, *k.shape)).astype(x.dtype)
    return conv2d(x, weight, padding="same", padding_mode="replicate", groups=c)


def feature_map(x: np.ndarray, source: str) -> np.ndarray:
    """The map the Pooling lab pools: the image itself or a Sobel response of each channel.

    ``sobel_mag`` is √(Gx² + Gy²); the others are signed.  Same H×W as ``x``.
    """
    if source == "image":
        return x
    if source == "sobel_mag":
        gx, gy = _depthwise(x, SOBEL_X), _depthwise(x, SOBEL_Y)
        return np.sqrt(gx * gx + gy * gy).astype(x.dtype)
    if source in ("sobel_x", "sobel_y"):
        return _depthwise(x, TARGET_KERNELS[source])
    raise InvalidArgument(f"source must be one of {', '.join(SOURCES)}; got {source!r}")


def target_map(x, out_shape, name, **geometry) -> np.ndarray:
    """A target for the squared-error loss, shaped like the layer's output (C_out, H_out, W_out).

    The named filter is applied to every input channel with the layer's own stride,
    padding, dilation and padding mode (so the shapes match) and summed, then
    repeated for each output channel; ``zero`` asks the layer to output nothing.
    """
    if name == "zero":
        return np.zeros(out_shape, dtype=x.dtype)
    if name not in TARGET_KERNELS:
        raise InvalidArgument(f"delta.target must be one of {', '.join(TARGETS)}; got {name!r}")
    k = TARGET_KERNELS[name]
    weight = np.broadcast_to(k, (1, x.shape[0], *k.shape)).astype(x.dtype)
    try:
        t = conv2d(x, weight, **geometry)
    except InvalidArgument as exc:
        raise InvalidArgument(f"delta.target: the 3×3 {name} target does not fit these settings ({exc})") from None
    if t.shape[1:] != tuple(out_shape[1:]):
        raise InvalidArgument(
            f"delta.target: the 3×3 {name} target gives a {t.shape[1]}×{t.shape[2]} map but the layer's output is "
            f"{out_shape[1]}×{out_shape[2]}; use a 3×3 kernel or another δ"
        )
    return np.repeat(t, out_shape[0], axis=0)


def make_delta(kind: str, shape, *, index=None, seed=0, output=None, target=None, dtype=np.float64) -> np.ndarray:
    """The upstream gradient δ = ∂L/∂y for the chosen kind, shaped like the output, in ``dtype``.

    ones: every output pixel counts once (L = Σ y); one_hot: only output pixel
    ``index`` = (c, i, j) (L = y[c, i, j]); random: seeded standard normal;
    squared_error: δ = y − t for L = ½ Σ (y − t)².  The one builder of δ: the labs
    and ``POST /api/conv2d``'s described ``grad_output`` both come here.
    """
    shape = tuple(int(n) for n in shape)
    if kind == "ones":
        return np.ones(shape, dtype=dtype)
    if kind == "random":
        return np.random.default_rng(seed).standard_normal(shape).astype(dtype, copy=False)
    if kind == "one_hot":
        if index is None or len(index) != 3:
            raise InvalidArgument("delta.index: a one_hot δ needs [c, y, x]")
        c, i, j = (int(v) for v in index)
        if not (0 <= c < shape[0] and 0 <= i < shape[1] and 0 <= j < shape[2]):
            raise InvalidArgument(
                f"delta.index: [{c}, {i}, {j}] is outside the output, which is {shape[0]}×{shape[1]}×{shape[2]} (C×H×W)"
            )
        d = np.zeros(shape, dtype=dtype)
        d[c, i, j] = 1.0
        return d
    if kind == "squared_error":
        if output is None or target is None:
            raise InvalidArgument("delta: a squared_error δ needs the output and a target")
        return np.asarray(output, dtype=dtype) - np.asarray(target, dtype=dtype)
    raise InvalidArgument(f"delta.kind must be one of {', '.join(DELTA_KINDS)}; got {kind!r}")
