"""Adversarial examples by the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015).

x_adv = clip(x + ε · sign(∇_x CE(x, y)), 0, 1): every pixel moves by ε in the
direction that raises the cross-entropy of label y (the true label when known,
else the predicted class).  ∇_x CE is the input gradient with δ = p − onehot(y)
on the logits, the same backward pass as saliency.  ``perturbation`` is what was
actually added, x_adv − x (clipping can shorten a step at 0 or 1).

The accuracy-against-ε curve needs one gradient per held-out digit, and the
sign of that gradient does not depend on ε: so one batched backward pass over
the held-out set, then one batched forward pass per ε.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from app.errors import InvalidArgument

from .network import CHUNK, InspectNet
from .saliency import resolve_target, softmax

MAX_EPSILON = 1.0
DEFAULT_EPSILONS = tuple(round(0.025 * i, 3) for i in range(13))   # 0, 0.025, …, 0.3


def _check_epsilon(epsilon: float) -> float:
    if not 0.0 <= epsilon <= MAX_EPSILON:
        raise InvalidArgument(f"epsilon must be between 0 and {MAX_EPSILON} (pixels lie in [0, 1]); got {epsilon}")
    return float(epsilon)


def cross_entropy_gradient(net: InspectNet, images, labels) -> tuple[np.ndarray, np.ndarray]:
    """∇_x CE(x_n, labels_n) for a batch: (gradients (N, side, side), probabilities (N, classes))."""
    x = net.as_batch(images)
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int64), (len(x),))
    grads = np.empty((len(x), net.side, net.side), net.dtype)
    probs = np.empty((len(x), net.classes))
    for i in range(0, len(x), CHUNK):
        trace = net.forward(x[i:i + CHUNK])
        p = softmax(trace.outputs[trace.last].astype(np.float64))
        delta = p.copy()
        delta[np.arange(len(p)), labels[i:i + CHUNK]] -= 1.0            # dCE/dlogits = p − onehot(y)
        grads[i:i + CHUNK] = net.backward(trace, delta.astype(net.dtype))[0]
        probs[i:i + CHUNK] = p
    return grads, probs


def perturb(images: np.ndarray, grads: np.ndarray, epsilon: float) -> np.ndarray:
    """clip(x + ε·sign(g), 0, 1)."""
    return np.clip(images + epsilon * np.sign(grads), 0.0, 1.0)


def fgsm(net: InspectNet, image, epsilon: float = 0.1, label: int | None = None) -> dict:
    """One adversarial example: the adversarial image, the perturbation, probabilities before and after."""
    eps = _check_epsilon(epsilon)
    image = np.asarray(image, dtype=np.float64)
    trace = net.forward(image)
    p = softmax(trace.outputs[trace.last][0].astype(np.float64))
    predicted = int(np.argmax(p))
    y = resolve_target(label, predicted, net.classes)
    grad, _ = cross_entropy_gradient(net, image[None], y)
    adversarial = perturb(image, grad[0].astype(np.float64), eps)
    after = softmax(net.logits(adversarial)[0].astype(np.float64))
    return {"adversarial": adversarial, "perturbation": adversarial - image, "gradient_sign": np.sign(grad[0]),
            "probabilities": p, "predicted": predicted, "label": y, "probabilities_after": after,
            "predicted_after": int(np.argmax(after)), "epsilon": eps}


def curve_steps(net: InspectNet, images, labels, epsilons=DEFAULT_EPSILONS) -> Iterator[dict]:
    """Accuracy on (images, labels) after FGSM with each ε (labels: the true labels), as it is computed.

    Yields {"stage": "gradient", "done", "of"} after each chunk of the one
    backward pass, then {"stage": "epsilon", "index", "epsilon", "accuracy"}
    after the forward pass of each ε (the page draws the curve as it grows).
    """
    eps_list = [_check_epsilon(e) for e in epsilons]
    if not eps_list:
        raise InvalidArgument("epsilons: give at least one value")
    x = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    signs = np.empty(x.shape)
    chunks = max(1, -(-len(x) // CHUNK))
    for k, i in enumerate(range(0, len(x), CHUNK)):
        signs[i:i + CHUNK] = np.sign(cross_entropy_gradient(net, x[i:i + CHUNK], labels[i:i + CHUNK])[0])
        yield {"stage": "gradient", "done": k + 1, "of": chunks}
    for i, eps in enumerate(eps_list):
        predicted = net.logits(perturb(x, signs, eps)).argmax(axis=1)
        acc = float((predicted == labels).mean()) if len(labels) else 0.0
        yield {"stage": "epsilon", "index": i, "epsilon": eps, "accuracy": acc}


def accuracy_curve(net: InspectNet, images, labels, epsilons=DEFAULT_EPSILONS) -> list[float]:
    """Accuracy after FGSM for each ε, in one gradient pass and one forward pass per ε."""
    return [e["accuracy"] for e in curve_steps(net, images, labels, epsilons) if e["stage"] == "epsilon"]
