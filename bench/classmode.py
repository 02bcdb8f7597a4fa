"""A class of phones answering at once: class mode under its burst load.

    python bench/classmode.py                     # 60 students: 2 workers + Redis, then 1 worker without Redis
    python bench/classmode.py --students 60 --window 2 --runs 3
    python bench/classmode.py --redis-url redis://127.0.0.1:6379/0

The teacher has sent a multiple-choice question and follows the tally stream (SSE).
Then every student joins and answers at a random moment of the same ``--window``
seconds, each on their own keep-alive connection (like a phone). Goals (issue 17):
every answer counted exactly once, answer p95 ≤ 100 ms, the teacher's stream shows
the final tally within 1 s of the last answer, zero errors.

Starts its own redis-server (Debian's) on a free port unless --redis-url is given.
The load generator runs on the same machine as the servers; on a shared machine the
numbers are noisy: compare runs, not single figures.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import free_port, server  # noqa: E402

CHOICES = ["12", "13", "14", "15"]
QUESTION = {"prompt": "A 28×28 image, a 3×3 kernel, no padding, stride 2: how many rows has the output?",
            "choices": CHOICES, "answer": "13"}


class Phone:
    """One student's HTTP/1.1 keep-alive connection, spoken by hand (cheap for the shared cores)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, body: dict) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode()
        self.writer.write((f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(data)}\r\n\r\n").encode() + data)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    def close(self):
        if self.writer:
            self.writer.close()


async def follow(base: str, code: str, token: str, events: list, opened: asyncio.Event):
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=120)) as client:
        async with client.stream("GET", f"{base}/api/class/{code}/stream",
                                 headers={"Authorization": f"Bearer {token}"}) as r:
            opened.set()
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    events.append((time.perf_counter(), json.loads(line[6:])))


async def student(host, port, code, window, rng, joins, answers, errors, answered_at):
    await asyncio.sleep(rng.uniform(0, window * 0.8))
    phone = Phone(host, port)
    try:
        t0 = time.perf_counter()
        status, body = await phone.post(f"/api/class/{code}/join", {})
        joins.append(time.perf_counter() - t0)
        if status != 200:
            errors.append(f"join {status} {body[:120]!r}")
            return None
        sid = json.loads(body)["student"]
        await asyncio.sleep(rng.uniform(0, window * 0.2))
        value = rng.choice(CHOICES)
        t0 = time.perf_counter()
        status, body = await phone.post(f"/api/class/{code}/answers", {"student": sid, "question": 1, "value": value})
        t1 = time.perf_counter()
        answers.append(t1 - t0)
        answered_at.append(t1)
        if status != 204:
            errors.append(f"answer {status} {body[:120]!r}")
            return None
        return value
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        return None
    finally:
        phone.close()


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


async def one_class(base: str, students: int, window: float, seed: int) -> dict:
    host, port = base.split("//")[1].split(":")
    port = int(port)
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        r = await c.post("/api/class")
        r.raise_for_status()
        code, token = r.json()["code"], r.json()["teacher_token"]
        auth = {"Authorization": f"Bearer {token}"}
        (await c.post(f"/api/class/{code}/questions", json=QUESTION, headers=auth)).raise_for_status()
        events: list = []
        opened = asyncio.Event()
        watcher = asyncio.create_task(follow(base, code, token, events, opened))
        await asyncio.wait_for(opened.wait(), 10)
        rng = random.Random(seed)
        joins, answers, errors, answered_at = [], [], [], []
        values = await asyncio.gather(*[student(host, port, code, window, random.Random(rng.random()), joins, answers,
                                                errors, answered_at) for _ in range(students)])
        last_answer = max(answered_at) if answered_at else time.perf_counter()
        expected = {v: sum(1 for x in values if x == v) for v in CHOICES}
        deadline = time.perf_counter() + 5
        seen_at = None
        while time.perf_counter() < deadline:
            hit = next((t for t, tally in events if tally["counts"] == expected and tally["answered"] == students), None)
            if hit is not None:
                seen_at = hit
                break
            await asyncio.sleep(0.01)
        watcher.cancel()
        tally = (await c.get(f"/api/class/{code}/tally", headers=auth)).json()
        csv_rows = (await c.get(f"/api/class/{code}/results.csv", headers=auth)).text.strip().count("\n")
        await c.delete(f"/api/class/{code}", headers=auth)
    return {
        "answers_ok": sum(1 for v in values if v is not None),
        "counted": tally["answered"], "counts_match": tally["counts"] == expected, "csv_rows": csv_rows,
        "answer_p50_ms": 1000 * pct(answers, 50), "answer_p95_ms": 1000 * pct(answers, 95),
        "answer_max_ms": 1000 * max(answers, default=float("nan")), "join_p95_ms": 1000 * pct(joins, 95),
        "stream_lag_ms": None if seen_at is None else 1000 * max(0.0, seen_at - last_answer),
        "errors": errors,
    }


def report(label: str, results: list[dict], students: int) -> bool:
    print(f"\n{label}")
    print(f"  {'run':>3} {'answers':>8} {'counted':>8} {'csv':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'join p95':>8} {'stream lag ms':>13} {'errors':>6}")
    ok = True
    for i, r in enumerate(results, 1):
        lag = "never" if r["stream_lag_ms"] is None else f"{r['stream_lag_ms']:.0f}"
        print(f"  {i:>3} {r['answers_ok']:>8} {r['counted']:>8} {r['csv_rows']:>5} {r['answer_p50_ms']:>7.1f} "
              f"{r['answer_p95_ms']:>7.1f} {r['answer_max_ms']:>7.1f} {r['join_p95_ms']:>8.1f} {lag:>13} "
              f"{len(r['errors']):>6}")
        for e in r["errors"][:3]:
            print(f"      error: {e}")
        good = (r["answers_ok"] == r["counted"] == r["csv_rows"] == students and r["counts_match"]
                and r["answer_p95_ms"] <= 100 and r["stream_lag_ms"] is not None and r["stream_lag_ms"] <= 1000
                and not r["errors"])
        ok &= good
    print(f"  goals (each answer once, p95 ≤ 100 ms, stream ≤ 1 s, no errors): {'met' if ok else 'MISSED'}")
    return ok


def start_redis() -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server not found: apt-get install redis-server, or pass --redis-url")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=60)
    p.add_argument("--window", type=float, default=2.0, help="seconds in which every student joins and answers")
    p.add_argument("--runs", type=int, default=3, help="classes per configuration")
    p.add_argument("--redis-url", default="", help="use this Redis instead of starting one")
    args = p.parse_args()
    print(f"{args.students} students, each joining and answering within the same {args.window:g} s; "
          f"{args.runs} classes per configuration. Load generator and servers share this machine's cores "
          "(and, today, other people's work): figures are indicative.")
    redis_proc = None
    url = args.redis_url
    if not url:
        redis_proc, url = start_redis()
    ok = True
    try:
        for label, workers, env in (("2 workers + Redis", 2, {"CONVLAB_REDIS_URL": url}),
                                    ("1 worker, memory (no Redis)", 1, {"CONVLAB_REDIS_URL": ""})):
            with server(workers=workers, extra_env=env) as (base, _pid):
                # Warm both workers (imports, Redis connections) before measuring.
                asyncio.run(one_class(base, 8, 0.5, seed=99))
                results = [asyncio.run(one_class(base, args.students, args.window, seed=run)) for run in range(args.runs)]
            ok &= report(label, results, args.students)
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
