"""No request waits for the JIT: after the start-up warm-up, the page's requests compile nothing.

Numba compiles one machine-code version per argument type, and a read-only array
(every image the store hands out), a float64 request or a new layout is a type of
its own. A version missed by the warm-up would be compiled on a user's request,
seconds on this machine. This test snapshots every compiled version of every
dispatcher in ``app`` after the warm-up, plays the page's requests, and checks
that none was added.
"""
from __future__ import annotations

import sys

import numba
import numpy as np
import pytest

from app.main import warm_kernels
from app.labs.network import PRESETS
from tests.conftest import image_bytes, make_client, upload

BINARY = {"Accept": "application/x-convlab-arrays"}
KNOBS = [
    {"stride": 1, "padding": 1},
    {"stride": 2, "padding": 1},
    {"stride": 1, "padding": "same", "padding_mode": "reflect"},
    {"stride": 1, "padding": 2, "dilation": 2, "padding_mode": "circular"},
    {"stride": 1, "padding": 0, "padding_mode": "replicate"},
]


def compiled_versions() -> dict[str, set[str]]:
    versions = {}
    for name, module in list(sys.modules.items()):
        if name == "app" or name.startswith("app."):
            for attr, obj in vars(module).items():
                if isinstance(obj, numba.core.registry.CPUDispatcher):
                    versions[f"{name}.{attr}"] = {str(sig) for sig in obj.signatures}
    return versions


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_pages_requests_compile_nothing_after_warm_up(dtype):
    warm_kernels()
    rng = np.random.default_rng(0)
    photo = (rng.random((40, 48, 3)) * 255).astype(np.uint8)
    with make_client() as client:
        r = upload(client, image_bytes(photo))
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        before = compiled_versions()
        for color, c_in in (("rgb", 3), ("gray", 1)):
            weight = rng.uniform(-1, 1, (8, c_in, 3, 3)).round(3).tolist()
            for knob in KNOBS:
                body = {"image_id": image_id, "color": color, "weight": weight, "dtype": dtype, **knob}
                for extra in ({"display": "auto"}, {}, {"grad_output": {"kind": "ones"}}):
                    r = client.post("/api/conv2d", json={**body, **extra}, headers=BINARY)
                    assert r.status_code == 200, r.text
        for kind in ("max", "avg"):
            r = client.post("/api/pool2d", json={"image_id": image_id, "kind": kind, "kernel_size": 2,
                                                 "dtype": dtype}, headers=BINARY)
            assert r.status_code == 200, r.text
        r = client.post("/api/backward", json={"image_id": "sample-square", "weight": np.ones((1, 1, 3, 3)).tolist(),
                                               "padding": 1, "delta": {"kind": "random", "seed": 1}}, headers=BINARY)
        assert r.status_code == 200, r.text
        r = client.post("/api/network/forward", json={**PRESETS["canonical"], "image_id": "sample-square"},
                        headers=BINARY)
        assert r.status_code == 200, r.text
        after = compiled_versions()
    added = {name: sorted(after[name] - before.get(name, set())) for name in after
             if after[name] - before.get(name, set())}
    assert not added, f"compiled on a request, not at start-up: {added}"


def test_the_fast_kernel_paths_compile_nothing_after_warm_up():
    """The shapes that reach the register-blocked kernels — a W4-like single image (many channels, rows
    of 26 and more), the chapter model's batched layers — run on versions the warm-up compiled."""
    from app import kernels as K

    warm_kernels()
    rng = np.random.default_rng(1)
    before = compiled_versions()
    for c_in, c_out, width in ((16, 32, 40), (32, 16, 40), (16, 12, 30), (3, 8, 40)):
        x = rng.uniform(-1, 1, (c_in, 9, width)).astype(np.float32)
        w = rng.uniform(-1, 1, (c_out, c_in, 3, 3)).astype(np.float32)
        for dilation in (1, (1, 2)):
            y = K.conv2d(x, w, padding="same", dilation=dilation)
            K.conv2d_backward(x, w, y, padding="same", dilation=dilation)
    for c_in, c_out, size in ((1, 32, 28), (32, 64, 14), (16, 32, 14)):
        x = rng.uniform(-1, 1, (3, c_in, size, size)).astype(np.float32)
        w = rng.uniform(-1, 1, (c_out, c_in, 3, 3)).astype(np.float32)
        y = K.conv2d_batch(x, w, padding="same")
        K.conv2d_batch_backward(x, w, y, padding="same")
        K.conv2d_batch_backward(x, w, y, padding="same", input_grad=False)
        K.conv2d_batch_backward(x, w, y, padding="same", weight_grad=False)
        p, arg = K.pool2d_batch(y, "max", 2)
        K.pool2d_batch_backward(y, p, "max", 2, argmax=arg)
    after = compiled_versions()
    added = {name: sorted(after[name] - before.get(name, set())) for name in after
             if after[name] - before.get(name, set())}
    assert not added, f"compiled after the warm-up: {added}"
