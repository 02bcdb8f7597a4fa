"""Dense (fully connected) layer, y = x Wᵀ + b, and the flatten before it.

W is stored as PyTorch stores it, (out_features, in_features), so
``dense1.weight`` has the same layout as ``nn.Linear.weight``.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from .init import check_init, weight_and_bias
from .sequential import Layer


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """y[n, o] = Σ_i x[n, i] W[o, i] + b[o]: x (N, in), W (out, in), b (out,) → (N, out)."""
    y = x @ weight.T
    y += bias
    return y


def dense_backward(x: np.ndarray, weight: np.ndarray, grad_output: np.ndarray, input_grad: bool = True):
    """Gradients of ``dense`` for upstream δ = dL/dy (N, out).

    dL/dW = δᵀ x (out, in), dL/db = Σ_n δ[n], dL/dx = δ W (N, in); returns
    (dL/dx or None, dL/dW, dL/db).
    """
    gw = grad_output.T @ x
    gb = grad_output.sum(axis=0)
    gx = grad_output @ weight if input_grad else None
    return gx, gw, gb


class Dense(Layer):
    """``nn.Linear(in_features, out_features)``; ``init`` "pytorch" or "keras" (``app.nn.init``)."""

    def __init__(self, name: str, in_features: int, out_features: int, init: str = "pytorch"):
        self.name, self.in_features, self.out_features = name, in_features, out_features
        self.init = check_init(init)

    def param_shapes(self):
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def initial(self, rng, dtype):
        return weight_and_bias(self.init, rng, self.param_shapes(), self.in_features, self.out_features, dtype)

    def forward(self, p, x, train, rng):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise InvalidArgument(f"{self.name} expects (N, {self.in_features}); got {x.shape}")
        return dense(x, p["weight"], p["bias"]), x

    def backward(self, p, x, gy, input_grad, param_grads):
        if not param_grads:
            return (gy @ p["weight"] if input_grad else None), {}
        gx, gw, gb = dense_backward(x, p["weight"], gy, input_grad)
        return gx, {"weight": gw, "bias": gb}


class Flatten(Layer):
    """(N, C, H, W) → (N, C·H·W) in C, H, W order (a view of the contiguous batch)."""

    def __init__(self, name: str = "flatten"):
        self.name = name

    def forward(self, p, x, train, rng):
        return x.reshape(len(x), -1), x.shape

    def backward(self, p, shape, gy, input_grad, param_grads):
        return (gy.reshape(shape) if input_grad else None), {}
