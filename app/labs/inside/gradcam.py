"""Grad-CAM (Selvaraju et al. 2017) on the last convolution block.

A = the last conv block's output after its ReLU and before pooling (the
chapter model: 64 maps of 14×14; the small model: 2F maps of 4×4).  Each map k
gets a weight α_k = the mean over its cells of ∂ logit_target / ∂ A_k, and the
class-activation map is ReLU(Σ_k α_k A_k) at A's own size — coarse, because
that layer sees the digit through two 2×2 poolings' worth of resolution less
one.  The page draws it over the digit; it is not upsampled here.
"""
from __future__ import annotations

import numpy as np

from .network import InspectNet
from .saliency import resolve_target, softmax


def gradcam(net: InspectNet, image, target: int | None = None) -> dict:
    """ReLU(Σ_k α_k A_k) for one image, with α (C,) and the prediction."""
    layer = net.cam_layer
    trace = net.forward(image)
    logits = trace.outputs[trace.last][0]
    p = softmax(logits.astype(np.float64))
    t = resolve_target(target, int(np.argmax(p)), net.classes)
    seed = np.zeros((1, net.classes), net.dtype)
    seed[0, t] = 1.0
    _, kept = net.backward(trace, seed, keep=(layer,))
    activation = trace.outputs[layer][0].astype(np.float64)   # (C, h, w)
    grad = kept[layer][0].astype(np.float64)
    alpha = grad.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(alpha, activation, axes=1), 0.0)
    return {"map": cam, "weights": alpha, "layer": layer, "probabilities": p, "predicted": int(np.argmax(p)),
            "target": t}
