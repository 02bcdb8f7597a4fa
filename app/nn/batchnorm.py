"""Batch normalisation over (N, H, W) for each channel, as PyTorch's ``nn.BatchNorm2d``.

Training (Ioffe & Szegedy 2015), per channel c with m = N·H·W values::

    μ_c = mean(x[:, c]),  σ²_c = mean((x[:, c] − μ_c)²)          (biased, for normalising)
    x̂ = (x − μ_c) / √(σ²_c + ε),  y = γ_c x̂ + β_c
    running_mean ← (1 − momentum)·running_mean + momentum·μ_c
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_c·m/(m − 1)   (unbiased)

with PyTorch's ε = 1e-5 and momentum = 0.1 (Keras's ``layer_batch_normalization``
uses ε = 1e-3 and keeps 0.99 of the old statistics: the same rule, other numbers).
Inference uses the running statistics, so the layer is the per-channel affine
map y = x·γ/√(running_var + ε) + (β − running_mean·γ/√(running_var + ε)).

Backward in training mode, with sums over (N, H, W)::

    dL/dβ = Σ δ,  dL/dγ = Σ δ x̂,
    dL/dx = γ/(m √(σ² + ε)) · (m δ − Σ δ − x̂ Σ δ x̂)

(the last two terms are the gradient flowing through μ and σ²).  In inference
mode the statistics are constants and dL/dx = δ γ/√(running_var + ε).
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument
from app.kernels.norm import (
    batch_norm_train_backward,
    batch_norm_train_forward,
    channel_affine,
)

from .sequential import Layer

EPS = 1e-5
MOMENTUM = 0.1


def _per_channel(v: np.ndarray) -> np.ndarray:
    """Reshape a (C,) vector to broadcast over (N, C, H, W)."""
    return v.reshape(1, -1, 1, 1)


def _channel_sum(x: np.ndarray) -> np.ndarray:
    """Σ over (N, H, W) of x (N, C, H, W) → (C,): rows of H·W first (contiguous), then over N."""
    n, c = x.shape[:2]
    return x.reshape(n, c, -1).sum(axis=2).sum(axis=0)


def batch_norm(x, gamma, beta, running_mean, running_var, eps=EPS, momentum=MOMENTUM):
    """Training-mode batch norm of x (N, C, H, W); updates the running statistics in place.

    The sweeps over the batch are ``app.kernels.norm`` (two per pass instead of
    NumPy's seven or eight).  Returns (y, saved) where saved = (x, μ, 1/√(σ² + ε), γ)
    is what ``batch_norm_backward`` needs (it recomputes x̂ from x).
    """
    n, c, h, w = x.shape
    m = n * h * w
    if m < 2:
        raise InvalidArgument(f"batch norm in training mode needs more than one value per channel; got {x.shape}")
    y, mean, var, inv_std = batch_norm_train_forward(x, gamma, beta, eps)
    running_mean *= 1.0 - momentum
    running_mean += (momentum * mean).astype(running_mean.dtype)
    running_var *= 1.0 - momentum
    running_var += (momentum * var * (m / (m - 1))).astype(running_var.dtype)
    return y, (x, mean, inv_std, gamma)


def batch_norm_backward(saved, grad_output, input_grad=True):
    """Gradients of training-mode ``batch_norm``: (dL/dx or None, dL/dγ, dL/dβ)."""
    x, mean, inv_std, gamma = saved
    return batch_norm_train_backward(x, gamma, mean, inv_std, grad_output, input_grad)


def batch_norm_inference(x, gamma, beta, running_mean, running_var, eps=EPS):
    """Inference-mode batch norm: the per-channel affine map of the running statistics.

    Returns (y, saved) with saved = (x, running_mean, 1/√(running_var + ε), scale) for the backward pass.
    """
    inv_std = (1.0 / np.sqrt(running_var + eps)).astype(x.dtype)
    scale = gamma * inv_std
    y = channel_affine(x, scale, beta - running_mean * scale)
    return y, (x, running_mean, inv_std, scale)


def batch_norm_inference_backward(saved, grad_output, input_grad=True):
    """Gradients of ``batch_norm_inference``: dL/dx = δ·γ/√(running_var + ε); dL/dγ = Σ δ x̂; dL/dβ = Σ δ."""
    x, running_mean, inv_std, scale = saved
    g_beta = _channel_sum(grad_output)
    g_gamma = _channel_sum(grad_output * ((x - _per_channel(running_mean)) * _per_channel(inv_std)))
    gx = grad_output * _per_channel(scale) if input_grad else None
    return gx, g_gamma, g_beta


class BatchNorm2d(Layer):
    """``nn.BatchNorm2d(channels)``: γ = 1, β = 0, running mean 0 and variance 1 at the start."""

    def __init__(self, name: str, channels: int, eps: float = EPS, momentum: float = MOMENTUM):
        self.name, self.channels, self.eps, self.momentum = name, channels, eps, momentum

    def param_shapes(self):
        return {"weight": (self.channels,), "bias": (self.channels,)}

    def buffer_shapes(self):
        return {"running_mean": (self.channels,), "running_var": (self.channels,)}

    def initial(self, rng, dtype):
        c = self.channels
        return {"weight": np.ones(c, dtype), "bias": np.zeros(c, dtype),
                "running_mean": np.zeros(c, dtype), "running_var": np.ones(c, dtype)}

    def forward(self, p, x, train, rng):
        if train:
            y, saved = batch_norm(x, p["weight"], p["bias"], p["running_mean"], p["running_var"],
                                  self.eps, self.momentum)
        else:
            y, saved = batch_norm_inference(x, p["weight"], p["bias"], p["running_mean"], p["running_var"], self.eps)
        return y, (train, saved)

    def backward(self, p, saved, gy, input_grad, param_grads):
        train, inner = saved
        gx, g_gamma, g_beta = (batch_norm_backward if train else batch_norm_inference_backward)(inner, gy, input_grad)
        return gx, ({"weight": g_gamma, "bias": g_beta} if param_grads else {})
