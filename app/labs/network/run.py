"""Running a stack on an image: fitting the image to the input shape, weights
(random, edge detectors, ones), capping widths to a work budget, the forward pass and
the backward pass (for effective receptive fields)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import app.kernels as K
import numpy as np

from .layers import Layer, layer_macs, output_shape, parse_input_shape
from .summary import Row, analyse

# --------------------------------------------------------------------------- running a stack


def fit_image(x: np.ndarray, h: int, w: int) -> np.ndarray:
    """Centre-crop ``x`` (C, H, W) to the aspect ratio h:w, then resize it to h×w.

    Resampling is separable with a triangle filter widened by the scale factor when
    shrinking (so a photo reduced to 28×28 does not alias).
    """
    c, ih, iw = x.shape
    if ih * w > iw * h:  # too tall
        ch = max(1, round(iw * h / w))
        top = (ih - ch) // 2
        x = x[:, top : top + ch]
    elif ih * w < iw * h:
        cw = max(1, round(ih * w / h))
        left = (iw - cw) // 2
        x = x[:, :, left : left + cw]
    if x.shape[1:] == (h, w):
        return np.ascontiguousarray(x, dtype=np.float32)
    rh, rw = _resize_matrix(x.shape[1], h), _resize_matrix(x.shape[2], w)
    out = rh @ x.astype(np.float64) @ rw.T  # two matrix products, broadcast over channels
    return np.ascontiguousarray(out, dtype=np.float32)


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    scale = n_in / n_out
    support = max(1.0, scale)
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    taps = np.arange(n_in)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights


def match_channels(x: np.ndarray, c: int) -> np.ndarray:
    """Give a 1- or 3-channel image ``c`` channels: average to gray, then repeat."""
    if x.shape[0] == c:
        return x
    gray = x.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(np.repeat(gray, c, axis=0), dtype=np.float32)


# The chapter's hand-made edge kernels (section 36.7): Sobel x, Sobel y, Laplacian.
EDGE_KERNELS = np.array(
    [
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    ],
    dtype=np.float32,
)
EDGE_NAMES = ("Sobel x", "Sobel y", "Laplacian")


@dataclass
class Params:
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    note: str = ""


def widths(layers: Sequence[Layer], cap: int | None) -> list[Layer]:
    """The stack with conv filters and dense units capped at ``cap`` (None: as given)."""
    if cap is None:
        return list(layers)
    out = []
    for layer in layers:
        if layer.type == "conv":
            layer = replace(layer, filters=min(layer.filters, cap))
        elif layer.type == "dense":
            layer = replace(layer, units=min(layer.units, cap))
        out.append(layer)
    return out


def stack_macs(input_shape, layers: Sequence[Layer]) -> int:
    shape, total = tuple(input_shape), 0
    for i, layer in enumerate(layers):
        out = output_shape(layer, shape, i)
        total += layer_macs(layer, shape, out)
        shape = out
    return total


@dataclass(frozen=True)
class CappedStack:
    """A stack narrowed so that one forward pass fits a budget of multiply-adds."""

    input_shape: tuple[int, int, int]
    rows: list[Row]  # the stack as given, analysed
    layers: list[Layer]  # the stack as it runs
    cap: int  # at most this many filters per conv and units per dense layer
    macs: int  # multiply-adds of one forward pass of ``layers``

    @property
    def capped(self) -> bool:
        """Whether any layer runs narrower than it was given."""
        return any(a != b for a, b in zip(self.layers, (row.layer for row in self.rows)))


def cap_widths(input_shape, specs: Sequence[dict], max_channels: int, budget: int) -> CappedStack:
    """Analyse the stack (strictly) and cap its widths at ``max_channels``, halving the cap
    until a forward pass needs at most ``budget`` multiply-adds or the cap is down to 1.

    The maps on screen and the gradients then come from the same, narrower network.
    At a cap of 1 the stack may still be over budget: the caller compares ``macs``.
    """
    rows = analyse(input_shape, specs, strict=True)
    full = [row.layer for row in rows]
    cap = max_channels
    while True:
        layers = widths(full, cap)
        macs = stack_macs(input_shape, layers)
        if macs <= budget or cap == 1:
            return CappedStack(parse_input_shape(input_shape), rows, layers, cap, macs)
        cap = max(1, cap // 2)


def make_params(input_shape, layers: Sequence[Layer], weights: str = "random", seed: int = 0) -> list[Params]:
    """Weights for every layer: seeded He-normal ("random"), all ones ("ones"), or the
    chapter's edge kernels in the first conv's first filters ("edges", the rest random).

    Each layer draws from its own generator seeded by (seed, index), so editing one
    layer leaves the weights of the layers before it unchanged.
    """
    params, shape, first_conv = [], tuple(input_shape), True
    for i, layer in enumerate(layers):
        out = output_shape(layer, shape, i)
        rng = np.random.default_rng([seed, i])
        p = Params()
        if layer.type in ("conv", "dense"):
            if layer.type == "conv":
                wshape = (layer.filters, shape[0], *layer.kernel)
            else:
                wshape = (layer.units, shape[0])
            fan_in = math.prod(wshape[1:])
            if weights == "ones":
                p.weight = np.ones(wshape, np.float32)
            else:
                p.weight = (rng.standard_normal(wshape) * math.sqrt(2.0 / fan_in)).astype(np.float32)
            # A small positive bias keeps ReLUs on flat dark regions alive, so most units
            # have a non-zero gradient to show.
            p.bias = np.full(wshape[0], 0.0 if weights == "ones" else 0.05, np.float32)
            if weights == "edges" and layer.type == "conv" and first_conv:
                p.note = _put_edges(p.weight)
            if layer.type == "conv":
                first_conv = False
        params.append(p)
        shape = out
    return params


def _put_edges(w: np.ndarray) -> str:
    """Write Sobel x, Sobel y and the Laplacian into the first filters of ``w`` (in place)."""
    c_out, c_in, kh, kw = w.shape
    if kh < 3 or kw < 3:
        return "edge kernels need a kernel of at least 3×3: random weights instead"
    top, left = (kh - 3) // 2, (kw - 3) // 2
    n = min(c_out, len(EDGE_KERNELS))
    for f in range(n):
        w[f] = 0
        w[f, :, top : top + 3, left : left + 3] = EDGE_KERNELS[f] / c_in
    return f"filters 0–{n - 1}: {', '.join(EDGE_NAMES[:n])}; the rest random"


@dataclass
class Trace:
    """Everything a forward pass keeps for the backward pass."""

    inputs: list[np.ndarray]  # input of each layer
    pre: list[np.ndarray | None]  # pre-activation of conv/dense layers with a fused ReLU
    outputs: list[np.ndarray]


# Each layer type's forward beside its backward. The backward gives the input gradient
# only: effective receptive fields need no weight gradients. ``gates="linear"`` lets δ
# through every ReLU as if it were the identity.

def _conv_forward(layer, p, a):
    return K.conv2d(a, p.weight, p.bias, layer.stride, layer.padding, layer.dilation, layer.padding_mode)


def _conv_backward(layer, p, a, g, gates):
    return K.conv2d_backward(a, p.weight, g, layer.stride, layer.padding, layer.dilation, layer.padding_mode)[0]


def _pool_forward(layer, p, a):
    return K.pool2d(a, layer.kind, layer.kernel, layer.stride, layer.padding)[0]


def _pool_backward(layer, p, a, g, gates):
    return K.pool2d_backward(a, g, layer.kind, layer.kernel, layer.stride, layer.padding)


def _relu_forward(layer, p, a):
    return K.relu(a)


def _relu_backward(layer, p, a, g, gates):
    return K.relu_backward(a, g) if gates == "relu" else g


def _flatten_forward(layer, p, a):
    return a.reshape(-1)


def _flatten_backward(layer, p, a, g, gates):
    return g.reshape(a.shape)


def _dense_forward(layer, p, a):
    return (p.weight @ a + p.bias).astype(a.dtype)


def _dense_backward(layer, p, a, g, gates):
    return (p.weight.T @ g).astype(a.dtype)


STEPS = {
    "conv": (_conv_forward, _conv_backward),
    "pool": (_pool_forward, _pool_backward),
    "relu": (_relu_forward, _relu_backward),
    "flatten": (_flatten_forward, _flatten_backward),
    "dense": (_dense_forward, _dense_backward),
}


def forward(x: np.ndarray, layers: Sequence[Layer], params: Sequence[Params]) -> Trace:
    """Run the stack on ``x`` (C, H, W) with ConvLab's kernels; dense layers are a matrix product."""
    trace = Trace([], [], [])
    a = x
    for layer, p in zip(layers, params):
        trace.inputs.append(a)
        y = STEPS[layer.type][0](layer, p, a)
        pre = None
        if layer.activation == "relu":  # a ReLU fused into a conv or dense layer
            pre, y = y, K.relu(y)
        trace.pre.append(pre)
        trace.outputs.append(y)
        a = y
    return trace


