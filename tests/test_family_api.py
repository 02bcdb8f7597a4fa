"""The family endpoints: transposed and 1-D convolution, framework semantics, groups costs.

Numbers are checked against loop-only references written here.
"""
from __future__ import annotations

import numpy as np
import pytest

from app import arithmetic, kernels
from app.labs.family import transposed
from tests.conftest import make_client



def naive_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Every input pixel stamps x·w into the full output; crop padding; output_padding adds zeros."""
    c_in, h, wd = x.shape
    _, cog, kh, kw = w.shape
    cig = c_in // groups
    fh, fw = (h - 1) * stride + dilation * (kh - 1) + 1, (wd - 1) * stride + dilation * (kw - 1) + 1
    full = np.zeros((cog * groups, fh + output_padding, fw + output_padding))
    for ci in range(c_in):
        g = ci // cig
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for b in range(kw):
                        full[g * cog:(g + 1) * cog, i * stride + a * dilation, j * stride + b * dilation] += x[ci, i, j] * w[ci, :, a, b]
    ho, wo = fh - 2 * padding + output_padding, fw - 2 * padding + output_padding
    return full[:, padding:padding + ho, padding:padding + wo]


def naive_conv1d(x, w, stride=1, padding=0, dilation=1):
    """Eq. 36.1 with stride, zero padding and dilation, (C_in, L) * (C_out, C_in, k)."""
    xp = np.pad(x, ((0, 0), (padding, padding)))
    c_out, _, k = w.shape
    n = (xp.shape[1] - dilation * (k - 1) - 1) // stride + 1
    return np.array([[sum(xp[:, i * stride + a * dilation] @ w[o, :, a] for a in range(k)) for i in range(n)] for o in range(c_out)])


@pytest.fixture(scope="module")
def client():
    with make_client() as c:
        yield c


@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups", [
    (1, 0, 0, 1, 1), (2, 0, 1, 1, 1), (2, 1, 1, 1, 2), (3, 2, 2, 1, 1), (1, 1, 0, 2, 1), (2, 3, 0, 2, 1),
])
def test_direct_form_equals_scatter(rng, stride, padding, output_padding, dilation, groups):
    x = rng.standard_normal((2, 4, 3))
    w = rng.standard_normal((2, 4 // groups, 3, 2))
    ref = naive_conv_transpose2d(x, w, stride, padding, output_padding, dilation, groups)
    _, _, _, y = transposed.as_direct_convolution(x, w, None, stride, padding, output_padding, dilation, groups)
    assert y.shape == ref.shape
    assert np.max(np.abs(y - ref)) < 1e-12
    assert ref.shape[1] == arithmetic.conv_transpose_output_size(4, 3, stride, padding, dilation, output_padding)


def test_output_size_rules():
    assert arithmetic.conv_transpose_output_size(3, 3, 2) == 7
    assert arithmetic.conv_transpose_output_size(4, 4, 2, 1) == 8
    with pytest.raises(ValueError, match="output_padding 2 must be smaller"):
        arithmetic.conv_transpose_output_size(4, 3, 2, 0, 1, 2)
    with pytest.raises(ValueError, match="crops everything"):
        arithmetic.conv_transpose_output_size(1, 1, 1, 1)
    # output_padding restores the rows the forward floor dropped
    assert arithmetic.output_padding_for(8, arithmetic.conv_output_size(8, 3, 2, 1), 3, 2, 1) == 1


def test_conv_transpose2d_endpoint_matches_reference_and_direct(client, rng):
    x = rng.integers(-3, 4, (1, 3, 3)).astype(float)
    w = rng.integers(-2, 3, (1, 1, 3, 3)).astype(float)
    r = client.post("/api/conv_transpose2d", json={"input": x.tolist(), "weight": w.tolist(), "stride": 2, "padding": 1,
                                                   "output_padding": 1, "dtype": "float64", "explain": True})
    assert r.status_code == 200, r.text
    body = r.json()
    ref = naive_conv_transpose2d(x, w, 2, 1, 1)
    assert body["output_shape"] == [1, 6, 6] and body["sizes"][0]["out"] == 6
    assert np.array_equal(np.array(body["output"]), ref)
    assert body["direct"]["max_abs_diff"] == 0
    assert body["direct"]["borders"] == [1, 2, 1, 2]


def test_input_gradient_is_a_transposed_convolution(client, rng):
    x = rng.standard_normal((1, 7, 7))
    w = rng.standard_normal((1, 1, 3, 3))
    out = arithmetic.conv_output_size(7, 3, 2, 1)
    gy = rng.standard_normal((1, out, out))
    r = client.post("/api/conv_transpose2d/input-gradient", json={
        "input": x.tolist(), "weight": w.tolist(), "grad_output": gy.tolist(), "stride": 2, "padding": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output_padding"] == [0, 0]
    assert body["max_abs_diff"] < 1e-12
    gx, _, _ = kernels.conv2d_backward(x, w, gy, stride=2, padding=1)
    assert np.allclose(body["grad_input"], gx)


def test_conv1d_forward_and_backward(client, rng):
    x = rng.integers(-3, 4, (1, 9)).astype(float)
    w = np.array([[[1.0, 0.0, -1.0]]])
    ref = naive_conv1d(x, w, 2, 1, 2)
    gy = rng.integers(-2, 3, ref.shape).astype(float)
    r = client.post("/api/conv1d", json={"input": x[0].tolist(), "weight": w[0, 0].tolist(), "stride": 2, "padding": 1,
                                         "dilation": 2, "grad_output": gy.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert np.allclose(body["output"], ref)
    assert body["padded_input"][0] == [0.0, *x[0].tolist(), 0.0]
    # 36.9 and 36.10 by their loops, on the padded signal
    xp = np.array(body["padded_input"][0])
    gw = [sum(gy[0, i] * xp[i * 2 + a * 2] for i in range(gy.shape[1])) for a in range(3)]
    gxp = np.zeros_like(xp)
    for i in range(gy.shape[1]):
        for a in range(3):
            gxp[i * 2 + a * 2] += gy[0, i] * w[0, 0, a]
    assert np.allclose(body["grad_weight"][0][0], gw)
    assert np.allclose(body["grad_input"][0], gxp[1:-1])


def test_frameworks_endpoint(client):
    r = client.post("/api/frameworks/compare", json={"height": 8, "width": 7, "kernel": 3, "stride": 2})
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.json()["rows"]}
    assert rows["tf-conv-same"]["out"] == [4, 4]
    assert [rows["tf-conv-same"]["h"]["pad_before"], rows["tf-conv-same"]["h"]["pad_after"]] == [0, 1]
    assert rows["torch-conv-same"]["out"] is None and "strided" in rows["torch-conv-same"]["error"]


def test_groups_cost_uses_grouped_params(client):
    r = client.post("/api/groups/cost", json={"c_in": 8, "c_out": 16, "kernel": 3, "height": 32, "width": 32})
    assert r.status_code == 200
    body = r.json()
    assert [o["groups"] for o in body["options"]] == [1, 2, 4, 8]
    for o in body["options"]:
        assert o["params"] == arithmetic.conv_params(8, 16, 3, 3, groups=o["groups"])
    sep = body["depthwise_separable"]
    assert sep["params"] == 8 * 9 + 8 + 16 * 8 + 16
    assert sep["params_ratio"] == pytest.approx(body["standard"]["params"] / sep["params"])


@pytest.mark.parametrize("path, body, field", [
    ("/api/conv_transpose2d", {"input": [[[1, 2], [3]]], "weight": [[[[1]]]]}, "input"),
    ("/api/conv_transpose2d", {"input": [[[1.0]]], "weight": [[[[1.0]]]], "stride": 0}, "stride"),
    ("/api/conv_transpose2d", {"input": [[[1.0, 2.0]]], "weight": [[[[1.0, 1.0]]]], "stride": 2, "output_padding": 2}, "output_padding"),
    ("/api/conv_transpose2d", {"input": [[[1.0]], [[1.0]]], "weight": [[[[1.0]]]]}, "weight"),
    ("/api/conv1d", {"input": [1.0, 2.0], "weight": [1.0, 1.0, 1.0]}, "weight"),
    ("/api/conv1d", {"input": [1.0, 2.0], "weight": [1.0], "padding_mode": "mirror"}, "padding_mode"),
    ("/api/frameworks/compare", {"height": 0, "width": 4}, "height"),
    ("/api/groups/cost", {"c_in": 8, "c_out": "16"}, "c_out"),
    ("/api/conv_transpose2d/input-gradient", {"input": [[[1.0, 2.0]]], "weight": [[[[1.0]]]], "grad_output": [[[1.0]]]}, "grad_output"),
])
def test_bad_requests_name_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_work_over_the_limit_is_413():
    with make_client(max_work=100) as small:
        x = np.ones((1, 8, 8)).tolist()
        r = small.post("/api/conv_transpose2d", json={"input": x, "weight": np.ones((1, 1, 3, 3)).tolist()})
        assert r.status_code == 413
        assert "100" in r.json()["detail"]
        r = small.post("/api/conv1d", json={"input": [1.0] * 60, "weight": [1.0] * 5})
        assert r.status_code == 413
