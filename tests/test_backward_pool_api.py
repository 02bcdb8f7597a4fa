"""POST /api/backward, /api/pool/routing and /api/pool/invariance: agreement with
app.kernels, validation at the boundary (422 naming the field, 413, 404), binary
transport."""
from __future__ import annotations

import numpy as np
import pytest

from app.api import backward as backward_api
from app.api.transport import BINARY_MEDIA_TYPE, decode_binary
from app.kernels import conv2d, conv2d_backward, pool2d, pool2d_backward
from app.labs.backward.delta import feature_map
from app.labs.pool import shift
from tests.conftest import make_client

NUMBERED = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)


def _square():
    """The chapter's 16×16 bright square (what sample-square holds)."""
    x = np.full((1, 16, 16), 0.15)
    x[:, 4:12, 4:12] = 0.85
    return x


def _post(client, path, body, binary=False):
    headers = {"Accept": BINARY_MEDIA_TYPE} if binary else {}
    return client.post(path, json=body, headers=headers)


# --- /api/backward ------------------------------------------------------------------


def test_backward_agrees_with_kernels(client, rng):
    x = rng.random((2, 7, 8))
    w = rng.standard_normal((1, 2, 3, 2))
    body = {"input": x.tolist(), "weight": w.tolist(), "stride": [2, 1], "padding": 1, "dilation": [1, 2],
            "padding_mode": "reflect", "delta": {"kind": "random", "seed": 5}}
    r = _post(client, "/api/backward", body)
    assert r.status_code == 200, r.text
    out = r.json()
    y = conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2), padding_mode="reflect")
    delta = np.asarray(out["grad_output"])
    assert out["output_shape"] == list(y.shape) and delta.shape == y.shape
    assert np.allclose(out["output"], y, atol=1e-5)
    gx, gw, gb = conv2d_backward(x, w, delta, stride=(2, 1), padding=1, dilation=(1, 2), padding_mode="reflect")
    assert np.allclose(out["grad_input"], gx, atol=1e-5)
    assert np.allclose(out["grad_weight"], gw, atol=1e-4)
    assert np.allclose(out["grad_bias"], gb, atol=1e-4)
    assert out["pads"] == [1, 1, 1, 1] and out["weight_shape"] == [1, 2, 3, 2]
    assert out["gradcheck"] is None and out["loss"] is None


def test_backward_one_hot_stamps_the_kernel_on_the_window(client):
    """δ = 1 at y[5, 6] only: ∂L/∂x holds K on the window y[5, 6] read (rows 4–6, cols 5–7
    with padding 1): the full convolution with flip(K) flips it back."""
    body = {"image_id": "sample-square", "color": "gray", "weight": NUMBERED.tolist(), "padding": 1,
            "delta": {"kind": "one_hot", "index": [0, 5, 6]}}
    r = _post(client, "/api/backward", body, binary=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith(BINARY_MEDIA_TYPE)
    meta, arrays = decode_binary(r.content)
    gx = arrays["grad_input"][0]
    assert np.array_equal(gx[4:7, 5:8], NUMBERED[0, 0])
    assert np.count_nonzero(gx) == 9
    assert np.allclose(arrays["input"], _square())
    assert meta["input_shape"] == [1, 16, 16] and arrays["grad_weight"].shape == (1, 1, 3, 3)


def test_backward_one_hot_with_stride_and_dilation(client):
    body = {"input": np.zeros((1, 12, 12)).tolist(), "weight": NUMBERED.tolist(), "stride": 2, "dilation": 2,
            "delta": {"kind": "one_hot", "index": [0, 1, 2]}}
    gx = np.asarray(_post(client, "/api/backward", body).json()["grad_input"])[0]
    # y[1, 2] reads rows 2, 4, 6 and columns 4, 6, 8
    assert np.array_equal(gx[2:7:2, 4:9:2], NUMBERED[0, 0])
    assert np.count_nonzero(gx) == 9


def test_backward_squared_error_and_gradcheck(client):
    body = {"image_id": "sample-square", "weight": NUMBERED.tolist(), "padding": "same", "padding_mode": "circular",
            "delta": {"kind": "squared_error", "target": "sobel_x"}, "gradcheck": {"step": 1e-4, "samples": 16, "seed": 2}}
    out = _post(client, "/api/backward", body).json()
    x = _square()
    y = conv2d(x, NUMBERED, padding="same", padding_mode="circular")
    sobel = np.array([[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]], dtype=float)
    t = conv2d(x, sobel, padding="same", padding_mode="circular")
    assert np.allclose(out["target"], t, atol=1e-5)
    assert np.allclose(out["grad_output"], y - t, atol=1e-4)
    assert out["loss"] == pytest.approx(0.5 * np.sum((y - t) ** 2))
    g = out["gradcheck"]
    assert g["loss"] == "squared" and g["step"] == 1e-4 and g["n_weights"] == 9 and g["n_input_pixels"] == 16
    assert g["max_abs_diff"] < 1e-6


def test_backward_default_gradcheck_below_1e6(client):
    body = {"image_id": "sample-square", "weight": NUMBERED.tolist(), "padding": 1,
            "delta": {"kind": "ones"}, "gradcheck": {}}
    g = _post(client, "/api/backward", body).json()["gradcheck"]
    assert g["step"] == 1e-6 and g["max_abs_diff"] < 1e-6  # its time: bench/gradcheck.py


def test_backward_skips_an_expensive_gradcheck(client, monkeypatch):
    monkeypatch.setattr(backward_api, "GRADCHECK_MAX_WORK", 1000)
    body = {"image_id": "sample-square", "weight": NUMBERED.tolist(), "gradcheck": {}}
    out = _post(client, "/api/backward", body).json()
    assert out["gradcheck"] is None
    assert "multiply-adds" in out["gradcheck_skipped"] and "limit 1,000" in out["gradcheck_skipped"]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"stride": 0}, "stride"),
        ({"padding_mode": "mirror"}, "padding_mode"),
        ({"delta": {"kind": "one_hot"}}, "delta"),
        ({"delta": {"kind": "one_hot", "index": [0, 40, 0]}}, "delta.index"),
        ({"delta": {"kind": "squared_error", "target": "blur"}}, "delta.target"),
        ({"gradcheck": {"step": 0}}, "gradcheck.step"),
        ({"weight": [[[[1, 2], [3]]]]}, "weight"),
        ({"dilation": 9}, "dilated kernel"),
        ({"padding": "same", "stride": 2}, "same"),
        ({"extra": 1}, "extra"),
    ],
)
def test_backward_rejects_bad_fields_naming_them(client, patch, field):
    body = {"image_id": "sample-square", "weight": NUMBERED.tolist(), **patch}
    r = _post(client, "/api/backward", body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_backward_unknown_image_is_404(client):
    r = _post(client, "/api/backward", {"image_id": "0123456789abcdef01", "weight": NUMBERED.tolist()})
    assert r.status_code == 404 and "upload the image again" in r.json()["detail"]


def test_labs_bound_the_work_with_413():
    with make_client(max_work=5000) as small:
        r = _post(small, "/api/backward", {"image_id": "sample-square", "weight": NUMBERED.tolist()})
        assert r.status_code == 413 and "5,000" in r.json()["detail"]
        r = _post(small, "/api/pool/invariance", {"image_id": "sample-camera", "kernel_size": 4})
        assert r.status_code == 413 and "invariance" in r.json()["detail"]


# --- /api/pool/routing --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_routing_agrees_with_kernels(client, rng, kind):
    x = rng.random((2, 9, 7))
    body = {"input": x.tolist(), "kind": kind, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 1],
            "delta": {"kind": "random", "seed": 3}}
    r = _post(client, "/api/pool/routing", body, binary=True)
    assert r.status_code == 200, r.text
    meta, arrays = decode_binary(r.content)
    y, arg = pool2d(x, kind, (3, 2), (2, 1), (1, 1))
    assert meta["output_shape"] == list(y.shape)
    assert np.allclose(arrays["output"], y, atol=1e-6)
    if kind == "max":
        assert np.array_equal(arrays["argmax"], arg)
    else:
        assert "argmax" not in arrays
    gx = pool2d_backward(x, arrays["grad_output"].astype(np.float64), kind, (3, 2), (2, 1), (1, 1))
    assert np.allclose(arrays["grad_input"], gx, atol=1e-5)


