"""The ``convlab`` command (and ``python -m app``): warm the kernels, then serve.

Binds 127.0.0.1 unless told otherwise: serving a classroom means passing
``--host 0.0.0.0`` on purpose (and, on an untrusted network, TLS at a reverse proxy).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import threading
import time
import urllib.request
import webbrowser

# glibc: keep large temporaries mapped between requests instead of returning them to the
# kernel and faulting them in again on every call (docs/PERFORMANCE.md §8).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_malloc() -> None:
    """Apply MALLOC_ENV to this process (mallopt) and, via the environment, to worker processes."""
    for key, value in MALLOC_ENV.items():
        os.environ.setdefault(key, value)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, int(os.environ["MALLOC_MMAP_THRESHOLD_"]))
        libc.mallopt(_M_TRIM_THRESHOLD, int(os.environ["MALLOC_TRIM_THRESHOLD_"]))
    except (OSError, AttributeError, ValueError):
        pass  # not glibc: nothing to tune


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from app.config import get_settings

    s = get_settings()
    p = argparse.ArgumentParser(prog="convlab", description="ConvLab: an interactive explorer of convolutional networks.")
    p.add_argument("--host", default=s.host,
                   help=f"address to bind (default {s.host}, this machine only; 0.0.0.0 serves every network interface)")
    p.add_argument("--port", type=int, default=s.port, help=f"port (default {s.port})")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; each keeps its own image cache)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser once the server answers")
    p.add_argument("--no-warmup", action="store_true", help="skip compiling the kernels before serving")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.error(f"--port must be between 1 and 65535, not {args.port}")
    if args.workers < 1:
        p.error(f"--workers must be at least 1, not {args.workers}")
    return args


def page_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def announce_when_ready(url: str, open_browser: bool, timeout: float = 60.0) -> None:
    """Poll /api/health; when it answers, say so (and open the browser)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "api/health", timeout=2) as r:
                if r.status == 200:
                    print(f"ConvLab is ready: {url}", flush=True)
                    if open_browser:
                        webbrowser.open(url)
                    return
        except OSError:
            time.sleep(0.2)


LOOPBACK_HOSTS = "localhost,127.0.0.1,[::1]"


def default_trusted_hosts(bind_host: str) -> None:
    """Bound to this machine only, answer only this machine's names (a guard against DNS rebinding).

    Applies when CONVLAB_TRUSTED_HOSTS is not set; worker processes inherit the environment.
    """
    if bind_host in ("127.0.0.1", "localhost", "::1") and "CONVLAB_TRUSTED_HOSTS" not in os.environ:
        os.environ["CONVLAB_TRUSTED_HOSTS"] = LOOPBACK_HOSTS
        from app.config import get_settings

        get_settings.cache_clear()


def main(argv: list[str] | None = None) -> int:
    from app.errors import InvalidArgument

    try:
        args = parse_args(argv)
    except InvalidArgument as exc:  # a CONVLAB_* variable out of range or of the wrong type
        print(f"convlab: {exc}", file=sys.stderr, flush=True)
        return 2
    tune_malloc()
    default_trusted_hosts(args.host)
    url = page_url(args.host, args.port)
    # Worker processes read their settings from the environment: tell them how they are served
    # (class mode refuses to split a class between workers that do not share Redis).
    os.environ["CONVLAB_HOST"] = args.host
    os.environ["CONVLAB_WORKERS"] = str(args.workers)
    from app.config import get_settings

    get_settings.cache_clear()
    if args.workers > 1 and not get_settings().redis_url:
        print(f"Class mode is off with {args.workers} workers and no Redis (a class must live in one place): "
              "set CONVLAB_REDIS_URL=redis://127.0.0.1:6379/0, or use --workers 1.", flush=True)
    if args.host in ("0.0.0.0", "::"):
        print(f"Serving on every network interface ({args.host}): anyone who can reach this machine "
              f"can use ConvLab. Use TLS at a reverse proxy on an untrusted network.", flush=True)
    try:
        if not args.no_warmup:
            print("Compiling the kernels (about a second with a warm cache, up to a minute the first time)...",
                  flush=True)
            from app import kernels

            warmup = getattr(kernels, "warmup", None)
            if warmup is not None:
                seconds = warmup()
                print(f"Kernels ready in {seconds:.1f} s.", flush=True)
        import uvicorn

        from app.config import get_settings
        from app.connections import raise_fd_limit, uvicorn_options

        raise_fd_limit()
        print(f"Starting ConvLab on {url} (Ctrl-C stops it)", flush=True)
        threading.Thread(target=announce_when_ready, args=(url, args.open), daemon=True).start()
        uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers,
                    log_level=args.log_level, **uvicorn_options(get_settings()))
    except KeyboardInterrupt:
        print("\nConvLab stopped.", flush=True)
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
