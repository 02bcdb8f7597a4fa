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
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import percentiles, png_bytes, server, tree_rss_bytes  # noqa: E402

BINARY = "application/x-convlab-arrays"
KNOBS = [
    {"stride": 1, "padding": 1},
    {"stride": 2, "padding": 1},
    {"stride": 1, "padding": "same", "padding_mode": "reflect"},
    {"stride": 1, "padding": 2, "dilation": 2},
    {"stride": 1, "padding": 0},
]


class Browser:
    """One student's keep-alive HTTP/1.1 connection, spoken by hand.

    The load generator shares the server's two cores, so it must cost little: httpx spent
    about one core on 30 students (its per-chunk Python work on 2 MB answers), which the
    server then lacked. Here an answer is one ``readexactly``. Like a browser tab, a
    student keeps one connection, so behind several workers an upload and the requests
    after it usually meet the same worker, and a 404 re-upload goes where it is needed.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, content_type: str, accept: str = "*/*") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
                f"Accept: {accept}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise ConnectionError("chunked answers are not expected from ConvLab")
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


def multipart(photo: bytes, name: str, max_side: int) -> tuple[bytes, str]:
    """The body of the page's upload form: the file and ``max_side``."""
    boundary = "convlab-classroom-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"max_side\"\r\n\r\n{max_side}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def student(index: int, base: str, deadline: float, period: float, out: dict,
                  display: str | None = "auto") -> None:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    browser = Browser(host, int(port))
    photo, photo_type = multipart(png_bytes(512, 512, seed=100 + index), f"student{index}.png", 512)
    try:
        status, answer = await browser.post("/api/images", photo, photo_type, "application/json")
        if status != 201:
            out["errors"].append(f"upload {status}")
            return
        image_id = json.loads(answer)["id"]
        rng = np.random.default_rng(index)
        weight = rng.uniform(-1, 1, size=(8, 3, 3, 3)).round(3).tolist()
        # The page builds each body once per knob change; building them here is not the server's work.
        bodies = [json.dumps({"image_id": image_id, "color": "rgb", "weight": weight, **knob,
                              **({"display": display} if display else {})}).encode() for knob in KNOBS]
        await asyncio.sleep(rng.uniform(0, period))  # students do not move in lockstep
        i = 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                status, _ = await browser.post("/api/conv2d", bodies[i % len(bodies)], "application/json", BINARY)
                for _ in range(4):  # a worker that never saw the upload: re-send it and retry, as the page does
                    if status != 404:
                        break
                    await browser.post("/api/images", photo, photo_type, "application/json")
                    out["reuploads"] += 1
                    status, _ = await browser.post("/api/conv2d", bodies[i % len(bodies)], "application/json", BINARY)
                if status != 200:
                    out["errors"].append(f"conv2d {status}")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                out["errors"].append(type(exc).__name__)
                await browser.close()
            elapsed = time.perf_counter() - t0
            out["latency_ms"].append(elapsed * 1e3)
            i += 1
            await asyncio.sleep(max(0.0, period - elapsed))
    finally:
        await browser.close()


def sample_memory(pid, stop: threading.Event, peak: list) -> None:
    while not stop.is_set():
        rss = tree_rss_bytes(pid)
        if rss:
            peak[0] = max(peak[0], rss)
        stop.wait(0.2)


async def run(base: str, students: int, seconds: float, period: float, display: str | None = "auto") -> dict:
    out = {"latency_ms": [], "errors": [], "reuploads": 0}
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    await asyncio.gather(*(student(i, base, deadline, period, out, display) for i in range(students)))
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
