"""A real Redis for the class-mode tests: the one .ci/run started, else a private redis-server.

Skipped only when redis-server is absent and CI is not set; under CI a missing Redis fails.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    """redis://… of a running redis-server (shared by every test of the session)."""
    given = os.environ.get("CONVLAB_TEST_REDIS_URL")
    if given:
        from urllib.parse import urlsplit

        parts = urlsplit(given)
        if not _answers(parts.port or 6379, parts.hostname or "127.0.0.1"):
            pytest.fail(f"CONVLAB_TEST_REDIS_URL={given} does not answer PING")
        yield given
        return
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not found: .ci/run installs it with apt-get (Debian package redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI installs and runs it")
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
