"""Batch normalisation's per-channel passes over an (N, C, H, W) batch, forward beside backward.

``app.nn.batchnorm`` holds the equations; these kernels only make their
training-mode passes cheap: NumPy needs about seven sweeps over the batch for
the forward and eight for the backward, one thread each; here the forward is
two sweeps (statistics, then y = x·scale + shift) and the backward two
(Σδ and Σδ·x̂, then dL/dx), each channel a parallel task.  x̂ is recomputed
from x in the backward instead of being stored.

Sums run in float64 whatever the input's dtype, shifted by the channel's first
value (Σ(x − K), Σ(x − K)²), so E[x²] − E[x]² does not cancel away the variance.
"""
import numpy as np
from numba import prange

from ._jit import kernel


@kernel(parallel=True, reduce=True)
def _channel_mean_var(x, mean, var):
    """Fill mean[c] and the biased var[c] of x[:, c] over (N, H·W); x is (N, C, H·W)."""
    n_img, c_n, hw = x.shape
    m = n_img * hw
    for c in prange(c_n):
        k = np.float64(x[0, c, 0])
        s = 0.0
        s2 = 0.0
        for n in range(n_img):
            row = x[n, c]
            for i in range(hw):
                d = np.float64(row[i]) - k
                s += d
                s2 += d * d
        mu = s / m
        mean[c] = k + mu
        var[c] = max(s2 / m - mu * mu, 0.0)


@kernel(parallel=True)
def _channel_affine(x, scale, shift, y):
    """y[n, c] = x[n, c]·scale[c] + shift[c]; x, y (N, C, H·W)."""
    n_img, c_n, hw = x.shape
    for t in prange(n_img * c_n):
        n = t // c_n
        c = t - n * c_n
        a = scale[c]
        b = shift[c]
        src = x[n, c]
        dst = y[n, c]
        for i in range(hw):
            dst[i] = src[i] * a + b


@kernel(parallel=True, reduce=True)
def _channel_grad_sums(x, gy, mean, inv_std, sum_gy, sum_gy_xhat):
    """sum_gy[c] = Σ δ and sum_gy_xhat[c] = Σ δ·(x − μ_c)/σ_c over (N, H·W)."""
    n_img, c_n, hw = x.shape
    for c in prange(c_n):
        mu = mean[c]
        s = 0.0
        sx = 0.0
        for n in range(n_img):
            xr = x[n, c]
            gr = gy[n, c]
            for i in range(hw):
                g = np.float64(gr[i])
                s += g
                sx += g * (np.float64(xr[i]) - mu)
        sum_gy[c] = s
        sum_gy_xhat[c] = sx * inv_std[c]


@kernel(parallel=True)
def _channel_grad_input(x, gy, mean, inv_std, coef, sum_gy, sum_gy_xhat, m, gx):
    """gx = coef_c·(m·δ − Σδ − x̂·Σδx̂) with x̂ = (x − μ_c)·inv_std_c and coef_c = γ_c·inv_std_c/m."""
    n_img, c_n, hw = x.shape
    for t in prange(n_img * c_n):
        n = t // c_n
        c = t - n * c_n
        mu = mean[c]
        s = inv_std[c]
        k = coef[c]
        a = sum_gy[c]
        b = sum_gy_xhat[c]
        xr = x[n, c]
        gr = gy[n, c]
        dst = gx[n, c]
        for i in range(hw):
            dst[i] = k * (m * gr[i] - a - (xr[i] - mu) * s * b)


def batch_norm_train_forward(x, gamma, beta, eps):
    """Training-mode batch norm of a contiguous x (N, C, H, W).

    Returns (y, mean, biased var, inv_std), the statistics as float64 (C,) and
    y in the dtype of x.
    """
    n, c, h, w = x.shape
    x3 = np.ascontiguousarray(x).reshape(n, c, h * w)
    mean = np.empty(c)
    var = np.empty(c)
    _channel_mean_var(x3, mean, var)
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = (gamma * inv_std).astype(x.dtype)
    shift = (beta - mean * gamma * inv_std).astype(x.dtype)
    y = np.empty_like(x3)
    _channel_affine(x3, scale, shift, y)
    return y.reshape(x.shape), mean, var, inv_std


def batch_norm_train_backward(x, gamma, mean, inv_std, grad_output, input_grad=True):
    """(dL/dx or None, dL/dγ, dL/dβ) of ``batch_norm_train_forward`` for upstream δ, x̂ recomputed from x."""
    n, c, h, w = x.shape
    x3 = np.ascontiguousarray(x).reshape(n, c, h * w)
    g3 = np.ascontiguousarray(grad_output, dtype=x.dtype).reshape(n, c, h * w)
    sum_gy = np.empty(c)
    sum_gy_xhat = np.empty(c)
    _channel_grad_sums(x3, g3, mean, inv_std, sum_gy, sum_gy_xhat)
    g_gamma, g_beta = sum_gy_xhat.astype(x.dtype), sum_gy.astype(x.dtype)
    if not input_grad:
        return None, g_gamma, g_beta
    m = n * h * w
    gx = np.empty_like(x3)
    dt = x.dtype.type
    _channel_grad_input(x3, g3, mean.astype(x.dtype), inv_std.astype(x.dtype),
                        (gamma * inv_std / m).astype(x.dtype), sum_gy.astype(x.dtype), sum_gy_xhat.astype(x.dtype),
                        dt(m), gx)
    return gx.reshape(x.shape), g_gamma, g_beta


def channel_affine(x, scale, shift):
    """y[n, c] = x[n, c]·scale[c] + shift[c] for x (N, C, H, W) in one parallel sweep (batch norm in inference)."""
    n, c, h, w = x.shape
    x3 = np.ascontiguousarray(x).reshape(n, c, h * w)
    y = np.empty_like(x3)
    _channel_affine(x3, np.ascontiguousarray(scale, dtype=x.dtype), np.ascontiguousarray(shift, dtype=x.dtype), y)
    return y.reshape(x.shape)
