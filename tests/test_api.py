"""The HTTP contract: status first, then fields, then the exact detail."""
from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app import kernels
from app.api.transport import BINARY_MEDIA_TYPE, decode_binary
from app.api.middleware import CSP
from app.imaging.samples import square
from tests import test_images as ti
from tests.conftest import image_bytes, make_client, upload

BINARY = {"Accept": BINARY_MEDIA_TYPE}
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def pixels(client: TestClient, image_id: str, color: str | None = None) -> np.ndarray:
    r = client.get(f"/api/images/{image_id}/pixels", params={"color": color} if color else {}, headers=BINARY)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == BINARY_MEDIA_TYPE
    meta, arrays = decode_binary(r.content)
    assert meta["id"] == image_id
    return arrays["pixels"]


# --- system -----------------------------------------------------------------------


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/health", "/docs", "/openapi.json", "/api/samples", "/docs/init.js",
                                  "/api/images/0000000000000000/pixels"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"] == CSP
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] in ("'none'", "'self'")
    assert "unsafe" not in CSP and "http" not in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_docs_work_offline_under_csp(client):
    r = client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert "<script>" not in html.replace('<script src=', "")  # no inline script
    assert "http://" not in html and "https://" not in html  # no CDN
    for src in ["/docs/assets/swagger-ui-bundle.js", "/docs/init.js", "/docs/assets/swagger-ui.css"]:
        assert src in html
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100
    assert "/openapi.json" in client.get("/docs/init.js").text
    assert client.get("/docs/assets/..%2F..%2F__init__.py").status_code == 404
    assert client.get("/docs/assets/index.html").status_code == 404


def test_openapi_documents_errors(client):
    spec = client.get("/openapi.json").json()
    conv = spec["paths"]["/api/conv2d"]["post"]["responses"]
    assert {"200", "400", "404", "413", "422"} <= set(conv)
    upload_op = spec["paths"]["/api/images"]["post"]["responses"]
    assert {"201", "413", "415", "422"} <= set(upload_op)


# --- samples ----------------------------------------------------------------------


def test_samples_listed_with_shapes(client):
    r = client.get("/api/samples")
    assert r.status_code == 200
    by_id = {s["id"]: s for s in r.json()}
    for name in ["square", "checkerboard", "circle", "stripes", "letter", "gradient", "camera", "astronaut", "coffee"]:
        assert f"sample-{name}" in by_id
    assert by_id["sample-square"] == {"id": "sample-square", "name": by_id["sample-square"]["name"],
                                      "width": 16, "height": 16, "channels": 1}
    assert by_id["sample-astronaut"]["channels"] == 3
    assert max(by_id["sample-coffee"]["width"], by_id["sample-coffee"]["height"]) <= 512


def test_sample_square_is_the_chapters(client):
    got = pixels(client, "sample-square")
    expected = np.full((1, 16, 16), 0.15, np.float32)
    expected[:, 4:12, 4:12] = 0.85
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, square())


def test_every_sample_is_served(client):
    for s in client.get("/api/samples").json():
        got = pixels(client, s["id"])
        assert got.shape == (s["channels"], s["height"], s["width"])
        assert 0.0 <= got.min() and got.max() <= 1.0
        png = client.get(f"/api/images/{s['id']}")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"


def test_max_side_copy_of_a_sample_is_its_lanczos_resize(client):
    """POST /api/images/{id}/resized: the page's "max side" for samples and uploads alike."""
    r = client.post("/api/images/sample-camera/resized", params={"max_side": 64})
    assert r.status_code == 200, r.text
    info = r.json()
    assert (info["height"], info["width"], info["channels"]) == (64, 64, 1)
    assert info["id"] != "sample-camera"
    got = pixels(client, info["id"])
    full = pixels(client, "sample-camera")[0]
    ref = np.asarray(Image.fromarray(full, mode="F").resize((64, 64), Image.Resampling.LANCZOS, reducing_gap=3.0))
    np.testing.assert_allclose(got[0], np.clip(ref, 0, 1), atol=1e-6)
    # An upload, 100 rows × 400 columns: longest side 64 keeps the shape, 16 × 64.
    up = upload(client, ti_gradient(100, 400)).json()
    small = client.post(f"/api/images/{up['id']}/resized", params={"max_side": 64}).json()
    assert (small["height"], small["width"]) == (16, 64)
    # Never enlarged: a small image answers with its own id.
    same = client.post("/api/images/sample-square/resized", params={"max_side": 64}).json()
    assert same == {"id": "sample-square", "width": 16, "height": 16, "channels": 1}


