"""The page recovers by itself when the server comes back after a restart.

A real `python -m app` server is stopped while the page is open; a knob change then
shows "cannot be reached". The server is started again on the same port, and without
anyone touching a control the banner goes away and the maps are recomputed for the
knob's new value (the new process has none of the old one's state).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from playwright.sync_api import expect

from tests.servers import free_port, stop_server


def _start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("convlab did not start")


def test_the_page_recovers_when_the_server_comes_back(page):
    port = free_port()
    proc = _start(port)
    try:
        page.goto(f"http://127.0.0.1:{port}/#lab=conv&image=sample-square")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.wait_for_function("() => { const c = document.querySelector('[data-testid=feature-map-0]');"
                               " return c && c.width > 4; }", timeout=30_000)
        width = page.evaluate("() => document.querySelector('[data-testid=feature-map-0]').width")
        strided = (width - 1) // 2 + 1  # the same input and kernel at stride 2

        stop_server(proc)
        page.get_by_test_id("stride").fill("2")
        expect(page.get_by_test_id("error")).to_contain_text("cannot be reached", timeout=15_000)

        proc = _start(port)  # the same address, a new process
        expect(page.get_by_test_id("error")).to_be_hidden(timeout=20_000)
        page.wait_for_function("(w) => { const c = document.querySelector('[data-testid=feature-map-0]');"
                               " return c && c.width === w; }", arg=strided, timeout=20_000)
        expect(page.get_by_test_id("notice")).to_contain_text("server is back")
    finally:
        stop_server(proc)
