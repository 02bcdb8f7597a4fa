"""Saliency: the gradient of one class's logit with respect to the pixels.

The Backward lab shows that a convolution's input gradient is the full
convolution of δ with the flipped kernel (chapter eq. 36.10).  Apply that rule
layer after layer, from a one-hot δ on the logits all the way down to the
input, and the result is ∂ logit_target / ∂ pixels: a signed map of how much
each pixel would move the class score (Simonyan, Vedaldi & Zisserman 2014).
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from .network import CHUNK, InspectNet


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (N, K), shifted by the row maximum so exp never overflows."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def resolve_target(target: int | None, predicted: int, classes: int) -> int:
    """The class to explain: ``target``, or the predicted class when it is None."""
    if target is None:
        return int(predicted)
    if not 0 <= int(target) < classes:
        raise InvalidArgument(f"target must be a class between 0 and {classes - 1}, or null for the predicted class; "
                         f"got {target}")
    return int(target)


def predict(net: InspectNet, image) -> tuple[np.ndarray, int]:
    """(probabilities (classes,), predicted class) of one image."""
    p = softmax(net.logits(image)[0].astype(np.float64))
    return p, int(np.argmax(p))


def logit_gradient(net: InspectNet, images, targets) -> tuple[np.ndarray, np.ndarray]:
    """∂ logit_targets[n] / ∂ images[n] for a batch: returns (gradients (N, side, side), logits (N, classes)).

    One forward and one input-only backward per chunk of ``CHUNK`` images.
    """
    x = net.as_batch(images)
    targets = np.broadcast_to(np.asarray(targets, dtype=np.int64), (len(x),))
    grads = np.empty((len(x), net.side, net.side), net.dtype)
    logits = np.empty((len(x), net.classes), net.dtype)
    for i in range(0, len(x), CHUNK):
        trace = net.forward(x[i:i + CHUNK])
        out = trace.outputs[trace.last]
        seed = np.zeros_like(out)
        seed[np.arange(len(out)), targets[i:i + CHUNK]] = 1.0
        grads[i:i + CHUNK] = net.backward(trace, seed)[0]
        logits[i:i + CHUNK] = out
    return grads, logits


def explain_one(net: InspectNet, image, target: int | None, keep=()) -> dict:
    """One image forward, then back from a one-hot δ on logit_target (the predicted class when None).

    Returns {"gradient" (side, side), "kept" {layer: dL/d(output)}, "trace", "probabilities",
    "predicted", "target"}; saliency and Grad-CAM read what they need from it.
    """
    trace = net.forward(image)
    p = softmax(trace.outputs[trace.last][0].astype(np.float64))
    predicted = int(np.argmax(p))
    t = resolve_target(target, predicted, net.classes)
    seed = np.zeros((1, net.classes), net.dtype)
    seed[0, t] = 1.0
    grad, kept = net.backward(trace, seed, keep=keep)
    return {"gradient": grad[0], "kept": kept, "trace": trace, "probabilities": p, "predicted": predicted,
            "target": t}


def saliency(net: InspectNet, image, target: int | None = None) -> dict:
    """∂ logit_target / ∂ pixels of one image (side × side, signed) with its prediction."""
    out = explain_one(net, image, target)
    return {"map": out["gradient"], "probabilities": out["probabilities"], "predicted": out["predicted"],
            "target": out["target"]}
