"""Softmax and the sparse categorical cross-entropy of the chapter's ``compile`` call.

For logits z (N, K) and integer labels y::

    log p[n, k] = z[n, k] − max_j z[n, j] − log Σ_j exp(z[n, j] − max_j z[n, j])
    L = −(1/N) Σ_n log p[n, y_n]
    dL/dz[n, k] = (p[n, k] − [k = y_n]) / N

Subtracting the row maximum first keeps every exp ≤ 1, so nothing overflows
however large the logits grow.  The model's last dense layer outputs logits and
the softmax lives here, fused with the loss (Keras's ``activation = "softmax"``
followed by the cross-entropy is the same function).
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, shifted by the row maximum."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean cross-entropy of softmax(logits) against integer labels.

    Returns (loss as a float, dL/dlogits (N, K) in the logits' dtype, probabilities (N, K)).
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    n, k = logits.shape
    if labels.shape != (n,):
        raise InvalidArgument(f"labels has shape {labels.shape}; expected ({n},) for logits of shape {logits.shape}")
    if n and (labels.min() < 0 or labels.max() >= k):
        raise InvalidArgument(f"labels must be class indices in [0, {k}); got {labels.min()}..{labels.max()}")
    log_p = log_softmax(logits)
    rows = np.arange(n)
    loss = -float(log_p[rows, labels].mean())
    p = np.exp(log_p)
    grad = p.copy()
    grad[rows, labels] -= 1.0
    grad /= n
    return loss, grad.astype(logits.dtype, copy=False), p
