"""Assembles the ASGI application; nothing else happens here."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import (backward, classmode, classroom, compute, equivariance, family, images, inside, network, pages,
                     pool, system, train)
from app.api.errors import install_error_handlers
from app.api.middleware import BodyLimit, MultipartComplete, RelativeRedirects, SecurityHeaders, TrustedHosts
from app.config import Settings, get_settings
from app.paths import STATIC_DIR
from app.imaging.decode import DecodeGate
from app.imaging.store import ImageStore
from app.labs.classmode import open_store

DESCRIPTION = """
ConvLab's HTTP API. Every error body is `{"detail": "<message>"}`.

Endpoints that return feature maps answer in JSON (arrays as nested lists) by default,
or in ConvLab's compact binary form when the request says
`Accept: application/x-convlab-arrays` (see `app/api/transport.py` and the README).
"""


def warm_kernels() -> None:
    """Load or compile every Numba kernel a request can reach (tests/test_warm.py checks it)."""
    import numpy as np

    from app import display, kernels
    from app.labs.train import chapter

    t0 = time.perf_counter()
    kernels.warmup()
    chapter.warmup()  # the chapter model's batched layers: a first Start would otherwise wait for them
    for dtype in (np.float32, np.float64):  # the page's colour-index pass (display answers)
        display.colour_indices(np.linspace(-1, 1, 12, dtype=dtype).reshape(2, 2, 3), "auto")
    logging.getLogger("convlab").info("kernels warm in %.1f s", time.perf_counter() - t0)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from app.imaging.samples import load_samples

        load_samples(app.state.store)
        # Handlers run in AnyIO's thread pool (40 threads by default). Forty requests
        # computing at once on two cores all finish late, fighting over the GIL and the
        # cores; a few at a time, the rest waiting in arrival order, finish sooner on average.
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, settings.concurrent_requests)
        # Load (or, on a cold cache, compile) every kernel in the background: requests are
        # served meanwhile, and one that needs a kernel still compiling waits for it.
        threading.Thread(target=warm_kernels, name="convlab-warmup", daemon=True).start()
        yield
        await app.state.classes.close()

    app = FastAPI(
        title="ConvLab",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by system.py with local assets (no CDN, CSP-safe)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = ImageStore(settings.cache_bytes)
    app.state.classes = open_store(settings.redis_url, idle_seconds=settings.class_idle_hours * 3600)
    app.state.decode_gate = DecodeGate(settings.concurrent_large_decodes, settings.large_image_pixels)
    install_error_handlers(app)
    # Outermost last: security headers on every answer, then the Host check, then the body checks.
    app.add_middleware(MultipartComplete)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RelativeRedirects)
    app.add_middleware(TrustedHosts, hosts=settings.trusted_host_list())
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (system, pages, images, compute, pool, backward, network, equivariance, train, inside, family,
                   classroom, classmode):
        app.include_router(module.router)
    return app


app = create_app()
