"""The held-out set through the network once: confusion matrix, every prediction, every unit's score.

One batched inference pass over the held-out digits gives the confusion
matrix (row = true label, column = predicted class), each digit's
probabilities (so the page can list a cell's digits, most confident first),
and — from the same pass — every visualisable unit's score per digit, which
feature visualisation ranks to find the nine digits that excite a unit most.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.errors import InvalidArgument

from .featurevis import scores, unit_layers
from .network import CHUNK, InspectNet
from .saliency import softmax


@dataclass(frozen=True)
class Evaluation:
    labels: np.ndarray          # (N,) int
    probabilities: np.ndarray   # (N, classes) float64
    predicted: np.ndarray       # (N,) int
    matrix: np.ndarray          # (classes, classes) int: matrix[true, predicted]
    unit_scores: dict           # layer name → (N, units) float32

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean()) if len(self.labels) else 0.0


def confusion_matrix(labels, predicted, classes: int) -> np.ndarray:
    """matrix[t, p] = how many digits of label t were predicted p."""
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return m


def evaluate(net: InspectNet, images, labels) -> Evaluation:
    """Inference on every image, ``CHUNK`` at a time, keeping the unit scores of every visualisable layer."""
    x = net.as_batch(images)
    labels = np.asarray(labels, dtype=np.int64)
    specs = unit_layers(net)
    logits, unit = [], {s["layer"]: [] for s in specs}
    for i in range(0, len(x), CHUNK):
        trace = net.forward(x[i:i + CHUNK])
        logits.append(trace.outputs[trace.last])
        for s in specs:
            unit[s["layer"]].append(scores(trace.outputs[s["reads"]]).astype(np.float32))
    probs = softmax(np.concatenate(logits).astype(np.float64))
    predicted = probs.argmax(axis=1)
    return Evaluation(labels, probs, predicted, confusion_matrix(labels, predicted, net.classes),
                      {k: np.concatenate(v) for k, v in unit.items()})


@lru_cache(maxsize=2)
def heldout(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed held-out digits the model is tested on: (images (359, side, side) float32, labels)."""
    from app.labs.train.digits import load_chapter_digits, load_digits_split

    if model == "small":
        d = load_digits_split()
        return d.x_test, d.y_test
    if model == "chapter":
        d = load_chapter_digits()
        return d.x_test, d.y_test
    raise InvalidArgument(f'model must be "small" or "chapter"; got {model!r}')
