"""Optimisers that update a dict of parameter arrays in place.

Adam follows Kingma & Ba (2015), Algorithm 1, as PyTorch's ``torch.optim.Adam``
implements it: for step t = 1, 2, ... and gradient g::

    m ← β₁ m + (1 − β₁) g,      v ← β₂ v + (1 − β₂) g²
    m̂ = m / (1 − β₁ᵗ),          v̂ = v / (1 − β₂ᵗ)
    θ ← θ − lr · m̂ / (√v̂ + ε)

Defaults lr = 1e-3, β₁ = 0.9, β₂ = 0.999 (the chapter's ``optimizer = "adam"``).
ε: ConvLab takes PyTorch's 1e-8 with ε added to √v̂, because everything else in
the chapter model (initialisation, batch norm) follows PyTorch so that a run
compares with a PyTorch run.  Keras's Adam uses ε = 1e-7 and adds it to the
uncorrected √v (ε̂ of the paper's §2); with gradients of this size the two
differ only in the first few steps, and only in the last digits.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument
from app.kernels.update import adam_update


class Adam:
    """Adam with bias correction; ``lr`` may change between steps."""

    def __init__(self, params: dict[str, np.ndarray], lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        if lr <= 0:
            raise InvalidArgument(f"lr must be positive; got {lr}")
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise InvalidArgument(f"betas must be in [0, 1); got {beta1}, {beta2}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter that has a gradient (in place)."""
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for k, g in grads.items():
            # One parallel sweep per tensor (app.kernels.update) instead of NumPy's dozen.
            adam_update(params[k], g, self.m[k], self.v[k], self.beta1, self.beta2,
                        self.lr / c1, 1.0 / np.sqrt(c2), self.eps)

    def state_dict(self) -> dict:
        return {"t": self.t, "m": {k: a.copy() for k, a in self.m.items()}, "v": {k: a.copy() for k, a in self.v.items()}}


class SGD:
    """Stochastic gradient descent, optionally with PyTorch's momentum: b ← μ b + g; θ ← θ − lr b."""

    def __init__(self, params: dict[str, np.ndarray], lr: float = 0.01, momentum: float = 0.0):
        if lr <= 0:
            raise InvalidArgument(f"lr must be positive; got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise InvalidArgument(f"momentum must be in [0, 1); got {momentum}")
        self.lr, self.momentum = lr, momentum
        self.buf = {k: np.zeros_like(v) for k, v in params.items()} if momentum else {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for k, g in grads.items():
            dt = params[k].dtype.type
            if self.momentum:
                b = self.buf[k]
                b *= dt(self.momentum)
                b += g
                g = b
            params[k] -= dt(self.lr) * g
