"""One class served by several ConvLab processes through a real redis-server.

Server A runs one worker, server B two (``--workers 2``), both with CONVLAB_REDIS_URL:
students join on one and answer on the other, the teacher's stream on A hears answers
posted on B, and every tally, view and CSV agrees. Without Redis, ``--workers 2``
refuses class mode with a message instead of splitting a class.
"""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.redis_server import redis_url  # noqa: F401  (session fixture)
from tests.servers import start_server, stop_server

CHOICES = {"prompt": "Max pooling 2×2, stride 2, on a 6×6 map: how many outputs per row?", "choices": ["2", "3", "4"],
           "answer": "3"}


@pytest.fixture(scope="module")
def two_servers(redis_url):  # noqa: F811
    env = {"CONVLAB_REDIS_URL": redis_url}
    a, url_a = start_server(workers=1, env=env)
    try:
        b, url_b = start_server(workers=2, env=env)
    except Exception:
        stop_server(a)
        raise
    yield url_a, url_b
    stop_server(b)
    stop_server(a)


class Stream:
    """The teacher's Server-Sent Events, read in a thread: (arrival time, tally) pairs."""

    def __init__(self, url: str, token: str):
        self.events: list[tuple[float, dict]] = []
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=60))
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the stream did not open"

    def _run(self, url, token):
        try:
            with self._client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status_code == 200
                self._ready.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        self.events.append((time.monotonic(), json.loads(line[6:])))
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test

    def wait_for(self, predicate, timeout=5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.events and predicate(self.events[-1][1]):
                return self.events[-1][1]
            time.sleep(0.01)
        raise AssertionError(f"stream never showed the expected tally; last: {self.events[-1:]}")

    def close(self):
        self._client.close()


def fresh(base: str, method: str, path: str, **kwargs) -> httpx.Response:
    """One request on a new connection (so --workers 2 spreads them over both workers)."""
    with httpx.Client(base_url=base, timeout=10) as c:
        return c.request(method, path, **kwargs)


def test_one_class_across_workers_and_hosts(two_servers):
    a, b = two_servers
    r = fresh(a, "POST", "/api/class")
    assert r.status_code == 201
    code, token = r.json()["code"], r.json()["teacher_token"]
    auth = {"Authorization": f"Bearer {token}"}
    stream = Stream(f"{a}/api/class/{code}/stream", token)
    try:
        students = []
        for i in range(12):
            r = fresh(b, "POST", f"/api/class/{code}/join", json={"nickname": f"n{i}"})
            assert r.status_code == 200, r.text
            students.append(r.json()["student"])
        stream.wait_for(lambda t: t["joined"] == 12)
        r = fresh(b, "POST", f"/api/class/{code}/questions", json=CHOICES, headers=auth)
        assert r.status_code == 200 and r.json()["question"] == 1
        assert fresh(a, "GET", f"/api/class/{code}/current").json()["prompt"] == CHOICES["prompt"]

        # Joined on B, answering on A and B in turn; the first four change their minds on the other server.
        values = ["2", "3", "4", "3"] * 3
        for i, (s, v) in enumerate(zip(students, values)):
            assert fresh(a if i % 2 else b, "POST", f"/api/class/{code}/answers",
                         json={"student": s, "question": 1, "value": "4"}).status_code == 204
        for i, (s, v) in enumerate(zip(students, values)):
            t_sent = time.monotonic()
            assert fresh(b if i % 2 else a, "POST", f"/api/class/{code}/answers",
                         json={"student": s, "question": 1, "value": v}).status_code == 204
        expected = {"2": 3, "3": 6, "4": 3}
        final = stream.wait_for(lambda t: t["counts"] == expected and t["answered"] == 12)
        arrived = stream.events[-1][0]
        assert arrived - t_sent < 1.0
        tally_a = fresh(a, "GET", f"/api/class/{code}/tally", headers=auth).json()
        tally_b = fresh(b, "GET", f"/api/class/{code}/tally", headers=auth).json()
        assert tally_a == tally_b == final

        # Round 2 begun on A, answered on B, revealed on B: everyone sees the same.
        assert fresh(a, "POST", f"/api/class/{code}/revote", headers=auth).json()["round"] == 2
        for s in students[:5]:
            assert fresh(b, "POST", f"/api/class/{code}/answers",
                         json={"student": s, "question": 1, "value": "3"}).status_code == 204
        revealed = fresh(b, "POST", f"/api/class/{code}/reveal", headers=auth).json()
        assert revealed["rounds"][1]["counts"] == {"2": 0, "3": 5, "4": 0}
        assert [x["correct"] for x in revealed["rounds"]] == [6, 5]
        assert stream.wait_for(lambda t: t["revealed"]) == revealed
        view = fresh(a, "GET", f"/api/class/{code}/current", params={"student": students[0]}).json()
        assert view["answer"] == "3" and view["mine"]["correct"] is True
        # A closed question is closed on every worker.
        r = fresh(a, "POST", f"/api/class/{code}/answers", json={"student": students[1], "question": 1, "value": "2"})
        assert r.status_code == 409
        csv_a = fresh(a, "GET", f"/api/class/{code}/results.csv", headers=auth).text
        csv_b = fresh(b, "GET", f"/api/class/{code}/results.csv", headers=auth).text
        assert csv_a == csv_b and csv_a.count("\n") == 1 + 12 + 5
        # Ending on B ends the stream on A.
        assert fresh(b, "DELETE", f"/api/class/{code}", headers=auth).status_code == 204
        assert fresh(a, "GET", f"/api/class/{code}/current").status_code == 404
    finally:
        stream.close()


def test_several_workers_without_redis_refuse_class_mode():
    proc, base = start_server(workers=2, env={"CONVLAB_REDIS_URL": ""})
    try:
        r = httpx.post(base + "/api/class", timeout=10)
        assert r.status_code == 503
        assert "2 worker processes without Redis" in r.json()["detail"]
        assert httpx.get(base + "/api/health", timeout=10).status_code == 200  # the rest of ConvLab serves on
    finally:
        stop_server(proc)
