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
from .saliency import explain_one


def gradcam(net: InspectNet, image, target: int | None = None) -> dict:
    """ReLU(Σ_k α_k A_k) for one image, with α (C,) and the prediction."""
    layer = net.cam_layer
    out = explain_one(net, image, target, keep=(layer,))
    activation = out["trace"].outputs[layer][0].astype(np.float64)   # (C, h, w)
    alpha = out["kept"][layer][0].astype(np.float64).mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(alpha, activation, axes=1), 0.0)
    return {"map": cam, "weights": alpha, "layer": layer, "probabilities": out["probabilities"],
            "predicted": out["predicted"], "target": out["target"]}
