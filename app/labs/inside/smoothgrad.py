"""SmoothGrad (Smilkov et al. 2017): the saliency map averaged over noisy copies of the image.

A single gradient is noisy in the way a ReLU network's gradient is: it jumps
wherever a unit switches on or off.  Averaging ∂ logit_target / ∂ pixels over
``samples`` copies x + ε, ε ~ N(0, σ²) per pixel, keeps what is stable under
small changes of the input.  σ is in pixel units (images lie in [0, 1], so it is
also the fraction of the value range that Smilkov et al. use); the copies are
not clipped.  All copies go through the network as one batch.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from .network import InspectNet
from .saliency import logit_gradient, predict, resolve_target

MAX_SAMPLES = 256


def noisy_copies(image: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """``samples`` copies of ``image`` (side, side) plus N(0, noise²) per pixel, from ``seed``."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise InvalidArgument(f"samples must be between 1 and {MAX_SAMPLES}; got {samples}")
    if not 0.0 <= noise <= 1.0:
        raise InvalidArgument(f"noise σ must be between 0 and 1 (pixel values lie in [0, 1]); got {noise}")
    rng = np.random.default_rng(seed)
    return image[None] + noise * rng.standard_normal((samples,) + image.shape)


def smoothgrad(net: InspectNet, image, target: int | None = None, samples: int = 25, noise: float = 0.15,
               seed: int = 0) -> dict:
    """Mean saliency over noisy copies (side × side, signed), with the clean image's prediction."""
    image = np.asarray(image, dtype=np.float64)
    p, predicted = predict(net, image)
    t = resolve_target(target, predicted, net.classes)
    grads, _ = logit_gradient(net, noisy_copies(image, samples, noise, seed), t)
    return {"map": grads.mean(axis=0, dtype=np.float64), "probabilities": p, "predicted": predicted, "target": t}
