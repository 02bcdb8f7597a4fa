"""Receptive fields: hand-worked stacks, published figures, and the empirical check.

The empirical check is the definition itself: a unit's receptive field is the set of
input pixels its value depends on. Backpropagate a one-hot δ at that unit through
the stack with every weight 1 (so no gradient cancels by chance) and the pixels with
a non-zero gradient must fill exactly the theoretical field (its part inside the image).
"""
from __future__ import annotations

import numpy as np
import pytest

from app import arithmetic as ar
from app.labs import network as net


def rf_rows(input_shape, layers):
    return [(r.rf["size"], r.rf["jump"], r.rf["start"]) for r in net.analyse(input_shape, layers)]


# --------------------------------------------------------------------------- hand-worked


def test_stride_one_stack_grows_linearly():
    """Eq. 36.8: L stride-1 k×k convs see 1 + L(k − 1) pixels."""
    for k in (3, 5):
        layers = [{"type": "conv", "filters": 2, "kernel": k}] * 4
        sizes = [size for size, _, _ in rf_rows([1, 40, 40], layers)]
        assert sizes == [1 + L * (k - 1) for L in range(1, 5)]


def test_canonical_stack_by_hand():
    # conv3 same: r 3 j 1 start 0; pool2: r 3+1·1 = 4, j 2, start 0 + (1/2)·1 = 0.5;
    # conv3 same: r 4 + 2·2 = 8, start 0.5 + (1 − 1)·2 = 0.5; pool2: r 8 + 1·2 = 10, j 4, start 0.5 + 0.5·2 = 1.5;
    # dense on the 7×7 map: r 10 + 6·4 = 34, start 1.5 + 3·4 = 13.5 (the centre of the 28-pixel input).
    rows = rf_rows([1, 28, 28], net.CANONICAL)
    assert rows == [(3, 1, 0), (4, 2, 0.5), (8, 2, 0.5), (10, 4, 1.5), (10, 4, 1.5), (34, 4, 13.5), (34, 4, 13.5)]


def test_dilation_stride_and_unequal_axes():
    layers = [
        {"type": "conv", "filters": 1, "kernel": [3, 5], "stride": [1, 2]},
        {"type": "conv", "filters": 1, "kernel": 3, "dilation": 2, "padding": 2},
    ]
    rows = rf_rows([1, 30, 30], layers)
    # axis h: 3, then 3 + (5 − 1)·1 = 7; axis w: 5 (jump 2), then 5 + 4·2 = 13.
    assert rows[0] == ((3, 5), (1, 2), (1, 2))
    assert rows[1][0] == (7, 13) and rows[1][1] == (1, 2)
    # start: centre (k_eff − 1)/2 − p = 2 − 2 = 0 steps of the previous jump.
    assert rows[1][2] == (1, 2)


def test_summary_rf_is_arithmetic_receptive_field():
    layers = net.PRESETS["alexnet"]["layers"]
    spatial = [l for l in layers if l["type"] in ("conv", "pool")]
    expected = ar.receptive_field(spatial)
    got = [r.rf for r in net.analyse([3, 227, 227], layers) if r.layer.type in ("conv", "pool")]
    assert got == expected


# --------------------------------------------------------------------------- published figures
# Receptive field, effective stride and effective padding of AlexNet and VGG-16 as
# published by Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
# Neural Networks", Distill 2019 (doi:10.23915/distill.00021), and listed per
# end-point in their library's table, github.com/google-research/receptive_field,
# receptive_field/RECEPTIVE_FIELD_TABLE.md (TF-Slim's alexnet_v2 and vgg_16).
# Effective padding P is how far the first unit's field reaches before pixel 0, so
# the centre of that field is start = (RF − 1)/2 − P.

ALEXNET_PUBLISHED = {  # preset layer index: (RF, effective stride, effective padding)
    0: (11, 4, 0),  # conv1
    1: (19, 8, 0),  # pool1
    2: (51, 8, 16),  # conv2
    4: (99, 16, 32),  # conv3
    5: (131, 16, 48),  # conv4
    6: (163, 16, 64),  # conv5
    7: (195, 32, 64),  # pool5
}
VGG16_PUBLISHED = {
    0: (3, 1, 1),  # conv1_1
    2: (6, 2, 2),  # pool1
    3: (10, 2, 4),  # conv2_1
    5: (16, 4, 6),  # pool2
    6: (24, 4, 10),  # conv3_1
    7: (32, 4, 14),  # conv3_2
    9: (44, 8, 18),  # pool3
    10: (60, 8, 26),  # conv4_1
    11: (76, 8, 34),  # conv4_2
    13: (100, 16, 42),  # pool4
    14: (132, 16, 58),  # conv5_1
    15: (164, 16, 74),  # conv5_2
    17: (212, 32, 90),  # pool5
}


