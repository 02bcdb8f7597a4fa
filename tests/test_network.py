"""The Network lab's compute and endpoints: summary, presets, invalid layers, maps, fields."""
from __future__ import annotations

import numpy as np
import pytest

from app import arithmetic as ar
from app.labs import network as net
from app.api.transport import BINARY_MEDIA_TYPE, decode_binary
from tests.conftest import make_client

BINARY = {"accept": BINARY_MEDIA_TYPE}


# --------------------------------------------------------------------------- summary by hand


def test_canonical_summary_by_hand():
    rows = net.summarize([1, 28, 28], net.CANONICAL)["layers"]
    assert [r["output_shape"] for r in rows] == [[32, 28, 28], [32, 14, 14], [64, 14, 14], [64, 7, 7], [3136], [128], [10]]
    # eq. 36.5: 32·(1·3·3 + 1) = 320 and 64·(32·9 + 1) = 18,496; eq. 36.6: 3136·128 + 128, 128·10 + 10.
    assert [r["params"] for r in rows] == [320, 0, 18_496, 0, 0, 401_536, 1_290]
    # eq. 36.11: 28·28·32·1·9 and 14·14·64·32·9
    assert [r["macs"] for r in rows] == [225_792, 0, 3_612_672, 0, 0, 401_408, 1_280]
    assert rows[0]["activation_bytes"] == 28 * 28 * 32 * 4


def test_summary_totals_and_text():
    s = net.summarize([1, 28, 28], net.CANONICAL)
    assert s["totals"]["params"] == 421_642 and s["valid"]
    text = net.summary_text(s)
    assert "conv 32 3×3 same, ReLU" in text and "7×7×64" in text and "421,642" in text


def test_stride_padding_pool_and_dilation_shapes():
    layers = [
        {"type": "conv", "filters": 4, "kernel": 5, "stride": 2},  # ⌊(32 − 5)/2⌋ + 1 = 14
        {"type": "conv", "filters": 4, "kernel": 3, "dilation": 2, "padding": [2, 0]},  # h 14, w 14 − 4 = 10
        {"type": "pool", "kind": "avg", "kernel": 3, "stride": 2, "padding": 1},  # ⌊(14 + 2 − 3)/2⌋ + 1 = 7; w 5
        {"type": "conv", "filters": 2, "kernel": 4, "padding": "same"},  # even kernel: 1 before, 2 after
    ]
    rows = net.summarize([3, 32, 32], layers)["layers"]
    assert [r["output_shape"] for r in rows] == [[4, 14, 14], [4, 14, 10], [4, 7, 5], [2, 7, 5]]
    assert rows[0]["params"] == ar.conv_params(3, 4, 5, 5)


def test_presets_are_valid_and_have_known_sizes():
    expected_params = {"canonical": 421_642, "lenet5": 61_706, "alexnet": 62_378_344, "vgg16": 138_357_544}
    for name, p in net.PRESETS.items():
        s = net.summarize(p["input_shape"], p["layers"])
        assert s["valid"] and s["totals"]["params"] == expected_params[name], name
    assert net.summarize(**net.PRESETS["alexnet"])["layers"][7]["output_shape"] == [256, 6, 6]


@pytest.mark.parametrize(
    "layers, message",
    [
        ([{"type": "conv", "filters": 1, "kernel": 9}], "layers[0].kernel: kernel 9×9 is larger than the padded input 8×8"),
        ([{"type": "conv", "filters": 1, "kernel": 3, "stride": 2, "padding": "same"}], 'layers[0].padding: "same" needs stride 1'),
        ([{"type": "pool", "kernel": 2, "padding": 2}], "layers[0].padding: pool padding 2×2 must be at most half"),
        ([{"type": "dense", "units": 3}], "layers[0]: dense needs a flat input"),
        ([{"type": "flatten"}, {"type": "conv", "filters": 1, "kernel": 1}], "layers[1]: conv needs a (C, H, W) map"),
        ([{"type": "conv", "filters": 1, "kernel": 3, "padding": 8, "padding_mode": "reflect"}], "layers[0].padding: reflect"),
    ],
)
def test_invalid_layers_name_the_layer(layers, message):
    with pytest.raises(ValueError, match=None) as info:
        net.summarize([1, 8, 8], layers)
    assert str(info.value).startswith(message)