@pytest.mark.parametrize("image_id, params, status", [
    ("sample-nope", {"max_side": 64}, 404),
    ("sample-camera", {"max_side": 0}, 422),
    ("sample-camera", {}, 422),
    ("not an id!", {"max_side": 64}, 422),
])
def test_max_side_copy_errors_say_what_to_do(client, image_id, params, status):
    r = client.post(f"/api/images/{image_id}/resized", params=params)
    assert r.status_code == status
    assert r.json()["detail"]


def ti_gradient(h: int, w: int) -> bytes:
    return image_bytes(np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1)))


# --- uploads ----------------------------------------------------------------------


@pytest.mark.parametrize("make", ti.FILES, ids=[f.__name__ for f in ti.FILES])
def test_upload_every_format_pixel_exact(client, make):
    data, expected = make()
    r = upload(client, data, "upload.bin")
    assert r.status_code == 201, r.text
    info = r.json()
    if expected.shape[0] == 3 and info["channels"] == 1:
        expected = expected[:1]
    assert info["channels"] == expected.shape[0]
    assert (info["height"], info["width"]) == expected.shape[1:]
    np.testing.assert_array_equal(pixels(client, info["id"]), expected)


def test_upload_id_is_content_address(client):
    data, _ = ti.rgb_png()
    a, b = upload(client, data).json(), upload(client, data, "other-name.png").json()
    assert a == b


def test_upload_color_and_max_side(client):
    data, expected = ti.rgb_png()  # 40 × 24
    r = upload(client, data, color="gray")
    assert r.status_code == 201
    assert r.json()["channels"] == 1
    r = client.post("/api/images", files={"file": ("a.png", data)}, data={"max_side": "20", "color": "rgb"})
    assert r.status_code == 201
    assert (r.json()["width"], r.json()["height"], r.json()["channels"]) == (20, 12, 3)


def test_upload_max_side_limit(client):
    data, _ = ti.rgb_png()
    r = upload(client, data, max_side=2048)
    assert r.status_code == 422
    assert r.json()["detail"] == "max_side: 2048 is above this server's limit of 1024"
    r = upload(client, data, max_side=0)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("max_side:")


def test_upload_without_file(client):
    r = client.post("/api/images", data={"max_side": "64"})
    assert r.status_code == 422
    assert r.json()["detail"] == "file: Field required"


def test_upload_unsupported(client):
    r = upload(client, b"<html><body>hi</body></html>", "x.png")
    assert r.status_code == 415
    assert r.json()["detail"] == ("the file looks like an HTML page, not an image ConvLab can read "
                                  "(PNG, JPEG, GIF, BMP or WebP)")


def test_pixels_color_conversion(client):
    data, expected = ti.rgb_png()
    image_id = upload(client, data).json()["id"]
    gray = pixels(client, image_id, "gray")
    ref = ti.luma(expected.astype(np.float64).transpose(1, 2, 0))
    np.testing.assert_allclose(gray[0], ref, atol=1e-6)
    r = client.get(f"/api/images/{image_id}/pixels", params={"color": "gray"})  # JSON form
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["width"], body["height"], body["channels"]) == (image_id, 40, 24, 1)
    np.testing.assert_array_equal(np.array(body["pixels"], dtype=np.float32), gray)