@dataclass
class StackRun:
    """A capped stack run on an image: the input it saw, its weights and every layer's output."""

    stack: CappedStack
    x: np.ndarray  # (C, H, W) the image fitted to the stack's input shape
    params: list[Params]
    trace: Trace


def run_stack(stack: CappedStack, image: np.ndarray, weights: str = "random", seed: int = 0) -> StackRun:
    """Fit ``image`` (C, H, W) to the stack's input, make its weights and run it forward."""
    c, h, w = stack.input_shape
    x = match_channels(fit_image(image, h, w), c)
    params = make_params(stack.input_shape, stack.layers, weights, seed)
    return StackRun(stack, x, params, forward(x, stack.layers, params))


def backward(
    trace: Trace,
    layers: Sequence[Layer],
    params: Sequence[Params],
    upto: int,
    grad: np.ndarray,
    gates: str = "relu",
) -> np.ndarray:
    """Backpropagate ``grad`` (shaped like the output of layer ``upto``) to the input.

    ``gates="relu"`` is the true gradient; ``"linear"`` lets δ through every ReLU as if
    it were the identity (the ERF of the linear network, Luo et al. 2016). Uses
    ConvLab's backward passes: conv2d_backward (eq. 36.10), pool2d_backward, relu_backward.
    """

    g = grad
    for i in range(upto, -1, -1):
        layer, p, a = layers[i], params[i], trace.inputs[i]
        if layer.activation == "relu" and gates == "relu":
            g = K.relu_backward(trace.pre[i], g)
        g = STEPS[layer.type][1](layer, p, a, g, gates)
    return g