def test_pool_routing_ones_counts_wins(client):
    """δ = 1: every window sends 1 to its winner, so ∂L/∂x counts the windows each cell won."""
    x = np.array([[[1, 2, 0, 0], [0, 0, 0, 9], [5, 0, 0, 0], [0, 0, 0, 0]]], dtype=float)
    out = _post(client, "/api/pool/routing", {"input": x.tolist(), "kernel_size": 2, "stride": 1}).json()
    assert out["output"] == [[[2, 2, 9], [5, 0, 9], [5, 0, 0]]]
    gx = np.asarray(out["grad_input"])[0]
    assert gx[1, 3] == 2 and gx[2, 0] == 2 and gx[0, 1] == 2  # overlapping windows add up
    assert gx.sum() == 9


def test_pool_routing_sobel_source(client):
    out = _post(client, "/api/pool/routing", {"image_id": "sample-square", "source": "sobel_mag", "kernel_size": 2}).json()
    expected = feature_map(_square(), "sobel_mag")
    assert np.allclose(out["input"], expected, atol=1e-5)
    assert np.allclose(out["output"], pool2d(expected, "max", 2)[0], atol=1e-5)


@pytest.mark.parametrize(
    "patch, field",
    [({"kernel_size": 0}, "kernel_size"), ({"padding": 3}, "padding"), ({"source": "blur"}, "source"),
     ({"kind": "min"}, "kind"), ({"delta": {"kind": "one_hot", "index": [0, 99, 0]}}, "delta.index")],
)
def test_pool_routing_rejects_bad_fields(client, patch, field):
    r = _post(client, "/api/pool/routing", {"image_id": "sample-square", "kernel_size": 2, **patch})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


# --- /api/pool/invariance -----------------------------------------------------------


def test_pool_invariance_on_the_square(client):
    r = _post(client, "/api/pool/invariance", {"image_id": "sample-square", "kernel_size": 2}, binary=True)
    assert r.status_code == 200
    meta, arrays = decode_binary(r.content)
    assert meta["shifts"] == [0, 1] and meta["unchanged"][0] == 1.0
    x = _square()
    base = pool2d(x, "max", 2)[0]
    moved = pool2d(shift(x, 0, 1), "max", 2)[0]
    assert meta["unchanged"][1] == pytest.approx(np.mean(np.abs(moved - base) <= 1e-6))
    assert np.array_equal(arrays["changed"][1], (np.abs(moved - base) > 1e-6).astype(np.int32))
    assert arrays["pooled"].shape == (2, 1, 8, 8)


def test_pool_invariance_diagonal_3x3_avg(client):
    out = _post(client, "/api/pool/invariance", {"image_id": "sample-letter", "kernel_size": 3, "kind": "avg",
                                                  "axis": "xy"}).json()
    assert out["shifts"] == [0, 1, 2]
    assert all(0 <= f <= 1 for f in out["unchanged"] + out["pixels_unchanged"])
    assert out["unchanged"][2] < 1.0
