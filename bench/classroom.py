"""A class of students on one ConvLab server: a bounded load test on 127.0.0.1.

    python bench/classroom.py                       # 30 students, 20 s, starts its own server
    python bench/classroom.py --students 30 --seconds 20 --workers 2
    python bench/classroom.py --url http://127.0.0.1:8000

Every simulated student uploads their own 512×512 photo, then changes a knob every
300 ms (the Convolution lab's request: RGB, 8 filters 3×3, binary transport, colour
indices for display: ``--display none`` asks for the float32 maps as the lab did before) until the
time is up. Prints throughput, p50/p95/p99, errors and the server's peak resident
memory (all worker processes). Goals (issue 8): p95 ≤ 250 ms, zero errors.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import percentiles, png_bytes, server, tree_rss_bytes  # noqa: E402

BINARY = {"Accept": "application/x-convlab-arrays"}
KNOBS = [
    {"stride": 1, "padding": 1},
    {"stride": 2, "padding": 1},
    {"stride": 1, "padding": "same", "padding_mode": "reflect"},
    {"stride": 1, "padding": 2, "dilation": 2},
    {"stride": 1, "padding": 0},
]


async def student(index: int, client: httpx.AsyncClient, deadline: float, period: float, out: dict,
                  display: str | None = "auto") -> None:
    photo = png_bytes(512, 512, seed=100 + index)
    r = await client.post("/api/images", files={"file": (f"student{index}.png", photo)}, data={"max_side": "512"})
    if r.status_code != 201:
        out["errors"].append(f"upload {r.status_code}")
        return
    image_id = r.json()["id"]
    rng = np.random.default_rng(index)
    weight = rng.uniform(-1, 1, size=(8, 3, 3, 3)).round(3).tolist()
    await asyncio.sleep(rng.uniform(0, period))  # students do not move in lockstep
    i = 0
    while time.monotonic() < deadline:
        body = {"image_id": image_id, "color": "rgb", "weight": weight, **KNOBS[i % len(KNOBS)]}
        if display:
            body["display"] = display
        t0 = time.perf_counter()
        try:
            r = await client.post("/api/conv2d", json=body, headers=BINARY)
            await r.aread()
            for _ in range(4):  # a worker that never saw the upload: re-send it and retry, as the page does
                if r.status_code != 404:
                    break
                await client.post("/api/images", files={"file": (f"student{index}.png", photo)},
                                  data={"max_side": "512"})
                out["reuploads"] += 1
                r = await client.post("/api/conv2d", json=body, headers=BINARY)
            if r.status_code != 200:
                out["errors"].append(f"conv2d {r.status_code}")
        except httpx.HTTPError as exc:
            out["errors"].append(type(exc).__name__)
        elapsed = time.perf_counter() - t0
        out["latency_ms"].append(elapsed * 1e3)
        i += 1
        await asyncio.sleep(max(0.0, period - elapsed))


def sample_memory(pid, stop: threading.Event, peak: list) -> None:
    while not stop.is_set():
        rss = tree_rss_bytes(pid)
        if rss:
            peak[0] = max(peak[0], rss)
        stop.wait(0.2)


async def run(base: str, students: int, seconds: float, period: float, display: str | None = "auto") -> dict:
    out = {"latency_ms": [], "errors": [], "reuploads": 0}
    limits = httpx.Limits(max_connections=students, max_keepalive_connections=students)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        deadline = time.monotonic() + seconds
        t0 = time.monotonic()
        await asyncio.gather(*(student(i, client, deadline, period, out, display) for i in range(students)))
        out["wall"] = time.monotonic() - t0
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running ConvLab (default: start one)")
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--period", type=float, default=0.3, help="seconds between one student's knob changes")
    ap.add_argument("--display", default="auto", choices=["auto", "none"],
                    help="auto: colour indices, as the lab asks (default); none: float32 maps")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--memory-bound-mb", type=float, default=1024.0)
    args = ap.parse_args(argv)
    if not (1 <= args.students <= 500 and 1 <= args.seconds <= 600):
        ap.error("keep the load bounded: 1–500 students, 1–600 seconds")

    with server(args.url, workers=args.workers) as (base, pid):
        if args.url is None and not base.startswith("http://127.0.0.1"):
            raise SystemExit("classroom.py only loads 127.0.0.1")
        stop, peak = threading.Event(), [tree_rss_bytes(pid) or 0]
        sampler = threading.Thread(target=sample_memory, args=(pid, stop, peak), daemon=True)
        sampler.start()
        out = asyncio.run(run(base, args.students, args.seconds, args.period,
                             None if args.display == "none" else args.display))
        stop.set()
        sampler.join()

    p = percentiles(out["latency_ms"]) if out["latency_ms"] else {"n": 0, "p50": 0, "p95": 0, "p99": 0, "max": 0}
    print(f"students {args.students}, knob change every {args.period * 1e3:.0f} ms, {args.seconds:.0f} s, "
          f"workers {args.workers}, display {args.display}")
    print(f"requests {p['n']}, throughput {p['n'] / out['wall']:.1f} req/s")
    print(f"latency ms: p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  p99 {p['p99']:.1f}  max {p['max']:.1f}")
    print(f"errors {len(out['errors'])}{' ' + str(sorted(set(out['errors']))) if out['errors'] else ''}, "
          f"re-uploads after 404: {out['reuploads']}")
    if peak[0]:
        print(f"server peak RSS {peak[0] / 2**20:.0f} MiB (bound {args.memory_bound_mb:.0f} MiB)")
    ok = p["p95"] <= 250 and not out["errors"] and (not peak[0] or peak[0] / 2**20 <= args.memory_bound_mb)
    print("goals (p95 ≤ 250 ms, zero errors, memory under the bound):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
