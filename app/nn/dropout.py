"""Inverted dropout: zero each unit with probability p while training, scale the rest by 1/(1 − p).

Scaling at training time keeps E[y] = x, so inference is the identity (Keras's
``layer_dropout`` and PyTorch's ``nn.Dropout`` both do this).  The mask is drawn
from a caller's ``numpy.random.Generator``, so a seeded run repeats exactly.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from .sequential import Layer


def dropout_mask(shape: tuple, rate: float, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """m = keep/(1 − rate) with keep ~ Bernoulli(1 − rate): each entry 0 or 1/(1 − rate)."""
    if not 0.0 <= rate < 1.0:
        raise InvalidArgument(f"dropout rate must be in [0, 1); got {rate}")
    keep = rng.random(shape) >= rate
    return keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - rate))


def dropout(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """y = x ⊙ m."""
    return x * mask


def dropout_backward(mask: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = δ ⊙ m (the same mask as the forward pass)."""
    return grad_output * mask


class Dropout(Layer):
    """``nn.Dropout(rate)``: a fresh mask per training batch from the forward pass's ``rng``; identity in inference."""

    def __init__(self, name: str, rate: float):
        if not 0.0 <= rate < 1.0:
            raise InvalidArgument(f"dropout rate must be in [0, 1); got {rate}")
        self.name, self.rate = name, float(rate)

    def forward(self, p, x, train, rng):
        if not train or self.rate == 0.0:
            return x, None
        if rng is None:
            raise InvalidArgument("dropout in training mode needs a random generator (rng)")
        mask = dropout_mask(x.shape, self.rate, rng, x.dtype)
        return dropout(x, mask), mask

    def backward(self, p, mask, gy, input_grad, param_grads):
        if not input_grad:
            return None, {}
        return (gy if mask is None else dropout_backward(mask, gy)), {}
