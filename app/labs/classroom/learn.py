"""Learn a filter: recover a hidden kernel from input/output pairs by gradient descent.

The forward pass and the weight gradient are ConvLab's own ``conv2d`` and
``conv2d_backward`` (eq. 36.9); the loss is the mean squared error between the
estimate's outputs and the hidden kernel's outputs. Pure NumPy in, NumPy out.
"""
from __future__ import annotations

import numpy as np

from app import kernels

# Hidden kernels a teacher can pick; (kh, kw) float lists.
HIDDEN = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],  # the chapter's sign (section 36.7)
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box": [[1 / 9] * 3] * 3,
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def noise_inputs(count: int, size: int, seed: int) -> np.ndarray:
    """``count`` seeded standard-normal images (count, 1, size, size), float64.

    Zero-mean, unit-variance inputs make the loss surface round, so plain
    gradient descent approaches every weight at the same pace.
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, 1, size, size))


def learn_filter(inputs: np.ndarray, truth: np.ndarray, steps: int, lr: float, padding: int = 0,
                 seed: int = 0) -> dict:
    """Gradient descent on a single kh×kw kernel.

    Parameters
    ----------
    inputs : (N, 1, H, W) float64 training images.
    truth : (kh, kw) the hidden kernel; targets are ``conv2d(x, truth)``.
    steps : number of updates; lr : learning rate.
    seed : the starting estimate is seeded noise of scale 0.1.

    Returns
    -------
    dict with ``kernels`` (steps + 1, kh, kw), ``losses`` (steps + 1,) and
    ``grad_norms`` (steps + 1,): the estimate, loss and gradient norm before each update
    (the last entry is after the final update). When the loss diverges the run stops
    early and its last loss is ``inf``.
    """
    truth = np.asarray(truth, dtype=np.float64)
    kh, kw = truth.shape
    w_true = truth.reshape(1, 1, kh, kw)
    targets = [kernels.conv2d(x, w_true, padding=padding) for x in inputs]
    count = sum(t.size for t in targets)
    w = np.random.default_rng(seed).standard_normal((1, 1, kh, kw)) * 0.1
    history, losses, norms = [], [], []
    for step in range(steps + 1):
        loss, grad = 0.0, np.zeros_like(w)
        for x, t in zip(inputs, targets):
            y = kernels.conv2d(x, w, padding=padding)
            r = y - t
            loss += float(np.sum(r * r)) / count
            _, gw, _ = kernels.conv2d_backward(x, w, 2.0 * r / count, padding=padding)
            grad += gw
        history.append(w[0, 0].copy())
        losses.append(loss)
        norms.append(float(np.sqrt(np.sum(grad * grad))))
        if not loss < 1e12:  # diverged (lr too large): stop before the numbers overflow
            losses[-1] = float("inf")
            break
        if step < steps:
            w = w - lr * grad
    return {"kernels": np.stack(history), "losses": np.array(losses), "grad_norms": np.array(norms)}