@pytest.mark.parametrize("preset, published", [("alexnet", ALEXNET_PUBLISHED), ("vgg16", VGG16_PUBLISHED)])
def test_published_receptive_fields(preset, published):
    p = net.PRESETS[preset]
    rows = net.analyse(p["input_shape"], p["layers"])
    for index, (size, stride, padding) in published.items():
        rf = rows[index].rf
        assert (rf["size"], rf["jump"], rf["start"]) == (size, stride, (size - 1) / 2 - padding), index


def test_vgg16_conv5_3_and_parameter_count():
    p = net.PRESETS["vgg16"]
    summary = net.summarize(p["input_shape"], p["layers"])
    assert summary["layers"][16]["rf_size"] == 196  # conv5_3, the classic "VGG sees 196 px" figure
    assert summary["totals"]["params"] == 138_357_544  # Simonyan & Zisserman's 138 M


# --------------------------------------------------------------------------- empirical check

EMPIRICAL_STACKS = {
    "stride-1 convs": ([1, 24, 24], [{"type": "conv", "filters": 2, "kernel": 3}] * 3),
    "conv-pool-conv-pool": (
        [1, 30, 30],
        [
            {"type": "conv", "filters": 2, "kernel": 3, "padding": "same"},
            {"type": "pool", "kind": "avg", "kernel": 2},
            {"type": "conv", "filters": 3, "kernel": 3, "padding": "same"},
            {"type": "pool", "kind": "avg", "kernel": 3, "stride": 2, "padding": 1},
        ],
    ),
    "stride, dilation, even kernel": (
        [2, 33, 31],
        [
            {"type": "conv", "filters": 2, "kernel": [4, 2], "stride": 2, "padding": 1},
            {"type": "relu"},
            {"type": "conv", "filters": 2, "kernel": 3, "dilation": 2, "padding": "same"},
            {"type": "conv", "filters": 1, "kernel": 2, "padding": "same"},
        ],
    ),
    "dense head": (
        [1, 12, 12],
        [
            {"type": "conv", "filters": 2, "kernel": 3, "stride": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
    ),
}


def nonzero_box(mag):
    nz = np.argwhere(mag > 0)
    return (nz[:, 0].min(), nz[:, 1].min(), nz[:, 0].max() + 1, nz[:, 1].max() + 1), len(nz)


@pytest.mark.parametrize("name", list(EMPIRICAL_STACKS))
def test_one_hot_gradient_fills_the_theoretical_field(name):
    input_shape, specs = EMPIRICAL_STACKS[name]
    rows = net.analyse(input_shape, specs)
    layers = [r.layer for r in rows]
    params = net.make_params(input_shape, layers, "ones")
    x = np.random.default_rng(0).random(input_shape, dtype=np.float64)
    trace = net.forward(x, layers, params)
    for index, row in enumerate(rows):
        out = trace.outputs[index]
        units = [(0,)] if out.ndim == 1 else [(0, 0, 0), (0, out.shape[1] // 2, out.shape[2] // 2), (0, *np.array(out.shape[1:]) - 1)]
        for unit in units:
            delta = np.zeros_like(out)
            delta[tuple(unit)] = 1
            grad = net.backward(trace, layers, params, index, delta, gates="linear")
            mag = np.abs(grad).sum(axis=0)
            r, c = (unit[1], unit[2]) if out.ndim == 3 else (0, 0)
            if row.layer.type == "flatten":
                continue
            field = net.unit_field(rows, index, r, c, input_shape[1:])
            box, count = nonzero_box(mag)
            assert box == field["inside"], (name, index, unit)
            t, l, b, rt = field["inside"]
            if all(d == 1 for d in np.ravel(row.rf["jump"])) or row.layer.type in ("pool", "dense"):
                assert count == (b - t) * (rt - l)  # no holes: every pixel of the field counts


def test_max_pool_routes_to_one_winner_per_window():
    """With max pooling the gradient reaches only the winners: fewer pixels than the field."""
    specs = [{"type": "pool", "kind": "max", "kernel": 2}, {"type": "pool", "kind": "max", "kernel": 2}]
    rows = net.analyse([1, 8, 8], specs)
    layers = [r.layer for r in rows]
    params = net.make_params([1, 8, 8], layers, "ones")
    x = np.random.default_rng(1).random((1, 8, 8))
    trace = net.forward(x, layers, params)
    delta = np.zeros_like(trace.outputs[1])
    delta[0, 1, 1] = 1
    mag = np.abs(net.backward(trace, layers, params, 1, delta)).sum(axis=0)
    assert np.count_nonzero(mag) == 1
    r, c = np.unravel_index(x[0, 4:8, 4:8].argmax(), (4, 4))
    assert mag[4 + r, 4 + c] == 1  # the largest of the 4×4 block the unit pools