def test_invalid_layer_is_marked_and_the_rest_stays():
    layers = [
        {"type": "conv", "filters": 4, "kernel": 3},
        {"type": "conv", "filters": 4, "kernel": 30},  # too big for 6×6
        {"type": "pool", "kernel": 2},
    ]
    s = net.summarize([1, 8, 8], layers, strict=False)
    assert not s["valid"]
    first, bad, last = s["layers"]
    assert first["output_shape"] == [4, 6, 6] and first["error"] is None
    assert bad["error"].startswith("layers[1].kernel") and bad["output_shape"] is None and bad["name"] == "conv 4 30×30"
    assert last["output_shape"] == [4, 3, 3] and last["rf_size"] == 4  # computed as if the bad layer were absent


# --------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def api():
    with make_client() as c:
        yield c


def test_summary_endpoint_matches_arithmetic(api):
    p = net.PRESETS["vgg16"]
    r = api.post("/api/network/summary", json=p)
    assert r.status_code == 200
    rows = r.json()["layers"]
    spatial = [l for l in p["layers"] if l["type"] in ("conv", "pool")]
    fields = ar.receptive_field(spatial)
    shape = p["input_shape"]
    for row, layer, rf in zip(rows, p["layers"], fields):
        c, h, w = shape
        if layer["type"] == "conv":
            oh = ar.conv_output_size(h, 3, 1, 1)
            assert row["params"] == ar.conv_params(c, layer["filters"], 3, 3)
            assert row["macs"] == ar.conv_macs(oh, oh, layer["filters"], c, 3, 3)
            shape = [layer["filters"], oh, oh]
        else:
            shape = [c, ar.pool_output_size(h, 2), ar.pool_output_size(w, 2)]
        assert row["output_shape"] == shape
        assert (row["rf_size"], row["rf_jump"], row["rf_start"]) == (rf["size"], rf["jump"], rf["start"])
        assert set(row) >= {"type", "output_shape", "params", "macs", "rf_size", "rf_jump", "rf_start"}


def test_summary_endpoint_defaults_and_pairs(api):
    r = api.post(
        "/api/network/summary",
        json={"input_shape": [1, 10, 12], "layers": [{"type": "conv", "filters": 2, "kernel": [3, 5]}, {"type": "pool"}]},
    )
    assert r.status_code == 200
    rows = r.json()["layers"]
    assert rows[0]["output_shape"] == [2, 8, 8] and rows[0]["rf_size"] == [3, 5]
    assert rows[1]["output_shape"] == [2, 4, 4] and rows[1]["rf_jump"] == 2


def test_summary_endpoint_errors(api):
    bad = {"input_shape": [1, 8, 8], "layers": [{"type": "conv", "filters": 2, "kernel": 9}]}
    r = api.post("/api/network/summary", json=bad)
    assert r.status_code == 422 and r.json()["detail"].startswith("layers[0].kernel")
    r = api.post("/api/network/summary", json={**bad, "mark_invalid": True})
    assert r.status_code == 200 and r.json()["layers"][0]["error"].startswith("layers[0].kernel")
    r = api.post("/api/network/summary", json={"input_shape": [1, 8, 8], "layers": [{"type": "conv", "filters": 0, "kernel": 3}]})
    assert r.status_code == 422 and "filters" in r.json()["detail"]
    r = api.post("/api/network/summary", json={"input_shape": [1, 8], "layers": []})
    assert r.status_code == 422 and "input_shape" in r.json()["detail"]
    r = api.post("/api/network/summary", json={"input_shape": [1, 8, 8], "layers": [{"type": "softmax"}]})
    assert r.status_code == 422 and "layers.0" in r.json()["detail"]


