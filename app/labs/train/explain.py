"""One digit through a session's network, for the Train lab's prediction panel.

Both models answer the same way: ten probabilities and a few layers' maps of
the one input, (C, H, W) for conv and pool outputs and (units,) for dense ones.
The chapter's model shows its pooled maps rather than every conv output: the
32 maps of 28×28 after conv1 would be 25,088 numbers a second while a run
trains, and the 14×14 pooled ones show the same strokes.
"""
from __future__ import annotations

import numpy as np

from app.errors import InvalidArgument

from app.labs.train import small
from app.labs.train.chapter import ChapterModel
from app.labs.train.digits import CHAPTER_SIDE, SIDE
from app.nn import softmax

# The chapter model's layers shown, as (name in its Cache, label on the page).
CHAPTER_LAYERS = (("pool1", "conv1 + ReLU → pool1"), ("pool2", "conv2 + ReLU → pool2"),
                  ("relu3", "dense1 + ReLU"), ("dense2", "logits"))


def input_side(model: str) -> int:
    """The side of the square input ``model`` takes: 8 (small) or 28 (chapter)."""
    return CHAPTER_SIDE if model == "chapter" else SIDE


def check_pixels(model: str, pixels) -> np.ndarray:
    """``pixels`` as a float64 array of the model's input side, values in [0, 1]; InvalidArgument otherwise."""
    side = input_side(model)
    try:
        x = np.array(pixels, dtype=np.float64)
    except ValueError:
        x = np.zeros(0)
    if x.shape != (side, side):
        raise InvalidArgument(f"pixels: the {model} model takes {side} rows of {side} values; got shape {list(x.shape)}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise InvalidArgument("pixels: values must lie in [0, 1] (0 = background, 1 = ink)")
    return x


def explain(model: str, weights: dict[str, np.ndarray], pixels) -> dict:
    """{"probabilities": (10,), "layers": [(label, array)]} for one image through ``weights``.

    ``weights`` are the run's: the small network's params (w1, b1, ...) or the
    chapter model's state dict (PyTorch names, batch-norm running statistics
    included), evaluated in inference mode (dropout off).
    """
    x = check_pixels(model, pixels)
    if model != "chapter":
        return small.explain(weights, x)
    net = ChapterModel.from_state_dict(weights)
    logits, cache = net.forward(x.astype(net.dtype)[None], train=False)
    layers = [("input", x[None])] + [(label, cache.outputs[name][0]) for name, label in CHAPTER_LAYERS]
    return {"probabilities": softmax(logits)[0], "layers": layers}
