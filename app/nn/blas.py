"""Run NumPy's BLAS on one thread while a network trains beside ConvLab's parallel kernels.

OpenBLAS's worker threads keep spinning for a while (of the order of 0.1 s)
after every multithreaded call.  In a training step the dense layers' matrix
products (BLAS) alternate with the convolution and pooling kernels (Numba,
one thread per core), so each spinning BLAS thread takes a core away from the
kernel that runs next.  Measured on the chapter model (batch 128, 2 cores): a
step cost ~170–200 ms of CPU time with two BLAS threads and ~80–95 ms with
one, while the dense layers themselves (~0.3 GFLOP a step) lose only ~1 ms by
running on one thread.

``single_threaded_blas()`` is a re-entrant, thread-safe context: the first
caller to enter limits every loaded BLAS library to one thread, the last one to
leave restores the previous limits, so two runs training at once in two
threads do not undo each other.  Without ``threadpoolctl`` (a scikit-learn
dependency) it does nothing.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None


def _blas_controller():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas():
    """Inside this block NumPy's matrix products use one BLAS thread (see the module docstring)."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            controller = _blas_controller()
            _limiter = controller.limit(limits=1, user_api="blas") if controller else None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None
