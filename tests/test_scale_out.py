"""Real servers as separate processes: concurrency, several workers, several hosts.

* Many different requests at once against a 2-worker server each get exactly the
  answer a serial in-process computation gives (Numba's threading layer is safe).
* Any worker or host answers the same bytes for the same request.
* A host that never saw an upload answers 404 with a message saying to upload again;
  uploading the same bytes there yields the same content id and the same answer.
"""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from app.api.transport import decode_binary
from app.kernels import conv2d, pool2d
from servers import start_server, stop_server

BINARY = {"Accept": "application/x-convlab-arrays"}


@pytest.fixture(scope="module")
def two_workers():
    proc, base = start_server(workers=2)
    yield base
    stop_server(proc)


@pytest.fixture(scope="module")
def other_host():
    proc, base = start_server(workers=1)
    yield base
    stop_server(proc)


def _photo_png(seed: int, size: int = 96) -> bytes:
    rng = np.random.default_rng(seed)
    arr = (rng.uniform(0, 1, (size, size, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _case(i: int) -> dict:
    rng = np.random.default_rng(1000 + i)
    c_in = 1 + i % 3
    k = (1, 2, 3, 5)[i % 4]
    x = rng.standard_normal((c_in, 12 + i % 7, 10 + i % 5)).round(3)
    w = rng.standard_normal((1 + i % 4, c_in, k, k)).round(3)
    return {
        "input": x.tolist(),
        "weight": w.tolist(),
        "bias": rng.standard_normal(w.shape[0]).round(3).tolist(),
        "stride": 1 + i % 2,
        "padding": i % 3,
        "dilation": 1 + (i // 4) % 2,
        "padding_mode": ("zeros", "reflect", "replicate", "circular")[i % 4],
    }


def _serial(case: dict) -> np.ndarray:
    return conv2d(
        np.asarray(case["input"], np.float32),
        np.asarray(case["weight"], np.float32),
        np.asarray(case["bias"], np.float32),
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        padding_mode=case["padding_mode"],
    )


def test_concurrent_different_requests_match_a_serial_run(two_workers):
    cases = [_case(i) for i in range(48)]
    expected = [_serial(c) for c in cases]

    def send(case):
        with httpx.Client(base_url=two_workers, timeout=60) as client:
            return client.post("/api/conv2d", json=case, headers=BINARY)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, cases * 2))  # every case twice, interleaved with the others
    for i, r in enumerate(answers):
        assert r.status_code == 200, r.text
        _, arrays = decode_binary(r.content)
        np.testing.assert_allclose(arrays["output"], expected[i % len(cases)], rtol=1e-5, atol=1e-5,
                                   err_msg=f"case {i % len(cases)}")
    assert httpx.get(two_workers + "/api/health").json() == {"status": "ok"}


def test_every_worker_answers_the_same_bytes(two_workers):
    body = {"image_id": "sample-square", "weight": [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]], "padding": 1}
    # Fresh connections so the kernel spreads them over both workers.
    bodies = {httpx.post(two_workers + "/api/conv2d", json=body, headers=BINARY, timeout=60).content for _ in range(16)}
    assert len(bodies) == 1
    pooled = {httpx.post(two_workers + "/api/pool2d", json={"image_id": "sample-square", "kind": "max"},
                         headers=BINARY, timeout=60).content for _ in range(8)}
    assert len(pooled) == 1


def test_a_host_without_the_image_says_upload_again_and_recovers(two_workers, other_host):
    png = _photo_png(7)
    first = httpx.post(two_workers + "/api/images", files={"file": ("p.png", png)}, timeout=60)
    assert first.status_code == 201
    image_id = first.json()["id"]
    body = {"image_id": image_id, "color": "gray", "weight": [[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]]}

    missing = httpx.post(other_host + "/api/conv2d", json=body, timeout=60)
    assert missing.status_code == 404
    assert "upload" in missing.json()["detail"].lower()

    again = httpx.post(other_host + "/api/images", files={"file": ("p.png", png)}, timeout=60)
    assert again.status_code == 201
    assert again.json()["id"] == image_id  # content-addressed: same pixels, same id, on any host

    # Behind two workers, a fresh connection may reach the worker that never saw the upload:
    # re-send and retry, as the page does (static/js/image.js withImage).
    for _ in range(5):
        a = httpx.post(two_workers + "/api/conv2d", json=body, headers=BINARY, timeout=60)
        if a.status_code != 404:
            break
        assert httpx.post(two_workers + "/api/images", files={"file": ("p.png", png)}, timeout=60).json()["id"] == image_id
    b = httpx.post(other_host + "/api/conv2d", json=body, headers=BINARY, timeout=60)
    assert a.status_code == b.status_code == 200
    assert a.content == b.content


def test_pool_matches_kernels_on_a_worker(two_workers):
    x = np.random.default_rng(3).standard_normal((2, 9, 11)).round(3)
    r = httpx.post(two_workers + "/api/pool2d", json={"input": x.tolist(), "kind": "max", "kernel_size": 3,
                                                      "stride": 2, "padding": 1}, timeout=60)
    assert r.status_code == 200
    y, argmax = pool2d(x.astype(np.float32), "max", 3, 2, 1)
    np.testing.assert_allclose(np.asarray(r.json()["output"]), y, rtol=1e-6)
    assert r.json()["argmax"] == argmax.tolist()
