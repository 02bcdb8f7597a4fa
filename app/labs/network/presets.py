"""Stacks a student can open with one click: the chapter's canonical classifier and VGG-16."""
from __future__ import annotations

# --------------------------------------------------------------------------- presets

CANONICAL = [
    {"type": "conv", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "pool", "kind": "max", "kernel": 2},
    {"type": "conv", "filters": 64, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "pool", "kind": "max", "kernel": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 10},
]


def _vgg16() -> list[dict]:
    layers = []
    for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        layers += [{"type": "conv", "filters": filters, "kernel": 3, "padding": 1, "activation": "relu"}] * repeats
        layers.append({"type": "pool", "kind": "max", "kernel": 2})
    return layers + [
        {"type": "flatten"},
        {"type": "dense", "units": 4096, "activation": "relu"},
        {"type": "dense", "units": 4096, "activation": "relu"},
        {"type": "dense", "units": 1000},
    ]


PRESETS: dict[str, dict] = {
    # The chapter's classifier (Keras: Conv2D(32, 3, relu, same) … Dense(10)).
    "canonical": {"input_shape": [1, 28, 28], "layers": CANONICAL},
    # LeCun et al. 1998: two 5×5 convs with 2×2 subsampling (average pooling here, ReLU for tanh),
    # C5 written as flatten + dense 120 (the same 48,120 weights).
    "lenet5": {
        "input_shape": [1, 32, 32],
        "layers": [
            {"type": "conv", "filters": 6, "kernel": 5, "activation": "relu"},
            {"type": "pool", "kind": "avg", "kernel": 2},
            {"type": "conv", "filters": 16, "kernel": 5, "activation": "relu"},
            {"type": "pool", "kind": "avg", "kernel": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 120, "activation": "relu"},
            {"type": "dense", "units": 84, "activation": "relu"},
            {"type": "dense", "units": 10},
        ],
    },
    # Krizhevsky et al. 2012 on a 227×227 input, without the two-GPU split (so conv 2, 4, 5
    # have twice the paper's weights); the geometry of TF-Slim's alexnet_v2.
    "alexnet": {
        "input_shape": [3, 227, 227],
        "layers": [
            {"type": "conv", "filters": 96, "kernel": 11, "stride": 4, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "conv", "filters": 256, "kernel": 5, "padding": 2, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "conv", "filters": 384, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "conv", "filters": 384, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "conv", "filters": 256, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "pool", "kind": "max", "kernel": 3, "stride": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 4096, "activation": "relu"},
            {"type": "dense", "units": 4096, "activation": "relu"},
            {"type": "dense", "units": 1000},
        ],
    },
    # Simonyan & Zisserman 2014, configuration D.
    "vgg16": {"input_shape": [3, 224, 224], "layers": _vgg16()},
}
