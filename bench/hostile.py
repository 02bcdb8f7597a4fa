"""What a hostile classroom network costs a ConvLab worker: memory and an innocent client's latency.

Two measurements against a fresh `python -m app` server (or --url):

* ``memory`` — eight parallel uploads of a ~160 KB PNG that declares 6,324 × 6,324 RGBA
  pixels (just under the 40 MP limit: a decompression bomb of 160 MB each); prints
  the worker's resident memory before, at its peak and after, against the bound
  the README states.
* ``connections`` — an attacker holds as many idle connections, slow request heads and
  never-ending bodies as asked, while an innocent client changes a knob on a 512² image
  (one POST /api/conv2d per 300 ms, new connection each time, as a browser whose
  keep-alive lapsed would); prints the innocent's p50/p95/p99 and errors.

    .venv/bin/python bench/hostile.py                   # both
    .venv/bin/python bench/hostile.py memory --uploads 8
    .venv/bin/python bench/hostile.py connections --idle 3000 --slow 300 --bodies 50 --seconds 20
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import socket
import struct
import sys
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from bench._server import server  # noqa: E402

SIDE = 6324
MiB = 1024 * 1024


def bomb_png(side: int = SIDE) -> bytes:
    """A valid RGBA PNG of side × side pixels, all one colour: ~160 KB on disk, 160 MB decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" + bytes([40, 90, 200, 255]) * side
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (uvicorn workers)."""
    p = psutil.Process(pid)
    total = p.memory_info().rss
    for child in p.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def memory(base: str, pid: int, uploads: int) -> dict:
    png = bomb_png()
    peak = 0
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(pid))
            time.sleep(0.01)

    # Warm the path once with a small image so the baseline includes Pillow and NumPy.
    small = httpx.post(base + "/api/images", files={"file": ("s.png", bomb_png(64), "image/png")}, timeout=60)
    small.raise_for_status()
    before = tree_rss(pid)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(uploads) as pool:
        answers = list(pool.map(
            lambda i: httpx.post(base + "/api/images", files={"file": (f"b{i}.png", png, "image/png")}, timeout=300),
            range(uploads)))
    seconds = time.perf_counter() - t0
    time.sleep(0.5)
    stop.set()
    watcher.join()
    after = tree_rss(pid)
    statuses = sorted({a.status_code for a in answers})
    print(f"memory: {uploads} parallel uploads of a {len(png) / 1024:.0f} KB PNG declaring {SIDE}×{SIDE} RGBA "
          f"({SIDE * SIDE * 4 / MiB:.0f} MiB decoded): statuses {statuses}, {seconds:.1f} s")
    print(f"  worker RSS before {before / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB (+{(peak - before) / MiB:.0f}), "
          f"after {after / MiB:.0f} MiB")
    return {"before": before, "peak": peak, "after": after, "statuses": statuses, "seconds": seconds}


# --- connections ------------------------------------------------------------------


def _open(host: str, port: int) -> socket.socket | None:
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        return s
    except OSError:
        return None


def attacker(host: str, port: int, idle: int, slow: int, bodies: int, stop: threading.Event, counts: dict) -> None:
    """Keep `idle` silent connections, `slow` heads trickling a byte a second, `bodies` endless chunked bodies.

    Whatever the server closes is reopened at once, as an attacker would.
    """
    pools = {"idle": [], "slow": [], "bodies": []}
    want = {"idle": idle, "slow": slow, "bodies": bodies}
    counts.update({"opened": 0, "closed_by_server": 0})
    tick = 0
    while not stop.is_set():
        for kind, conns in pools.items():
            alive = []
            for s in conns:
                try:
                    if kind == "slow":
                        s.send(b"X" if tick % 10 == 0 else b"")
                    elif kind == "bodies" and tick % 10 == 0:
                        s.send(b"1\r\n \r\n")
                    data = s.recv(4096)
                    if data == b"":
                        raise ConnectionResetError
                    s.close()  # any answer (408/503): the server gave up on it
                    counts["closed_by_server"] += 1
                except BlockingIOError:
                    alive.append(s)
                except OSError:
                    s.close()
                    counts["closed_by_server"] += 1
            while len(alive) < want[kind] and not stop.is_set():
                s = _open(host, port)
                if s is None:
                    break
                counts["opened"] += 1
                try:
                    if kind == "slow":
                        s.send(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
                    elif kind == "bodies":
                        s.send(b"POST /api/conv2d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n")
                except OSError:
                    s.close()
                    continue
                alive.append(s)
                if len(alive) % 200 == 0:
                    break  # let the other pools and the stop flag have a turn
            pools[kind] = alive
        counts["held"] = sum(len(p) for p in pools.values())
        tick += 1
        time.sleep(0.1)
    for conns in pools.values():
        for s in conns:
            s.close()


def innocent(base: str, seconds: float, image_id: str) -> tuple[list[float], list[str]]:
    body = {"image_id": image_id, "color": "rgb", "weight": np.random.default_rng(0).standard_normal((8, 3, 3, 3)).tolist(),
            "padding": 1}
    times, errors = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            with httpx.Client(timeout=10) as c:  # a fresh connection each time
                r = c.post(base + "/api/conv2d", json=body, headers={"Accept": "application/x-convlab-arrays"})
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:120]}")
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.3)
    return times, errors


def connections(base: str, idle: int, slow: int, bodies: int, seconds: float) -> dict:
    host, port = base.rsplit("//", 1)[1].split(":")
    image_id = "sample-astronaut"
    quiet, _ = innocent(base, 3, image_id)  # warm, and a baseline
    stop = threading.Event()
    counts: dict = {}
    t = threading.Thread(target=attacker, args=(host, int(port), idle, slow, bodies, stop, counts), daemon=True)
    t.start()
    time.sleep(3)  # let the attack build up
    times, errors = innocent(base, seconds, image_id)
    stop.set()
    t.join(timeout=30)
    p = np.percentile(times, [50, 95, 99]) if times else [float("nan")] * 3
    q = np.percentile(quiet, [50, 95]) if quiet else [float("nan")] * 2
    print(f"connections: attacker asks for {idle} idle + {slow} slow heads + {bodies} endless bodies; "
          f"held ~{counts.get('held', 0)} at the end, opened {counts.get('opened', 0)}, "
          f"{counts.get('closed_by_server', 0)} closed or answered by the server")
    print(f"  innocent (512² RGB, 8 filters 3×3, new connection each): {len(times)} requests, "
          f"p50 {p[0]:.0f} ms, p95 {p[1]:.0f} ms, p99 {p[2]:.0f} ms, errors {len(errors)} "
          f"(no attack: p50 {q[0]:.0f}, p95 {q[1]:.0f} ms)")
    for e in errors[:5]:
        print("   ", e)
    return {"p95": float(p[1]), "errors": errors, "counts": counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", nargs="?", choices=["memory", "connections", "all"], default="all")
    ap.add_argument("--url", help="an already running server (memory is then not measured)")
    ap.add_argument("--uploads", type=int, default=8)
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--bodies", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared machine: figures are noisy)")
    with server(args.url) as (base, pid):
        if args.what in ("memory", "all") and pid:
            memory(base, pid, args.uploads)
        if args.what in ("connections", "all"):
            connections(base, args.idle, args.slow, args.bodies, args.seconds)


if __name__ == "__main__":
    main()
