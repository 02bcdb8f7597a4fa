"""How long from `convlab` to the first answered convolution, with a warm and a cold Numba cache.

    python bench/coldstart.py

Warm: the kernels' compiled code is already in Numba's cache (any earlier start).
Cold: NUMBA_CACHE_DIR points at an empty directory, as on the first start after an
install. The first request is sent as soon as /api/health answers; it must succeed
(not fail) even while kernels are still compiling.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import free_port  # noqa: E402

BODY = {"image_id": "sample-square", "weight": [[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]], "padding": 1}


def first_answer(env: dict) -> tuple[float, float, int]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=1):
                    break
            except OSError:
                if time.perf_counter() - t0 > 600:
                    raise RuntimeError("server did not start")
                time.sleep(0.05)
        t_health = time.perf_counter() - t0
        r = httpx.post(base + "/api/conv2d", json=BODY, timeout=600)
        return t_health, time.perf_counter() - t0, r.status_code
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> int:
    env = dict(os.environ)
    first_answer(env)  # make sure the default cache is populated
    h, t, status = first_answer(env)
    print(f"warm cache: /api/health after {h:.2f} s, first conv2d answered ({status}) after {t:.2f} s")
    with tempfile.TemporaryDirectory() as empty:
        h, t, status = first_answer({**env, "NUMBA_CACHE_DIR": empty})
    print(f"cold cache: /api/health after {h:.2f} s, first conv2d answered ({status}) after {t:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