def test_get_png_round_trip(client):
    data, expected = ti.rgb_png()
    image_id = upload(client, data).json()["id"]
    r = client.get(f"/api/images/{image_id}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as im:
        np.testing.assert_array_equal(np.asarray(im), ti.RGB)


def test_unknown_id_says_upload_again(client):
    r = client.get("/api/images/0123456789abcdef0123/pixels")
    assert r.status_code == 404
    assert r.json()["detail"] == ("unknown image id '0123456789abcdef0123': it is not on this server; upload the "
                                  "image again (servers keep uploads in a bounded memory cache, per worker)")
    r = client.post("/api/conv2d", json={"image_id": "0123456789abcdef0123", "weight": [[[[1.0]]]]})
    assert r.status_code == 404
    assert "upload the image again" in r.json()["detail"]


@pytest.mark.parametrize("bad", ["..", "sample-..", "SAMPLE-X", "abc", "0123456789abcdefg", "x" * 80, "sample-a b"])
def test_invalid_ids_rejected(client, bad):
    r = client.get(f"/api/images/{bad}/pixels")
    assert r.status_code in (404, 422)
    assert "detail" in r.json()
    r = client.post("/api/conv2d", json={"image_id": bad, "weight": [[[[1.0]]]]})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("image_id:")


# --- conv2d -----------------------------------------------------------------------


def test_conv2d_chapter_example(client):
    r = client.post("/api/conv2d", json={"image_id": "sample-square", "weight": [[SOBEL_X]]})
    assert r.status_code == 200
    body = r.json()
    assert body["output_shape"] == [1, 14, 14]
    assert body["input_shape"] == [1, 16, 16]
    y = np.array(body["output"], dtype=np.float32)
    expected = kernels.conv2d(square(), np.array([[SOBEL_X]], np.float32))
    np.testing.assert_array_equal(y, expected)
    assert body["output_min"] == [float(expected.min())] and body["output_max"] == [float(expected.max())]
    assert abs(body["output_max"][0] - 2.8) < 1e-6  # 4 × (0.85 − 0.15) along the left edge


def naive_conv(x, w, b=None):
    c_out, _, kh, kw = w.shape
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    y = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        for i in range(oh):
            for j in range(ow):
                y[o, i, j] = np.sum(x[:, i:i + kh, j:j + kw] * w[o]) + (0 if b is None else b[o])
    return y


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"stride": 2, "padding": 1},
        {"stride": [1, 2], "padding": [2, 0], "dilation": [2, 1]},
        {"padding": "same", "padding_mode": "reflect"},
        {"padding": "same", "padding_mode": "circular", "dilation": 2},
        {"padding": 1, "padding_mode": "replicate"},
        {"padding": "valid"},
    ],
)
def test_conv2d_matches_kernels(client, rng, params):
    x = rng.standard_normal((2, 9, 11)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    gy_shape = kernels.conv2d(x, w, b, **params).shape
    gy = rng.standard_normal(gy_shape).astype(np.float32)
    r = client.post("/api/conv2d", json={"input": x.tolist(), "weight": w.tolist(), "bias": b.tolist(),
                                         "grad_output": gy.tolist(), **params}, headers=BINARY)
    assert r.status_code == 200, r.text
    meta, arrays = decode_binary(r.content)
    np.testing.assert_array_equal(arrays["output"], kernels.conv2d(x, w, b, **params))
    gx, gw, gb = kernels.conv2d_backward(x, w, gy, **params)
    np.testing.assert_array_equal(arrays["grad_input"], gx)
    np.testing.assert_array_equal(arrays["grad_weight"], gw)
    np.testing.assert_array_equal(arrays["grad_bias"], gb)
    assert meta["output_shape"] == list(gy_shape)
    assert "grad_output" not in arrays  # sent by the client, not echoed
    if not params:
        np.testing.assert_allclose(arrays["output"], naive_conv(x, w, b), rtol=1e-5, atol=1e-5)


def test_conv2d_flip_relu_groups_float64(client, rng):
    x = rng.standard_normal((4, 8, 8))
    w = rng.standard_normal((2, 2, 3, 2))
    body = {"input": x.tolist(), "weight": w.tolist(), "groups": 2, "flip": True, "relu": True,
            "dtype": "float64", "grad_output": {"kind": "random", "seed": 7}}
    r = client.post("/api/conv2d", json=body, headers=BINARY)
    assert r.status_code == 200, r.text
    meta, arrays = decode_binary(r.content)
    assert meta["dtype"] == "float64"
    assert arrays["output"].dtype == np.float64
    wf = w[:, :, ::-1, ::-1]
    pre = kernels.conv2d(x, wf, groups=2)
    np.testing.assert_array_equal(arrays["output"], np.maximum(pre, 0))
    gy = np.random.default_rng(7).standard_normal(pre.shape)
    np.testing.assert_array_equal(arrays["grad_output"], gy)
    gx, gw, gb = kernels.conv2d_backward(x, wf, gy * (pre > 0), groups=2)
    np.testing.assert_array_equal(arrays["grad_input"], gx)
    np.testing.assert_array_equal(arrays["grad_weight"], gw[:, :, ::-1, ::-1])
    np.testing.assert_array_equal(arrays["grad_bias"], gb)


def test_conv2d_one_hot_gradient_and_rgb_image(client):
    w = np.ones((1, 3, 2, 2), np.float32).tolist()
    r = client.post("/api/conv2d", json={"image_id": "sample-square", "color": "rgb", "weight": w,
                                         "grad_output": {"kind": "one_hot", "index": [0, 3, 4]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["input_shape"] == [3, 16, 16]
    gx = np.array(body["grad_input"])
    assert gx.sum() == 12 and gx[:, 3:5, 4:6].min() == 1  # the 2×2 window of output (3, 4), three channels
    r = client.post("/api/conv2d", json={"image_id": "sample-square", "weight": [[[[1.0]]]],
                                         "grad_output": {"kind": "one_hot", "index": [0, 16, 0]}})
    assert r.status_code == 422
    assert r.json()["detail"] == "grad_output.index: [0, 16, 0] is outside the output of shape [1, 16, 16]"


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"input": [[[1, 2], [3]]], "weight": [[[[1]]]]}, "input: ragged nested lists; every row must have the same length"),
        ({"weight": [[[[1]]]]}, "give exactly one of input (nested lists) or image_id"),
        ({"input": [[[1]]], "image_id": "sample-square", "weight": [[[[1]]]]},
         "give exactly one of input (nested lists) or image_id"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "stride": 0}, "stride: Input should be greater than or equal to 1"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "stride": [1, 2, 3]},
         "stride: List should have at most 2 items after validation, not 3"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "padding": -1}, "padding: Input should be greater than or equal to 0"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "padding_mode": "mirror"},
         "padding_mode: Input should be 'zeros', 'reflect', 'replicate' or 'circular'"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "bogus": 1}, "bogus: Extra inputs are not permitted"),
        ({"input": [[[1, 2]]], "weight": [[[[True]]]]}, "weight.0.0.0.0: Input should be a valid number"),
        ({"input": [[[1, 2]]], "weight": [[[[1e7]]]]}, "weight.0.0.0.0: Input should be less than or equal to 1000000"),
        ({"input": [[[1, 2]]], "weight": [[[1]]]}, "weight.0.0.0: Input should be a valid list"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "bias": [1, 2]}, "bias: has 2 values but weight has 1 filters (C_out)"),
        ({"input": [[[1, 2]]], "weight": [[[[1, 1, 1]]]]}, "kernel 1×3 is larger than the padded input 1×2"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "grad_output": [[[1]]]},
         "grad_output: has shape [1, 1, 1]; the output has shape [1, 1, 2]"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "grad_output": {"kind": "one_hot"}},
         "grad_output: a one_hot gradient needs index [c, y, x]"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "color": "gray"}, "color: applies only to an image named by image_id"),
        ({"input": [[[]]], "weight": [[[[1]]]]}, "input: the array is empty (shape [1, 1, 0])"),
        ({"input": [[[1, 2]]], "weight": [[[[1]]]], "stride": 2, "padding": "same"},
         'padding="same" needs stride 1, got stride 2×2'),
    ],
)
def test_conv2d_rejects(client, body, detail):
    r = client.post("/api/conv2d", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == detail


@pytest.mark.parametrize("raw, detail", [
    (b'{"input": [[[NaN]]], "weight": [[[[1]]]]}', "input.0.0.0: Input should be a finite number"),
    (b'{"input": [[[1]]], "weight": [[[[-Infinity]]]]}', "weight.0.0.0.0: Input should be a finite number"),
    (b'{"input": [[[1e999]]], "weight": [[[[1]]]]}', "input.0.0.0: Input should be a finite number"),
    (b'{"input": [[[1', "the request body is not valid JSON (JSON decode error)"),
    (b'[1, 2]', "the request body must be a JSON object (Content-Type: application/json)"),
])
def test_conv2d_rejects_raw_json(client, raw, detail):
    r = client.post("/api/conv2d", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"] == detail


def test_conv2d_wrong_content_type(client):
    r = client.post("/api/conv2d", content=b'{"input": [[[1]]], "weight": [[[[1]]]]}',
                    headers={"content-type": "text/plain"})
    assert r.status_code == 422
    assert r.json()["detail"] == "the request body must be a JSON object (Content-Type: application/json)"


def test_work_bound_413_names_limit():
    with make_client(max_work=10_000) as c:
        r = c.post("/api/conv2d", json={"image_id": "sample-camera", "weight": [[[[1.0] * 3] * 3]]})
        assert r.status_code == 413
        assert r.json()["detail"] == (
            "this request needs 2,340,900 multiply-adds (output pixels × kernel taps × channels); the limit per "
            "request is 10,000. Use a smaller image, fewer filters or a larger stride.")
        assert c.get("/api/health").status_code == 200


def test_json_element_cap_413():
    with make_client(max_json_elements=100) as c:
        r = c.post("/api/conv2d", json={"input": np.zeros((1, 11, 11)).tolist(), "weight": [[[[1.0]]]]})
        assert r.status_code == 413
        assert r.json()["detail"] == ("input: 121 numbers exceed the limit of 100 for nested-list JSON; "
                                      "upload the image and send image_id instead")


def test_json_answer_cap_asks_for_binary():
    with make_client(max_json_response_elements=100) as c:
        body = {"image_id": "sample-square", "weight": [[[[1.0]]]]}
        r = c.post("/api/conv2d", json=body)
        assert r.status_code == 413
        assert r.json()["detail"].endswith(f"in JSON; ask for the binary form with Accept: {BINARY_MEDIA_TYPE}")
        assert c.post("/api/conv2d", json=body, headers=BINARY).status_code == 200


def test_huge_padding_is_bounded(client):
    r = client.post("/api/conv2d", json={"input": [[[1.0]]], "weight": [[[[1.0]]]], "padding": 1024},
                    headers=BINARY)
    assert r.status_code == 200  # 2049² fits
    r = client.post("/api/conv2d", json={"image_id": "sample-camera", "weight": [[[[1.0]]]] * 16,
                                         "padding": 1024}, headers=BINARY)
    assert r.status_code == 413
    assert "the limit is 16,777,216" in r.json()["detail"]


# --- pool2d -----------------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {"kind": "max"},
    {"kind": "avg", "kernel_size": 3, "stride": 1, "padding": 1},
    {"kind": "max", "kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1]},
])
def test_pool2d_matches_kernels(client, rng, params):
    x = rng.standard_normal((2, 7, 9)).astype(np.float32)
    y, arg = kernels.pool2d(x, **params)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    r = client.post("/api/pool2d", json={"input": x.tolist(), "grad_output": gy.tolist(), **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output_shape"] == list(y.shape)
    np.testing.assert_array_equal(np.array(body["output"], np.float32), y)
    if arg is None:
        assert "argmax" not in body
    else:
        np.testing.assert_array_equal(np.array(body["argmax"]), arg)
    np.testing.assert_array_equal(np.array(body["grad_input"], np.float32), kernels.pool2d_backward(x, gy, **params))


def test_pool2d_binary_and_sample(client):
    r = client.post("/api/pool2d", json={"image_id": "sample-square", "kernel_size": 2}, headers=BINARY)
    assert r.status_code == 200
    meta, arrays = decode_binary(r.content)
    assert meta["output_shape"] == [1, 8, 8]
    assert arrays["argmax"].dtype == np.int32
    np.testing.assert_array_equal(arrays["output"], kernels.pool2d(square(), "max", 2)[0])


@pytest.mark.parametrize("body, detail", [
    ({"input": [[[1, 2]]], "kind": "median"}, "kind: Input should be 'max' or 'avg'"),
    ({"input": [[[1, 2], [3, 4]]], "kernel_size": 0}, "kernel_size: Input should be greater than or equal to 1"),
    ({"input": [[[1, 2], [3, 4]]], "padding": "same"}, "padding: Input should be a valid integer"),
])
def test_pool2d_rejects(client, body, detail):
    r = client.post("/api/pool2d", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == detail


def test_pool2d_kernel_errors_are_422(client):
    r = client.post("/api/pool2d", json={"input": [[[1, 2], [3, 4]]], "kernel_size": 2, "padding": 2})
    assert r.status_code == 422
    assert "padding" in r.json()["detail"]


def test_unexpected_error_is_generic_500_with_headers():
    from fastapi import APIRouter

    with make_client() as c:
        router = APIRouter()

        @router.get("/api/_boom")
        def boom():
            raise RuntimeError("secret internal path /etc/shadow")

        c.app.include_router(router)
        c2 = TestClient(c.app, raise_server_exceptions=False)
        r = c2.get("/api/_boom")
        assert r.status_code == 500
        assert r.json() == {"detail": "internal error; the server logged it and keeps running"}
        assert "secret" not in r.text
        assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/api/health").status_code == 200


def test_schema_padding_modes_are_the_kernels_padding_modes():
    """One PaddingMode literal in the schemas, one PADDING_MODES tuple in the kernels: the same names."""
    from typing import get_args

    from app.schemas.common import PaddingMode

    assert get_args(PaddingMode) == kernels.PADDING_MODES
