"""How conv and dense layers draw their starting weights: Keras's way or PyTorch's.

``"keras"`` — Keras's defaults for ``Conv2D`` and ``Dense``, the layers the
chapter's code builds: Glorot-uniform weights, U(−b, b) with
b = √(6 / (fan_in + fan_out)), and zero biases (Glorot and Bengio, 2010).
``"pytorch"`` — ``nn.Conv2d`` and ``nn.Linear``: ``kaiming_uniform_(a=√5)``,
whose bound gain·√(3/fan_in) with gain = √(2/(1 + a²)) = √(1/3) is exactly
1/√fan_in, and biases U(−1/√fan_in, 1/√fan_in) too.

fan_in is in_features for a dense layer and C_in·kh·kw for a convolution;
fan_out is out_features and C_out·kh·kw.  Glorot's bound is 2.4× PyTorch's for
dense1 (3,136 → 128), and on 1,294 training digits the choice shows in the
held-out accuracy (measured over ten seeds in docs/PERFORMANCE.md, "The chapter
classifier").
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

INITS = ("keras", "pytorch")


def torch_default_uniform(rng: np.random.Generator, shape: tuple, fan_in: int, dtype=np.float32) -> np.ndarray:
    """U(−1/√fan_in, 1/√fan_in) of ``shape``, drawn in float64 and cast to ``dtype``."""
    if fan_in <= 0:
        raise InvalidArgument(f"fan_in must be positive; got {fan_in}")
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def glorot_uniform(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int, dtype=np.float32) -> np.ndarray:
    """U(−√(6/(fan_in + fan_out)), +√(6/(fan_in + fan_out))) of ``shape``, drawn in float64 and cast to ``dtype``."""
    if fan_in <= 0 or fan_out <= 0:
        raise InvalidArgument(f"fan_in and fan_out must be positive; got {fan_in} and {fan_out}")
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def check_init(init: str) -> str:
    if init not in INITS:
        raise InvalidArgument(f'init must be "keras" or "pytorch"; got {init!r}')
    return init


def weight_and_bias(init: str, rng: np.random.Generator, shapes: dict, fan_in: int, fan_out: int,
                    dtype) -> dict[str, np.ndarray]:
    """Starting ``weight`` and ``bias`` of a conv or dense layer (``shapes`` by those names), drawn as ``init`` says."""
    if check_init(init) == "keras":
        return {"weight": glorot_uniform(rng, shapes["weight"], fan_in, fan_out, dtype),
                "bias": np.zeros(shapes["bias"], dtype)}
    return {local: torch_default_uniform(rng, shape, fan_in, dtype) for local, shape in shapes.items()}
