"""Start (or reuse) a ConvLab server for a benchmark, and measure its memory."""
from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


@contextlib.contextmanager
def server(url: str | None = None, workers: int = 1, extra_env: dict | None = None):
    """Yield (base_url, pid or None). Starts `python -m app` on a free port unless url is given."""
    if url:
        wait_ready(url)
        yield url.rstrip("/"), None
        return
    port = free_port()
    env = {**os.environ, **MALLOC_ENV, **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def tree_rss_bytes(pid: int | None) -> int | None:
    """Resident memory of a process and its children (uvicorn workers), or None."""
    if pid is None:
        return None
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return None


def png_bytes(h: int, w: int, seed: int = 0, channels: int = 3, fmt: str = "PNG", quality: int = 90) -> bytes:
    """A photo-like test image: smooth gradients, edges and noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(xx / (w / 7)) * np.cos(yy / (h / 5))
    base += 0.2 * ((xx // max(1, w // 8) + yy // max(1, h // 8)) % 2)
    planes = [np.clip(base + 0.05 * rng.standard_normal((h, w)) + 0.1 * c, 0, 1) for c in range(channels)]
    arr = (np.stack(planes, axis=-1) * 255).astype(np.uint8)
    img = Image.fromarray(arr[..., 0] if channels == 1 else arr)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


def percentiles(samples_ms: list[float]) -> dict:
    a = np.asarray(samples_ms)
    return {
        "n": len(a),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
    }
