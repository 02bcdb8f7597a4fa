"""Faults: clients that vanish mid-request, and a worker process that dies.

The server must keep serving everyone else, leak nothing, and come back to full
strength on its own.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import time

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image

from servers import start_server, stop_server


@pytest.fixture(scope="module")
def server():
    proc, base = start_server(workers=2)
    yield proc, base
    stop_server(proc)


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _png(size: int, seed: int) -> bytes:
    arr = (np.random.default_rng(seed).uniform(0, 1, (size, size, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def _assert_serving(base: str) -> None:
    assert httpx.get(base + "/api/health", timeout=60).json() == {"status": "ok"}
    r = httpx.post(base + "/api/conv2d", json={"input": [[[1, 2], [3, 4]]], "weight": [[[[1]]]]}, timeout=60)
    assert r.status_code == 200
    assert r.json()["output"] == [[[1.0, 2.0], [3.0, 4.0]]]


def test_client_that_disconnects_during_an_upload(server):
    proc, base = server
    body_head = (
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n" + _png(64, 1)[:2000]
    )
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", _port(base))) as s:
            s.sendall(
                b"POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                b"Content-Length: 5000000\r\n\r\n" + body_head
            )
        # closed with 4.99 MB still owed
    _assert_serving(base)
    ok = httpx.post(base + "/api/images", files={"file": ("ok.png", _png(64, 2))}, timeout=30)
    assert ok.status_code == 201


def test_requests_cancelled_mid_computation_leak_nothing(server):
    proc, base = server
    up = httpx.post(base + "/api/images", files={"file": ("big.png", _png(512, 3))}, params={"max_side": 512},
                    timeout=30)
    assert up.status_code == 201
    image_id = up.json()["id"]
    heavy = json.dumps({
        "image_id": image_id,
        "color": "rgb",
        "weight": np.full((16, 3, 7, 7), 0.01).tolist(),
        "padding": 3,
    }).encode()
    request = (
        f"POST /api/conv2d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Accept: application/x-convlab-arrays\r\nContent-Length: {len(heavy)}\r\n\r\n"
    ).encode() + heavy

    def cancel_many(n):
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", _port(base))) as s:
                s.sendall(request)
                time.sleep(0.02)  # the computation has started; the client goes away

    cancel_many(5)
    time.sleep(1.0)
    before = _tree_rss(proc.pid)
    cancel_many(30)
    time.sleep(2.0)
    after = _tree_rss(proc.pid)
    _assert_serving(base)
    # 30 abandoned 16-map 512² answers would be ~500 MB if each were kept.
    assert after - before < 150 * 2**20, f"RSS grew by {(after - before) / 2**20:.0f} MiB"


def test_a_killed_worker_is_replaced_and_others_keep_serving(server):
    proc, base = server
    parent = psutil.Process(proc.pid)

    def workers():
        return [p for p in parent.children(recursive=True) if "multiprocessing" not in " ".join(p.cmdline())
                or "spawn_main" in " ".join(p.cmdline())]

    before = parent.children(recursive=True)
    assert len(before) >= 2
    victim = before[-1]
    os.kill(victim.pid, signal.SIGKILL)
    # While it is down, the surviving worker answers.
    for _ in range(5):
        _assert_serving(base)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive = [p for p in parent.children(recursive=True) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if len(alive) >= len(before) and victim.pid not in {p.pid for p in alive}:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"the killed worker was not replaced: {[p.pid for p in parent.children(recursive=True)]}")
    for _ in range(10):
        _assert_serving(base)
