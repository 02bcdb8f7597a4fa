"""How many cores one request's kernels may use, and the route class that applies it.

Numba's parallel kernels split work over every core. That is right for a request that
runs alone (a teacher dragging a slider: half the latency), and wasteful when several
requests compute at once: each then pays the threads' start and sync cost while the
cores are already busy with the others' work. So a request that starts while another
is computing runs its kernels on one thread. ``numba.set_num_threads`` is per calling
thread, and each handler runs in its own thread-pool thread, so the choice stays with
the request that made it.
"""
from __future__ import annotations

import asyncio
import functools
import threading

import numba
from fastapi.routing import APIRoute

_lock = threading.Lock()
_computing = 0


def shares_cores(handler):
    """``handler`` with all of Numba's threads when it computes alone, else with one."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        global _computing
        with _lock:
            _computing += 1
            alone = _computing == 1
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if alone else 1)
        try:
            return handler(*args, **kwargs)
        finally:
            with _lock:
                _computing -= 1

    return run


class ComputeRoute(APIRoute):
    """An APIRoute whose plain ``def`` endpoint (run in the thread pool) shares the cores
    as :func:`shares_cores` says; ``async def`` endpoints are left as they are."""

    def __init__(self, path: str, endpoint, **kwargs):
        if not asyncio.iscoroutinefunction(endpoint):
            endpoint = shares_cores(endpoint)
        super().__init__(path, endpoint, **kwargs)