def test_forward_endpoint_maps(api):
    body = {**net.PRESETS["canonical"], "image_id": "sample-square", "weights": "edges", "show_channels": 4}
    r = api.post("/api/network/forward", json=body, headers=BINARY)
    assert r.status_code == 200
    meta, arrays = decode_binary(r.content)
    assert arrays["input"].shape == (1, 28, 28)
    assert arrays["layer0"].shape == (4, 28, 28) and arrays["layer3"].shape == (4, 7, 7)
    assert "layer4" not in arrays and arrays["layer6"].shape == (4,)
    assert meta["layers"][2]["shape"] == [16, 14, 14] and meta["width_cap"] == 16  # 64 filters capped
    assert "Sobel x" in meta["note"]
    # filter 0 is Sobel x (then ReLU): it fires on the square's left edge only, where dark turns bright.
    sobel = arrays["layer0"][0]
    x = arrays["input"][0]
    assert sobel.max() > 1 and np.argmax(sobel.max(axis=0)) < 14 <= np.argmax(x.mean(axis=0)) + 14


def test_forward_is_seeded(api):
    body = {**net.PRESETS["lenet5"], "image_id": "sample-circle", "seed": 7}
    a = decode_binary(api.post("/api/network/forward", json=body, headers=BINARY).content)[1]
    b = decode_binary(api.post("/api/network/forward", json=body, headers=BINARY).content)[1]
    c = decode_binary(api.post("/api/network/forward", json={**body, "seed": 8}, headers=BINARY).content)[1]
    assert np.array_equal(a["layer2"], b["layer2"]) and not np.array_equal(a["layer2"], c["layer2"])


def test_erf_endpoint_field_and_fraction(api):
    layers = [{**l, "kind": "avg"} if l["type"] == "pool" else l for l in net.CANONICAL]
    body = {"input_shape": [1, 28, 28], "layers": layers, "image_id": "sample-circle", "weights": "ones",
            "gates": "linear", "unit": {"layer": 3, "channel": 0, "row": 3, "col": 3}}
    r = api.post("/api/network/erf", json=body, headers=BINARY)
    assert r.status_code == 200
    meta, arrays = decode_binary(r.content)
    # pool 2's unit (3, 3): centre 1.5 + 3·4 = 13.5, size 10 → rows 9..18
    assert meta["field"] == {"top": 9, "left": 9, "height": 10, "width": 10}
    assert meta["nonzero"] == {"top": 9, "left": 9, "bottom": 19, "right": 19}
    assert meta["inside"] == pytest.approx(1.0)
    assert 0 < meta["fraction"] < 1 and meta["area"] == 100
    assert arrays["erf"].shape == (28, 28)


def test_erf_endpoint_errors(api):
    base = {**net.PRESETS["canonical"], "image_id": "sample-circle"}
    r = api.post("/api/network/erf", json={**base, "unit": {"layer": 9}})
    assert r.status_code == 422 and "unit.layer" in r.json()["detail"]
    r = api.post("/api/network/erf", json={**base, "unit": {"layer": 0, "channel": 20}})
    assert r.status_code == 422 and "unit.channel" in r.json()["detail"] and "capped" in r.json()["detail"]
    r = api.post("/api/network/erf", json={**base, "image_id": "0123456789abcdef0123", "unit": {"layer": 0}})
    assert r.status_code == 404


def test_work_is_bounded():
    with make_client(max_work=2_000_000) as c:
        body = {**net.PRESETS["vgg16"], "image_id": "sample-circle"}
        r = c.post("/api/network/forward", json=body)
        assert r.status_code == 413 and "multiply-adds" in r.json()["detail"]
        r = c.post("/api/network/forward", json={**net.PRESETS["canonical"], "image_id": "sample-circle"}, headers=BINARY)
        assert r.status_code == 200
        assert decode_binary(r.content)[0]["width_cap"] < 16  # halved until it fits


def test_fit_image_crops_to_aspect_and_resizes():
    x = np.zeros((1, 40, 20), np.float32)
    x[:, 10:30] = 1  # the centre square, which the crop keeps
    y = net.fit_image(x, 10, 10)
    assert y.shape == (1, 10, 10) and np.allclose(y, 1)
    assert net.fit_image(np.ones((3, 7, 9), np.float32), 28, 28).shape == (3, 28, 28)
