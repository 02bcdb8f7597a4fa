"""POST /api/conv2d with ``display``: uint8 colour-table indices for looking at, in CLB1 "u1".

The indices must be exactly what the Convolution lab would paint from the float
maps (static/js/labs/conv/maps.js + widgets/conv-grid-view.js), so the reference
here is that rule written out per value in Python floats (IEEE doubles, as JavaScript).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from app import kernels
from app.api.transport import BINARY_MEDIA_TYPE, decode_binary, encode_binary

BINARY = {"Accept": BINARY_MEDIA_TYPE}


def page_rule(y: np.ndarray, mode: str) -> tuple[np.ndarray, list, list]:
    """(indices, ranges, maps) as the page computes them from float32 maps y (C, H, W)."""
    out = np.empty(y.shape, np.uint8)
    ranges, maps = [], []
    for f, plane in enumerate(y):
        values = [float(v) for v in plane.ravel()]
        dmin, dmax = min(values), max(values)
        name = ("diverging" if dmin < 0 else "viridis") if mode == "auto" else mode
        if name == "diverging":
            m = max(abs(dmin), abs(dmax), 1e-6)
            lo, hi = -m, m
        else:
            lo, hi = (dmin, dmax) if dmax > dmin else (dmin, dmin + 1)
        scale = 255 / (hi - lo)
        idx = [min(255, max(0, math.floor((v - lo) * scale + 0.5))) for v in values]
        out[f] = np.array(idx, np.uint8).reshape(plane.shape)
        ranges.append([lo, hi])
        maps.append(name)
    return out, ranges, maps


def post(client, body, headers=BINARY):
    return client.post("/api/conv2d", json=body, headers=headers)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (3, 24, 20)).astype(np.float32)
    w = rng.uniform(-1, 1, (4, 3, 3, 3)).round(3).astype(np.float32)
    b = np.array([0.0, 0.3, -0.2, 0.0], np.float32)
    return x, w, b


@pytest.mark.parametrize("mode", ["diverging", "viridis", "gray", "auto"])
@pytest.mark.parametrize("relu", [False, True])
def test_indices_follow_the_pages_rule(client, case, mode, relu):
    x, w, b = case
    body = {"input": x.tolist(), "weight": w.tolist(), "bias": b.tolist(), "padding": 1, "relu": relu, "display": mode}
    r = post(client, body)
    assert r.status_code == 200, r.text
    meta, arrays = decode_binary(r.content)
    y = kernels.conv2d(x, w, b, padding=1)
    if relu:
        y = kernels.relu(y)
    want, ranges, maps = page_rule(y, mode)
    assert "output" not in arrays and arrays["output_index"].dtype == np.uint8
    assert meta["output_shape"] == list(y.shape) and arrays["output_index"].shape == y.shape
    np.testing.assert_array_equal(arrays["output_index"], want)
    assert meta["output_min"] == [float(p.min()) for p in y]
    assert meta["output_max"] == [float(p.max()) for p in y]
    assert meta["output_range"] == ranges and meta["output_map"] == maps and meta["display"] == mode
    if mode == "auto":
        # ReLU maps have no negative value: viridis; the signed maps here are diverging.
        assert maps == (["viridis"] * 4 if relu else ["diverging"] * 4)


def test_constant_maps(client):
    x = np.full((1, 6, 6), 0.5, np.float32).tolist()
    w = np.zeros((3, 1, 3, 3), np.float32).tolist()
    body = {"input": x, "weight": w, "bias": [0.0, 0.25, -2.0]}
    _, diverging = decode_binary(post(client, {**body, "display": "diverging"}).content)
    meta, viridis = decode_binary(post(client, {**body, "display": "viridis"}).content)
    auto_meta, _ = decode_binary(post(client, {**body, "display": "auto"}).content)
    # Zero sits in the middle of [−1e−6, 1e−6]; −2 is the bottom of [−2, 2].
    assert set(diverging["output_index"][0].ravel()) == {128} and set(diverging["output_index"][2].ravel()) == {0}
    assert set(diverging["output_index"][1].ravel()) == {255}
    # A constant map spans [v, v + 1]: all at the bottom of the table.
    assert set(viridis["output_index"].ravel()) == {0}
    assert meta["output_range"] == [[0.0, 1.0], [0.25, 1.25], [-2.0, -1.0]]
    assert auto_meta["output_map"] == ["viridis", "viridis", "diverging"]


def test_stored_image_and_gradients_keep_their_arrays(client):
    w = [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]], [[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]]
    body = {"image_id": "sample-square", "color": "gray", "weight": w, "grad_output": {"kind": "ones"}}
    meta_f, plain = decode_binary(post(client, body).content)
    meta, shown = decode_binary(post(client, {**body, "display": "auto"}).content)
    want, _, _ = page_rule(plain["output"], "auto")
    np.testing.assert_array_equal(shown["output_index"], want)
    np.testing.assert_array_equal(shown["grad_weight"], plain["grad_weight"])
    assert meta["output_min"] == meta_f["output_min"] and meta["output_max"] == meta_f["output_max"]
    # One byte a value instead of four.
    assert shown["output_index"].nbytes * 4 == plain["output"].nbytes


def test_display_needs_the_binary_answer(client, case):
    x, w, _ = case
    r = post(client, {"input": x.tolist(), "weight": w.tolist(), "display": "auto"}, headers={})
    assert r.status_code == 422 and r.json()["detail"].startswith("display:"), r.text
    r = post(client, {"input": x.tolist(), "weight": w.tolist(), "display": "rainbow"})
    assert r.status_code == 422 and "display" in r.json()["detail"], r.text
    # Without display, the JSON answer is today's: float output.
    r = post(client, {"input": x.tolist(), "weight": w.tolist()}, headers={})
    assert r.status_code == 200 and "output" in r.json() and "output_index" not in r.json()


def test_u1_round_trip_keeps_alignment():
    idx = np.arange(7 * 3, dtype=np.uint8).reshape(1, 7, 3)  # 21 bytes: padded to 24
    after = np.linspace(-1, 1, 6, dtype=np.float32)
    body = encode_binary({"k": 1}, {"idx": idx, "after": after})
    meta, arrays = decode_binary(body)
    assert meta == {"k": 1}
    assert arrays["idx"].dtype == np.uint8 and arrays["idx"].shape == (1, 7, 3)
    np.testing.assert_array_equal(arrays["idx"], idx)
    np.testing.assert_array_equal(arrays["after"], after)
    assert b'"dtype": "u1"' in body and b'"offset": 24' in body


def test_float64_maps_follow_the_rule_too(client, case):
    x, w, b = case
    body = {"input": x.tolist(), "weight": w.tolist(), "bias": b.tolist(), "dtype": "float64", "display": "auto"}
    meta, arrays = decode_binary(post(client, body).content)
    y = kernels.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    want, ranges, _ = page_rule(y, "auto")
    np.testing.assert_array_equal(arrays["output_index"], want)
    assert meta["output_range"] == ranges and meta["dtype"] == "float64"
