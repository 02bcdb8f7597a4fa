"""PyTorch's default initialisation of conv and linear layers.

``nn.Conv2d`` and ``nn.Linear`` draw their weights with
``kaiming_uniform_(a=√5)``: the bound is gain·√(3/fan_in) with
gain = √(2/(1 + a²)) = √(1/3), which is exactly 1/√fan_in; their biases are
U(−1/√fan_in, 1/√fan_in) too.  fan_in is in_features for a dense layer and
C_in·kh·kw for a convolution.  (Keras would use Glorot-uniform weights and zero
biases; ConvLab follows PyTorch so its runs compare with a PyTorch run of the
same model.)
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument


def torch_default_uniform(rng: np.random.Generator, shape: tuple, fan_in: int, dtype=np.float32) -> np.ndarray:
    """U(−1/√fan_in, 1/√fan_in) of ``shape``, drawn in float64 and cast to ``dtype``."""
    if fan_in <= 0:
        raise InvalidArgument(f"fan_in must be positive; got {fan_in}")
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
