"""One live uvicorn server and one Chromium for every browser test.

The server runs ConvLab's real ASGI app in a thread on a free port; Playwright
(pytest-playwright's fixtures) drives Debian's /usr/bin/chromium, because
`playwright install` cannot download browsers here.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def live_server():
    import uvicorn

    from app import kernels
    from app.main import app

    # Compile (cold cache) or load every kernel before the first page asks for one, so no
    # browser test waits on the JIT; the server's own background warm-up then finds them ready.
    kernels.warmup()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not found: .ci/run must apt-get install chromium")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture
def app_page(page, live_server):
    """The explorer, loaded and booted, with console errors collected in page.console_errors."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page


@pytest.fixture
def goto_state(app_page, live_server):
    """goto_state("lab=pool&pool.k=3") opens that URL state in a freshly booted page."""

    def go(fragment: str = ""):
        app_page.goto("about:blank")
        app_page.goto(f"{live_server}/#{fragment}")
        app_page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        return app_page

    return go
