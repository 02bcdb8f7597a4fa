"""Request-to-response latency of the page's own requests, measured over HTTP.

    python bench/latency.py                 # starts `python -m app` on a free port
    python bench/latency.py --url http://127.0.0.1:8000 --rounds 60

Each scenario sends what the page sends (same endpoint, same JSON body, same binary
transport) after an idle pause of --gap seconds, because a student turning a knob is
the "after idle" case (docs/PERFORMANCE.md §9). Prints p50/p95/p99 in milliseconds and the
goal each is held to (issue 8).
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import percentiles, png_bytes, server  # noqa: E402

BINARY = {"Accept": "application/x-convlab-arrays"}


class FastClient:
    """POSTs JSON over one kept-alive connection and reads each answer in a single call.

    httpx reads an 8 MB answer in 64 KB chunks of Python work (~30 ms here), which a
    browser does not pay; http.client's read() of a known length is one C-level read,
    so the numbers reflect the server and the loopback, as the page sees them.
    """

    def __init__(self, base: str):
        from urllib.parse import urlparse

        u = urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, path: str, json_body: dict, headers: dict | None = None) -> tuple[int, bytes]:
        body = json.dumps(json_body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        try:
            self.conn.request("POST", path, body=body, headers=hdrs)
            r = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request("POST", path, body=body, headers=hdrs)
            r = self.conn.getresponse()
        return r.status, r.read()


def upload(client: httpx.Client, data: bytes, name: str, max_side: int) -> str:
    r = client.post("/api/images", files={"file": (name, data)}, data={"max_side": str(max_side), "color": "auto"})
    r.raise_for_status()
    return r.json()["id"]


def sobel_like_weights(c_out: int, c_in: int, k: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(c_out, c_in, k, k)).round(3).tolist()


def timed(fn, rounds: int, gap: float) -> list[float]:
    samples = []
    fn(0)  # warm: first use of a shape may allocate
    for i in range(rounds):
        time.sleep(gap)
        t0 = time.perf_counter()
        fn(i + 1)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def knob_change(fast, image_id, weight, side_note):
    knobs = [
        {"stride": 1, "padding": 1},
        {"stride": 2, "padding": 1},
        {"stride": 1, "padding": "same", "padding_mode": "reflect"},
        {"stride": 1, "padding": 2, "dilation": 2},
    ]

    def run(i):
        body = {"image_id": image_id, "color": "rgb", "weight": weight, "bias": [0.0] * len(weight), **knobs[i % 4]}
        status, content = fast.post("/api/conv2d", body, BINARY)
        if status != 200:
            raise RuntimeError(f"{side_note}: {status} {content[:200]!r}")

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running ConvLab (default: start one)")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--gap", type=float, default=0.05, help="idle seconds before each request")
    args = ap.parse_args(argv)

    rows = []
    with server(args.url) as (base, _pid), httpx.Client(base_url=base, timeout=60) as client:
        fast = FastClient(base)
        img512 = upload(client, png_bytes(512, 512, 1), "photo512.png", 512)
        img1024 = upload(client, png_bytes(1024, 1024, 2), "photo1024.png", 1024)
        w8 = sobel_like_weights(8, 3, 3)

        rows.append(("knob change, 512² RGB, 8 filters 3×3", timed(knob_change(fast, img512, w8, "512"), args.rounds, args.gap), 30))
        rows.append(("knob change, 1024² RGB, 8 filters 3×3", timed(knob_change(fast, img1024, w8, "1024"), args.rounds, args.gap), None))

        def pool_change(i):
            body = {"image_id": img512, "color": "rgb", "kind": ("max", "avg")[i % 2], "kernel_size": 2 + i % 2}
            status, _ = fast.post("/api/pool2d", body, BINARY)
            assert status == 200, status

        rows.append(("pooling change, 512² RGB", timed(pool_change, args.rounds, args.gap), None))

        def backward(i):
            body = {
                "image_id": "sample-square",
                "weight": [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]],
                "stride": 1 + i % 2,
                "padding": 1,
                "delta": {"kind": "random", "seed": i},
                "gradcheck": {"samples": 32},
            }
            status, _ = fast.post("/api/backward", body, BINARY)
            assert status == 200, status

        rows.append(("backward lab + finite-difference check", timed(backward, args.rounds, args.gap), None))

        canonical = {
            "input_shape": [1, 28, 28],
            "layers": [
                {"type": "conv", "filters": 32, "kernel": 3, "padding": "same"},
                {"type": "relu"},
                {"type": "pool", "kind": "max", "kernel": 2},
                {"type": "conv", "filters": 64, "kernel": 3, "padding": "same"},
                {"type": "relu"},
                {"type": "pool", "kind": "max", "kernel": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 128},
                {"type": "dense", "units": 10},
            ],
        }

        def network(i):
            status, _ = fast.post("/api/network/summary", canonical)
            assert status == 200, status
            status, _ = fast.post("/api/network/forward", {**canonical, "image_id": "sample-square", "seed": i % 3},
                                  BINARY)
            assert status == 200, status

        rows.append(("network summary + feature maps, canonical stack", timed(network, args.rounds, args.gap), None))

        jpeg = png_bytes(3000, 4000, 3, fmt="JPEG")

        def big_upload(i):
            upload(client, jpeg, f"big{i}.jpg", 512)

        rows.append((f"upload 4000×3000 JPEG ({len(jpeg) / 1e6:.1f} MB), decode + resize", timed(big_upload, max(8, args.rounds // 4), args.gap), 400))

    print(f"{'scenario':58s} {'n':>4s} {'p50':>8s} {'p95':>8s} {'p99':>8s}   goal (p95)")
    failed = False
    for name, samples, goal in rows:
        p = percentiles(samples)
        verdict = ""
        if goal is not None:
            ok = p["p95"] <= goal
            failed |= not ok
            verdict = f"≤ {goal} ms {'met' if ok else 'MISSED'}"
        print(f"{name:58s} {p['n']:4d} {p['p50']:8.1f} {p['p95']:8.1f} {p['p99']:8.1f}   {verdict}")
    print("(milliseconds, request sent → full response read, after an idle gap of "
          f"{args.gap * 1e3:.0f} ms; server started with MALLOC_* tuning from bench/_server.py)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
