"""Feature visualisation: the input that excites a unit most, by gradient ascent from grey.

Start from a uniform grey image and repeatedly step up the gradient of one
unit's activation with respect to the pixels (Erhan et al. 2009; Olah,
Mordvintsev & Schubert 2017, "Feature Visualization").  The unit is

- a convolution filter k: the mean over positions of its map before the ReLU
  (after batch norm when the model has it);
- a dense unit: its value before the ReLU;
- a class: its logit (before the softmax).

Unregularised ascent finds high-frequency patterns that no digit contains — a
lesson in itself: the network responds to things it was never shown.  The
regularised version adds three standard priors: jitter (shift the image by a
few random pixels before every step, so a pattern must work wherever it lands),
an L2 pull towards grey, and a Gaussian blur every few steps.  Both versions
run as one batch of two images.

Beside them, the held-out digits that excite the same unit most
(``top_digits``), from the scores ``confusion.evaluate`` keeps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from app.errors import InvalidArgument

from .network import InspectNet, Pass

GREY = 0.5
MAX_STEPS = 512


@dataclass(frozen=True)
class Regularisation:
    """Jitter (pixels, each axis), L2 pull towards grey per step, blur σ (pixels) every ``blur_every`` steps."""

    jitter: int = 1
    l2: float = 0.02
    blur: float = 0.5
    blur_every: int = 4

    def check(self, side: int) -> None:
        if not 0 <= self.jitter <= side // 4:
            raise InvalidArgument(f"jitter must be between 0 and {side // 4} pixels; got {self.jitter}")
        if not 0.0 <= self.l2 <= 0.5:
            raise InvalidArgument(f"l2 must be between 0 and 0.5; got {self.l2}")
        if not 0.0 <= self.blur <= 2.0:
            raise InvalidArgument(f"blur σ must be between 0 and 2 pixels; got {self.blur}")
        if not 1 <= self.blur_every <= 64:
            raise InvalidArgument(f"blur_every must be between 1 and 64 steps; got {self.blur_every}")


def unit_layers(net: InspectNet) -> list[dict]:
    """The layers whose units can be visualised, with where each one's value is read.

    ``reads`` is the layer output the objective reads: the conv (or its batch
    norm) before the ReLU, the dense layer before its ReLU, the logits.
    """
    out = []
    names = net.layer_names
    for i, layer in enumerate(net.layers):
        if layer.kind not in ("conv", "dense"):
            continue
        reads = names[i + 1] if i + 1 < len(names) and net.layers[i + 1].kind == "bn" else layer.name
        last = i == len(names) - 1
        kind = "class" if last else ("filter" if layer.kind == "conv" else "unit")
        out.append({"layer": layer.name, "reads": reads, "units": layer.units, "kind": kind})
    return out


def _spec(net: InspectNet, layer: str) -> dict:
    for spec in unit_layers(net):
        if spec["layer"] == layer:
            return spec
    raise InvalidArgument(f"layer must be one of {[s['layer'] for s in unit_layers(net)]}; got {layer!r}")


def scores(output: np.ndarray) -> np.ndarray:
    """Every unit's objective from a layer output: (N, C, H, W) → mean over H, W; (N, U) as is."""
    return output.mean(axis=(2, 3)) if output.ndim == 4 else output


def objective_gradient(net: InspectNet, images: np.ndarray, reads: str, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """(objective (N,), d objective / d images (N, side, side)) of ``unit`` read at layer ``reads``."""
    trace: Pass = net.forward(images, upto=reads)
    out = trace.outputs[reads]
    seed = np.zeros_like(out)
    if out.ndim == 4:
        seed[:, unit] = 1.0 / (out.shape[2] * out.shape[3])
    else:
        seed[:, unit] = 1.0
    grad = net.backward(trace, seed, start=reads)[0]
    return scores(out)[:, unit].astype(np.float64), grad.astype(np.float64)


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (N, H, W) with σ in pixels, edges reflected."""
    if sigma <= 0:
        return images
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = images
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        out = sum(w * np.take(padded, np.arange(k, k + n), axis=axis) for k, w in enumerate(taps))
    return out


def visualise(net: InspectNet, layer: str, unit: int, steps: int = 128, lr: float = 0.05,
              reg: Regularisation = Regularisation(), seed: int = 0, snapshots: int = 8) -> Iterator[dict]:
    """Gradient ascent from grey, plain and regularised side by side.

    Yields ``snapshots`` progress dicts {"step", "images" (2, side, side), "objective" (2,)}
    on the way and, last, the same with "done": True.  Each step moves the
    image by ``lr`` times the gradient divided by its root mean square (a step
    size that does not depend on the unit's scale), then clips to [0, 1].
    """
    spec = _spec(net, layer)
    if not 0 <= unit < spec["units"]:
        raise InvalidArgument(f"unit must be between 0 and {spec['units'] - 1} for {layer}; got {unit}")
    if not 1 <= steps <= MAX_STEPS:
        raise InvalidArgument(f"steps must be between 1 and {MAX_STEPS}; got {steps}")
    if not 0.0 < lr <= 1.0:
        raise InvalidArgument(f"lr must be in (0, 1]; got {lr}")
    reg.check(net.side)
    rng = np.random.default_rng(seed)
    x = np.full((2, net.side, net.side), GREY)
    every = max(1, steps // max(1, snapshots))
    objective = np.zeros(2)
    for step in range(1, steps + 1):
        dy, dx = rng.integers(-reg.jitter, reg.jitter + 1, size=2) if reg.jitter else (0, 0)
        shifted = x.copy()
        shifted[1] = np.roll(x[1], (dy, dx), axis=(0, 1))
        objective, grad = objective_gradient(net, shifted, spec["reads"], unit)
        grad[1] = np.roll(grad[1], (-dy, -dx), axis=(0, 1))
        rms = np.sqrt((grad ** 2).mean(axis=(1, 2), keepdims=True)) + 1e-12
        x += lr * grad / rms
        x[1] -= reg.l2 * (x[1] - GREY)
        if reg.blur > 0 and step % reg.blur_every == 0:
            x[1] = gaussian_blur(x[1:2], reg.blur)[0]
        np.clip(x, 0.0, 1.0, out=x)
        if step % every == 0 and step < steps:
            yield {"step": step, "steps": steps, "images": x.copy(), "objective": objective, "done": False}
    final, _ = objective_gradient(net, x, spec["reads"], unit)
    grey, _ = objective_gradient(net, np.full((1, net.side, net.side), GREY), spec["reads"], unit)
    yield {"step": steps, "steps": steps, "images": x.copy(), "objective": final, "grey_objective": float(grey[0]),
           "layer": layer, "unit": unit, "reads": spec["reads"], "kind": spec["kind"], "done": True}


def top_digits(unit_scores: np.ndarray, unit: int, count: int = 9) -> list[tuple[int, float]]:
    """The ``count`` held-out digits with the highest score for ``unit``: [(index, score)], highest first."""
    column = np.asarray(unit_scores)[:, unit]
    order = np.argsort(-column, kind="stable")[:count]
    return [(int(i), float(column[i])) for i in order]
