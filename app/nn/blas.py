"""NumPy's BLAS on one thread in a process that trains networks beside ConvLab's parallel kernels.

OpenBLAS's worker threads keep spinning for a while (of the order of 0.1 s)
after every multithreaded call.  In a training step the dense layers' matrix
products (BLAS) alternate with the convolution and pooling kernels (Numba,
one thread per core), so a spinning BLAS thread takes a core away from the
kernel that runs next.  Measured on the chapter model (batch 128, 2 cores, in
one process): a step cost ~170–200 ms of CPU time with two BLAS threads and
~80–95 ms with one, while the dense layers themselves (~0.3 GFLOP a step) lose
about a millisecond by running on one thread.

``use_one_blas_thread()`` limits every loaded BLAS library to one thread for
the rest of the process, once (later calls return at once).  It is one-way on
purpose: OpenBLAS's thread count is process-wide, and threadpoolctl lets only
one Python thread at a time change it, so a limit entered and left by several
training threads at once cannot be restored reliably.  ConvLab's parallelism
is its kernels'; a server that trains should call this at start-up.  Without
``threadpoolctl`` (a scikit-learn dependency) it does nothing.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_done = False


def use_one_blas_thread() -> bool:
    """Limit NumPy's BLAS to one thread for the rest of the process; True once the limit is in place."""
    global _done
    if _done:
        return True
    with _lock:
        if not _done:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
                return False
            threadpool_limits(limits=1, user_api="blas")
            _done = True
    return True
