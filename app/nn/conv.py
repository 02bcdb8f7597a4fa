"""Convolution and max-pooling layers over a batch, around ConvLab's batched kernels.

The arithmetic is ``app.kernels``: ``conv2d_batch`` (chapter eq. 36.3 for every
image), ``conv2d_batch_backward`` (eq. 36.9 summed over the batch for the
weights, eq. 36.10 for the input), ``pool2d_batch`` / ``pool2d_batch_backward``
(eq. 36.7, the gradient routed to each window's maximum).  This module only
fixes the chapter's choices — 3×3 "same" convolution (stride 1, one cell of zero
padding), 2×2 max pooling with stride 2 — and keeps what backward needs.
"""
from __future__ import annotations

from app.errors import InvalidArgument
from app.kernels import (
    conv2d_batch,
    conv2d_batch_backward,
    pool2d_batch,
    pool2d_batch_backward,
)

from .activation import relu, relu_backward
from .init import check_init, weight_and_bias
from .sequential import Layer


def conv2d_same(x, weight, bias):
    """Eq. 36.3, 'same' for odd k: x (N, C, H, W), weight (F, C, k, k), bias (F,) → (N, F, H, W)."""
    return conv2d_batch(x, weight, bias, stride=1, padding=weight.shape[-1] // 2)


def conv2d_same_backward(x, weight, grad_output, input_grad=True):
    """(dL/dx or None, dL/dW, dL/db) of ``conv2d_same`` (eqs. 36.10 and 36.9, summed over the batch)."""
    return conv2d_batch_backward(x, weight, grad_output, stride=1, padding=weight.shape[-1] // 2,
                                 input_grad=input_grad)


def max_pool2(x):
    """Eq. 36.7, 2×2 windows, stride 2: (N, C, H, W) → ((N, C, H/2, W/2), argmax of each window)."""
    return pool2d_batch(x, "max", 2)


def max_pool2_backward(x, grad_output, argmax):
    """dL/dx of ``max_pool2``: each δ goes to its window's maximum (ties: the first, as in the forward)."""
    return pool2d_batch_backward(x, grad_output, "max", 2, argmax=argmax)


class Conv2d(Layer):
    """``nn.Conv2d(c_in, c_out, k, padding="same")``; ``init`` "pytorch" or "keras" (``app.nn.init``)."""

    def __init__(self, name: str, in_channels: int, out_channels: int, kernel_size: int = 3, init: str = "pytorch"):
        if kernel_size % 2 != 1:
            raise InvalidArgument(f"'same' padding here needs an odd kernel size; got {kernel_size}")
        self.name, self.in_channels, self.out_channels, self.kernel_size = name, in_channels, out_channels, kernel_size
        self.init = check_init(init)

    def param_shapes(self):
        k = self.kernel_size
        return {"weight": (self.out_channels, self.in_channels, k, k), "bias": (self.out_channels,)}

    def initial(self, rng, dtype):
        taps = self.kernel_size ** 2
        return weight_and_bias(self.init, rng, self.param_shapes(), self.in_channels * taps, self.out_channels * taps,
                               dtype)

    def forward(self, p, x, train, rng):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise InvalidArgument(f"{self.name} expects (N, {self.in_channels}, H, W); got {x.shape}")
        return conv2d_same(x, p["weight"], p["bias"]), x

    def backward(self, p, x, gy, input_grad, param_grads):
        gx, gw, gb = conv2d_same_backward(x, p["weight"], gy, input_grad)
        return gx, ({"weight": gw, "bias": gb} if param_grads else {})


class MaxPool2d(Layer):
    """``nn.MaxPool2d(2)``."""

    def __init__(self, name: str):
        self.name = name

    def forward(self, p, x, train, rng):
        y, argmax = max_pool2(x)
        return y, (x, argmax)

    def backward(self, p, saved, gy, input_grad, param_grads):
        x, argmax = saved
        return (max_pool2_backward(x, gy, argmax) if input_grad else None), {}


class ReLUMaxPool2d(Layer):
    """ReLU then 2×2 max pooling, computed as max pooling then ReLU: the same numbers, a quarter of the ReLU work.

    ReLU is monotone, so max(ReLU(a), ReLU(b), ...) = ReLU(max(a, b, ...)):
    pooling first leaves ReLU (and its backward) a map four times smaller and
    never writes the full-size ReLU output.  The gradient is the same too:
    where a window's maximum is positive, both orders pick the same winner;
    where it is not, ReLU's zero gradient stops δ in both.  ``Sequential``
    uses this in place of a ``ReLU`` followed by a ``MaxPool2d`` when asked not
    to record every layer's output (training steps); it takes the pool's name.
    """

    def __init__(self, name: str):
        self.name = name

    def forward(self, p, x, train, rng):
        pooled, argmax = max_pool2(x)
        y = relu(pooled)
        return y, (x, argmax, y)

    def backward(self, p, saved, gy, input_grad, param_grads):
        if not input_grad:
            return None, {}
        x, argmax, y = saved
        return max_pool2_backward(x, relu_backward(y, gy), argmax), {}
