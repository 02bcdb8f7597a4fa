"""What the Inside lab's endpoints call: a run's weights in, results out, cached.

Results are keyed by a fingerprint of the weights (so "the run's version" is
exactly the weights a result was computed from, whether the run is training,
paused or done), the digit (a held-out index, or a hash of drawn pixels), the
method and its knobs.  The held-out pass (confusion matrix and unit scores)
is cached per fingerprint too.  Nothing here knows about HTTP or sessions.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable, Iterator

import numpy as np

from app.errors import InvalidArgument
from app.nn.blas import use_one_blas_thread

from . import confusion, featurevis, fgsm, gradcam, occlusion, sanity, saliency, smoothgrad
from .network import InspectNet, from_state

METHODS = ("saliency", "smoothgrad", "gradcam", "occlusion", "fgsm")


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_compute(self, key, compute: Callable[[], object]):
        return self.lookup(key, compute)[0]

    def lookup(self, key, compute: Callable[[], object]) -> tuple[object, bool]:
        """(value, True) from the cache, or (compute(), False) after storing it."""
        hit = self.get(key)
        return (hit, True) if hit is not None else (self.put(key, compute()), False)

    def __len__(self) -> int:
        return len(self._items)


def fingerprint(state: dict) -> str:
    """A digest of every array (name, dtype, shape, bytes): equal weights, equal key."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(state):
        a = np.ascontiguousarray(state[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.data)
    return h.hexdigest()


def digit_from(net: InspectNet, pixels=None, index: int | None = None) -> tuple[np.ndarray, tuple]:
    """The image to explain, (side, side) float64, and its cache key: held-out ``index`` or drawn ``pixels``."""
    if (pixels is None) == (index is None):
        raise InvalidArgument("send either pixels (a drawn digit) or index (a held-out digit), not both or neither")
    if index is not None:
        images, _ = confusion.heldout(net.model)
        if not 0 <= index < len(images):
            raise InvalidArgument(f"index must be between 0 and {len(images) - 1} (the held-out digits); got {index}")
        return np.asarray(images[index], dtype=np.float64), ("heldout", int(index))
    image = np.asarray(pixels, dtype=np.float64)
    if image.shape != (net.side, net.side):
        raise InvalidArgument(f"pixels: the {net.model} model takes {net.side}×{net.side} images; "
                         f"got shape {list(image.shape)}")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise InvalidArgument("pixels: values must lie in [0, 1] (0 = background, 1 = ink)")
    return image, ("drawn", hashlib.blake2b(image.tobytes(), digest_size=12).hexdigest())


class InsideLab:
    """The Inside lab's computations over any number of runs, with bounded caches."""

    def __init__(self, max_results: int = 256, max_nets: int = 8):
        # Spinning OpenBLAS threads took the cores from the kernels after every dense layer:
        # the held-out pass cost ~400–800 ms CPU in a server thread with two, ~110 ms with one.
        use_one_blas_thread()
        self.nets = LRU(max_nets)          # fingerprint → InspectNet
        self.evaluations = LRU(max_nets)   # fingerprint → confusion.Evaluation
        self.results = LRU(max_results)    # (fingerprint, digit key, method, knobs) → dict
        self.curves = LRU(32)              # (fingerprint, epsilons) → accuracies

    def net(self, state: dict) -> tuple[str, InspectNet]:
        key = fingerprint(state)
        return key, self.nets.get_or_compute(key, lambda: from_state(state))

    def evaluation(self, key: str, net: InspectNet) -> confusion.Evaluation:
        """The held-out pass of this network (confusion matrix, predictions, unit scores)."""
        return self.evaluations.get_or_compute(key, lambda: confusion.evaluate(net, *confusion.heldout(net.model)))

    def inspect(self, key: str, net: InspectNet, image: np.ndarray, digit: tuple, method: str,
                target: int | None, knobs: dict) -> tuple[dict, bool]:
        """One method on one digit, and whether it came from the cache; ``knobs`` are the method's own."""
        if method not in METHODS:
            raise InvalidArgument(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        cache_key = (key, digit, method, target, tuple(sorted(knobs.items())))
        return self.results.lookup(cache_key, lambda: run_method(net, image, method, target, knobs))

    def sanity(self, key: str, net: InspectNet, image: np.ndarray, digit: tuple, target: int | None,
               methods: tuple, seed: int, knobs: dict) -> tuple[dict, bool]:
        """The cascading randomisation test (``sanity.sanity_check``), and whether it came from the cache."""
        cache_key = (key, digit, "sanity", target, tuple(methods), seed, tuple(sorted(knobs.items())))
        return self.results.lookup(cache_key, lambda: sanity.sanity_check(net, image, target, methods, seed, knobs))

    def fgsm_curve(self, key: str, net: InspectNet, epsilons) -> Iterator[dict]:
        """Held-out accuracy against ε as events (``fgsm.curve_steps``); a cached curve comes at once."""
        cache_key = (key, tuple(float(e) for e in epsilons))
        hit = self.curves.get(cache_key)
        if hit is not None:
            for i, (e, a) in enumerate(zip(epsilons, hit)):
                yield {"stage": "epsilon", "index": i, "epsilon": float(e), "accuracy": a}
            return
        images, labels = confusion.heldout(net.model)
        accuracies = []
        for event in fgsm.curve_steps(net, images, labels, epsilons):
            if event["stage"] == "epsilon":
                accuracies.append(event["accuracy"])
            yield event
        self.curves.put(cache_key, accuracies)

    def featurevis(self, key: str, net: InspectNet, layer: str, unit: int, steps: int, lr: float,
                   reg: featurevis.Regularisation, seed: int) -> Iterator[dict]:
        """Feature-visualisation events (``featurevis.visualise``); the last one carries the top held-out digits."""
        cache_key = (key, "featurevis", layer, unit, steps, lr, reg, seed)
        hit = self.results.get(cache_key)
        if hit is not None:
            yield hit
            return
        for event in featurevis.visualise(net, layer, unit, steps, lr, reg, seed):
            if event["done"]:
                ev = self.evaluation(key, net)
                event["top"] = [{"index": i, "score": score, "label": int(ev.labels[i]),
                                 "predicted": int(ev.predicted[i])}
                                for i, score in featurevis.top_digits(ev.unit_scores[layer], unit)]
                self.results.put(cache_key, event)
            yield event


def run_method(net: InspectNet, image: np.ndarray, method: str, target: int | None, knobs: dict) -> dict:
    """Dispatch to the method's module with its knobs."""
    if method == "saliency":
        return saliency.saliency(net, image, target)
    if method == "smoothgrad":
        return smoothgrad.smoothgrad(net, image, target, knobs.get("samples", 25), knobs.get("noise", 0.15),
                                     knobs.get("seed", 0))
    if method == "gradcam":
        return gradcam.gradcam(net, image, target)
    if method == "occlusion":
        return occlusion.occlusion(net, image, target, knobs.get("patch", 4), knobs.get("stride", 2),
                                   knobs.get("fill", 0.0))
    if method == "fgsm":
        return fgsm.fgsm(net, image, knobs.get("epsilon", 0.1), knobs.get("label"))
    raise InvalidArgument(f"method must be one of {', '.join(METHODS)}; got {method!r}")  # pragma: no cover


__all__ = ["InsideLab", "LRU", "METHODS", "digit_from", "fingerprint", "run_method"]
