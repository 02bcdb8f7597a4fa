"""Connections that never finish a request are closed; open connections per worker are bounded.

A real `python -m app` server (uvicorn with app/connections.py's protocol) with short
deadlines, driven over raw sockets: idle, slow-head, slow-body and never-ending
chunked connections are closed with a 408 (or quietly, when they never spoke); past
``max_connections`` the longest-waiting idle connection makes room for a newcomer, and
when every connection is busy the newcomer gets a 503 that says why.
"""
from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from tests.servers import start_server, stop_server

HEAD_TIMEOUT = 1.5
GRACE = 1.0
MAX_CONNECTIONS = 40
ENV = {
    "CONVLAB_REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT),
    "CONVLAB_BODY_GRACE_SECONDS": str(GRACE),
    "CONVLAB_BODY_MIN_RATE": "1000",
    "CONVLAB_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
}


@pytest.fixture(scope="module")
def server():
    proc, base = start_server(env=ENV)
    yield base
    stop_server(proc)


def _connect(base: str) -> socket.socket:
    host, port = base.rsplit("//", 1)[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def _read_until_closed(s: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or ``timeout``); and when it closed."""
    t0 = time.monotonic()
    s.settimeout(0.2)
    data = b""
    while time.monotonic() - t0 < timeout:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, time.monotonic() - t0
        if not chunk:
            return data, time.monotonic() - t0
        data += chunk
    return data, -1.0


def _detail(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)["detail"]


def test_a_connection_that_says_nothing_is_closed(server):
    s = _connect(server)
    data, closed_after = _read_until_closed(s, HEAD_TIMEOUT + 5)
    assert 0 < closed_after < HEAD_TIMEOUT + 2 and data == b""


def test_a_head_sent_a_byte_at_a_time_gets_408(server):
    s = _connect(server)
    head = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    t0 = time.monotonic()
    answer = b""
    for byte in head:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.05)
        if time.monotonic() - t0 > HEAD_TIMEOUT + 3:
            break
        s.setblocking(False)
        try:
            answer += s.recv(65536)
        except (BlockingIOError, ConnectionResetError):
            pass
        s.setblocking(True)
        if answer:
            break
    rest, _ = _read_until_closed(s, 3)
    status, detail = _detail(answer + rest)
    assert status == 408 and "request head" in detail
    assert time.monotonic() - t0 < HEAD_TIMEOUT + 3


def test_a_never_ending_chunked_body_gets_408(server):
    s = _connect(server)
    s.sendall(b"POST /api/conv2d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    t0 = time.monotonic()
    answer = b""
    s.settimeout(0.5)
    while time.monotonic() - t0 < GRACE + 8:
        try:
            s.sendall(b"1\r\n \r\n")  # one byte a half-second, for ever
            answer += s.recv(65536)
            if answer:
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    rest, _ = _read_until_closed(s, 3)
    status, detail = _detail(answer + rest)
    assert status == 408 and "too slowly" in detail
    assert time.monotonic() - t0 < GRACE + 6


def test_a_declared_body_may_take_time_in_proportion_to_its_size(server):
    # 3,000 bytes at the minimum rate of 1,000 B/s: the bound is grace + 3 s; sent in ~2 s it passes.
    body = json.dumps({"input": [[[0.5] * 20] * 20], "weight": [[[[1.0]]]]}).encode()
    body = body + b" " * (3000 - len(body))
    s = _connect(server)
    s.sendall(b"POST /api/conv2d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 300):
        s.sendall(body[i:i + 300])
        time.sleep(0.2)
    answer, _ = _read_until_closed(s, 10)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_a_huge_head_gets_431(server):
    s = _connect(server)
    try:
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Big: " + b"b" * 40_000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer, _ = _read_until_closed(s, 5)
    status, detail = _detail(answer)
    assert status == 431 and "headers are larger" in detail


def test_idle_connections_make_room_for_a_newcomer(server):
    idle = [_connect(server) for _ in range(MAX_CONNECTIONS + 20)]
    try:
        time.sleep(0.3)
        r = httpx.get(server + "/api/health", timeout=5)  # a new client is served, not refused
        assert r.status_code == 200
        closed = 0
        for s in idle:
            s.settimeout(0.05)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed >= 20, f"only {closed} of the oldest idle connections were closed to make room"
    finally:
        for s in idle:
            s.close()


def test_when_every_connection_is_busy_the_newest_is_refused_with_a_reason(server):
    # Requests whose bodies are still within their grace period: busy, not evictable.
    busy = []
    try:
        for _ in range(MAX_CONNECTIONS):
            s = _connect(server)
            s.sendall(b"POST /api/conv2d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100000\r\n\r\n{")
            busy.append(s)
        time.sleep(0.2)
        s = _connect(server)
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer, _ = _read_until_closed(s, 5)
        status, detail = _detail(answer)
        assert status == 503 and "open connections" in detail
    finally:
        for s in busy:
            s.close()
    time.sleep(0.3)
    assert httpx.get(server + "/api/health", timeout=5).status_code == 200
