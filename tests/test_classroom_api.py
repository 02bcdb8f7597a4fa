"""Classroom server bits: the slow reference, the parity badge, learn-a-filter, lessons and pages."""
from __future__ import annotations

from urllib.parse import parse_qs

import numpy as np
import numpy.testing as npt
import pytest

from app import kernels
from app.labs.classroom import learn, reference
from app.labs.classroom.lessons import LESSONS
from tests.conftest import make_client

SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]


def naive_conv_loops(x, w, stride, pad):
    """Six nested loops, zero padding: the reference's own reference on tiny cases."""
    c_out, c_in, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        for i in range(oh):
            for j in range(ow):
                for c in range(c_in):
                    for a in range(kh):
                        for b in range(kw):
                            y[o, i, j] += w[o, c, a, b] * xp[c, i * stride + a, j * stride + b]
    return y


def test_reference_matches_loops_on_tiny_case(rng):
    x = rng.standard_normal((2, 7, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    npt.assert_allclose(reference.conv2d(x, w, stride=2, padding=1), naive_conv_loops(x, w, 2, 1), atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, dilation, stride", [(1, 1, 1), ("same", 2, 1), ([2, 1], [1, 2], [2, 1]), ("valid", 1, 3)])
def test_reference_agrees_with_kernels(rng, mode, padding, dilation, stride):
    x = rng.standard_normal((2, 11, 9))
    w = rng.standard_normal((2, 2, 3, 4))
    b = rng.standard_normal(2)
    ours = kernels.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
    ref = reference.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
    npt.assert_allclose(ours, ref, atol=1e-10, err_msg=f"{mode} {padding} {dilation} {stride}")


def test_parity_on_a_sample_is_float32_close(client):
    r = client.post("/api/parity", json={
        "image_id": "sample-square", "color": "gray", "weight": [[SOBEL_X]], "bias": [0.5],
        "stride": 1, "padding": 1, "padding_mode": "reflect", "flip": True, "relu": True,
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output_shape"] == [1, 16, 16]
    assert body["reference"]["available"] is True
    assert 0 <= body["reference"]["max_abs_diff"] < 1e-5
    assert body["max_abs_value"] > 1
    assert body["torch"]["name"] == "PyTorch"


def test_parity_with_torch_when_installed(client):
    pytest.importorskip("torch")
    r = client.post("/api/parity", json={"image_id": "sample-circle", "weight": [[SOBEL_X]], "padding": "same",
                                         "padding_mode": "circular", "dilation": 2})
    assert r.status_code == 200
    assert r.json()["torch"]["max_abs_diff"] < 1e-5


def test_parity_rejects_channel_mismatch(client):
    r = client.post("/api/parity", json={"image_id": "sample-square", "weight": [[SOBEL_X, SOBEL_X]]})
    assert r.status_code == 422
    assert r.json()["detail"] == "weight: expects 2 input channels but the image has 1"


def test_parity_reports_impossible_geometry(client):
    r = client.post("/api/parity", json={"input": [[[1.0, 2.0], [3.0, 4.0]]], "weight": [[SOBEL_X]]})
    assert r.status_code == 422
    assert "larger than the padded input" in r.json()["detail"]


def test_parity_bounds_work():
    with make_client(max_work=1000) as small:
        r = small.post("/api/parity", json={"image_id": "sample-camera", "weight": [[SOBEL_X]]})
    assert r.status_code == 413
    assert "multiply-adds" in r.json()["detail"]


def test_learn_filter_recovers_sobel_x():
    inputs = learn.noise_inputs(4, 16, seed=3)
    result = learn.learn_filter(inputs, np.array(SOBEL_X), steps=120, lr=0.1, seed=3)
    assert result["kernels"].shape == (121, 3, 3)
    assert result["losses"][-1] < 1e-6 * result["losses"][0]
    npt.assert_allclose(result["kernels"][-1], SOBEL_X, atol=1e-3)


def test_learn_filter_gradient_matches_finite_differences():
    x = learn.noise_inputs(1, 8, seed=1)
    truth = np.array(SOBEL_X)
    out = learn.learn_filter(x, truth, steps=0, lr=0.1, seed=2)
    w0 = out["kernels"][0]
    eps = 1e-6

    def loss(w):
        y = kernels.conv2d(x[0], w.reshape(1, 1, 3, 3))
        t = kernels.conv2d(x[0], truth.reshape(1, 1, 3, 3))
        return float(np.mean((y - t) ** 2))

    numeric = np.zeros(9)
    for k in range(9):
        d = np.zeros(9)
        d[k] = eps
        numeric[k] = (loss(w0.ravel() + d) - loss(w0.ravel() - d)) / (2 * eps)
    assert abs(out["losses"][0] - loss(w0)) < 1e-12
    assert abs(out["grad_norms"][0] - np.linalg.norm(numeric)) < 1e-6


def test_learn_filter_endpoint(client):
    r = client.post("/api/learn-filter", json={"hidden": "sobel-x", "steps": 60, "lr": 0.1, "seed": 7})
    assert r.status_code == 200
    body = r.json()
    assert body["truth"] == SOBEL_X
    assert len(body["kernels"]) == 61 and len(body["losses"]) == 61
    assert body["losses"][-1] < body["losses"][0] / 100
    assert body["max_abs_error"] < 0.05


def test_learn_filter_divergence_is_explained(client):
    r = client.post("/api/learn-filter", json={"hidden": "sobel-x", "steps": 300, "lr": 2})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("lr: 2.0 is too large")


def test_learn_filter_needs_one_kernel(client):
    r = client.post("/api/learn-filter", json={"hidden": None})
    assert r.status_code == 422
    assert "exactly one of hidden" in r.json()["detail"]


def test_lessons_follow_the_chapter_and_link_into_labs(client):
    r = client.get("/lessons")
    assert r.status_code == 200
    html = r.text
    assert len(LESSONS) >= 8
    for lesson in LESSONS:
        assert f'data-testid="lesson-{lesson.slug}"' in html
        fields = parse_qs(lesson.fragment())
        assert fields["lab"] == [lesson.lab]
        assert "<" not in lesson.caption


def test_compare_page_may_frame_the_explorer(client):
    r = client.get("/compare")
    assert r.status_code == 200
    assert 'data-testid="compare-a"' in r.text
    root = client.get("/")
    assert "frame-ancestors 'self'" in root.headers["content-security-policy"]
    assert root.headers["x-frame-options"] == "SAMEORIGIN"


def test_parity_checks_a_grouped_layer(client):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (3, 7, 6)).round(3).tolist()
    w = rng.uniform(-1, 1, (3, 1, 3, 3)).round(3).tolist()  # depthwise: one slice per filter
    r = client.post("/api/parity", json={"input": x, "weight": w, "groups": 3, "padding": 1, "torch": False})
    assert r.status_code == 200, r.text
    assert r.json()["output_shape"] == [3, 7, 6]
    assert r.json()["reference"]["max_abs_diff"] < 1e-5
    bad = client.post("/api/parity", json={"input": x, "weight": w, "groups": 1, "torch": False})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "weight: expects 1 input channels but the image has 3"
