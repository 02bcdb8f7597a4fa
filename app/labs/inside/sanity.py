"""The model-randomisation sanity check of Adebayo et al. (NeurIPS 2018, "Sanity Checks for Saliency Maps").

If an explanation explains what the network learned, destroying what it
learned must change the explanation.  The cascading test re-draws the layers
at random from the top down — the output layer first, then one more layer each
step, until every layer is random — and after each step recomputes every
method's map for the same image and the same class, and its Spearman rank
correlation with the map of the trained network.  A map that stays highly
correlated while the weights that produced it are gone was showing the input
(edges, ink), not the model.

The rank correlation is computed both on the signed maps and on their absolute
values (the paper reports both: a gradient's sign can flip while its
magnitude pattern survives).  A constant map (Grad-CAM is all zero when every
weighted sum is negative) has no ranks: its correlation is None.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from .gradcam import gradcam
from .network import InspectNet
from .occlusion import occlusion
from .saliency import predict, resolve_target, saliency
from .smoothgrad import smoothgrad

METHODS = ("saliency", "smoothgrad", "gradcam", "occlusion")


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks 1…n of a 1-D array; tied values share the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0                          # ranks start+1 … end, averaged
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(a, b) -> float | None:
    """Spearman's ρ of two maps (Pearson correlation of their ranks); None when either is constant."""
    ra, rb = rank(a), rank(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if denom == 0:
        return None
    return float((ra * rb).sum() / denom)


def cascade(net: InspectNet) -> list[list[str]]:
    """Layer groups to randomise, top down; a batch-norm layer goes with the convolution before it.

    Chapter model: [dense2], [dense1], [conv2(, bn2)], [conv1(, bn1)].
    """
    groups: list[list[str]] = []
    for name in net.weighted_layers():
        if net.layer(name).kind == "bn" and groups:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups[::-1]


def method_map(net: InspectNet, method: str, image, target: int, knobs: dict) -> np.ndarray:
    """One method's map for a fixed target class."""
    if method == "saliency":
        return saliency(net, image, target)["map"]
    if method == "smoothgrad":
        return smoothgrad(net, image, target, knobs.get("samples", 16), knobs.get("noise", 0.15),
                          knobs.get("seed", 0))["map"]
    if method == "gradcam":
        return gradcam(net, image, target)["map"]
    if method == "occlusion":
        return occlusion(net, image, target, knobs.get("patch", 4), knobs.get("stride", 2),
                         knobs.get("fill", 0.0))["map"]
    raise InvalidArgument(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def sanity_check(net: InspectNet, image, target: int | None = None, methods=METHODS, seed: int = 0,
                 knobs: dict | None = None) -> dict:
    """The cascading randomisation: the trained net's maps, then one step per layer group.

    Returns {"target", "probabilities", "predicted", "steps": [{"randomised": [...layers so far],
    "label", "predicted", "maps": {method: map}, "rank_correlation": {method: ρ or None},
    "rank_correlation_abs": {...}}]} with step 0 the trained network (ρ = 1).
    """
    knobs = knobs or {}
    methods = list(methods)
    for m in methods:
        if m not in METHODS:
            raise InvalidArgument(f"method must be one of {', '.join(METHODS)}; got {m!r}")
    image = np.asarray(image, dtype=np.float64)
    p, predicted = predict(net, image)
    t = resolve_target(target, predicted, net.classes)
    original = {m: method_map(net, m, image, t, knobs) for m in methods}
    steps = [{"randomised": [], "label": "trained", "predicted": predicted, "maps": original,
              "rank_correlation": {m: 1.0 for m in methods}, "rank_correlation_abs": {m: 1.0 for m in methods}}]
    done: list[str] = []
    for group in cascade(net):
        done = done + group
        random_net = net.randomised(done, seed)
        maps = {m: method_map(random_net, m, image, t, knobs) for m in methods}
        steps.append({
            "randomised": list(done),
            "label": " + ".join(group),
            "predicted": predict(random_net, image)[1],
            "maps": maps,
            "rank_correlation": {m: spearman(original[m], maps[m]) for m in methods},
            "rank_correlation_abs": {m: spearman(np.abs(original[m]), np.abs(maps[m])) for m in methods},
        })
    return {"target": t, "probabilities": p, "predicted": predicted, "steps": steps}
