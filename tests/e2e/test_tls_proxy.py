"""The README's advice works: Debian's nginx terminates TLS in front of ConvLab, and the page runs through it.

The test makes a self-signed certificate (openssl), starts nginx as an unprivileged
process with the README's site configuration on a free port, and drives the page over
https in Chromium: every request stays on https (no asset or redirect names another
host or scheme), and a convolution is computed through the proxy.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate     {tmp}/convlab.crt;
        ssl_certificate_key {tmp}/convlab.key;
        client_max_body_size 25m;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
        }}
    }}
}}
"""


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_proxy(live_server, tmp_path_factory):
    nginx = _nginx()
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx not found: .ci/run must apt-get install nginx")
        pytest.skip("nginx not installed (apt-get install nginx)")
    tmp = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(tmp / "convlab.key"), "-out", str(tmp / "convlab.crt")],
        check=True, capture_output=True)
    port = _free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, upstream=live_server))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp), "-e", str(tmp / "error.log")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {proc.stdout.read().decode(errors='replace')}\n"
                               f"{Path(tmp / 'error.log').read_text(errors='replace') if (tmp / 'error.log').exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("nginx did not listen")
            time.sleep(0.1)
    yield f"https://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_page_computes_through_an_nginx_tls_proxy(browser, tls_proxy):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    origins = set()
    page.on("request", lambda r: origins.add(f"{urlparse(r.url).scheme}://{urlparse(r.url).netloc}")
            if not r.url.startswith(("data:", "blob:")) else None)
    try:
        page.goto(tls_proxy + "/#lab=conv")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        expect(page.get_by_test_id("output-size")).to_contain_text("×")
        page.wait_for_function("() => { const c = document.querySelector('[data-testid=feature-map-0]');"
                               " return c && c.width > 0; }", timeout=30_000)
        before = page.get_by_test_id("output-size").inner_text()
        with page.expect_response(lambda r: r.url.startswith(tls_proxy + "/api/conv2d") and r.status == 200):
            page.get_by_test_id("stride").fill("2")  # a computation, through the proxy
        expect(page.get_by_test_id("output-size")).not_to_have_text(before)
        assert origins == {tls_proxy}, f"the page asked other origins: {origins}"
        assert not errors, errors
        # and redirects stay on the proxy's origin
        r = page.request.get(tls_proxy + "/api/samples/", max_redirects=0)
        assert r.status in (307, 308) and r.headers["location"] == "/api/samples"
    finally:
        context.close()
