"""ConvLab: an interactive explorer of convolutional neural networks.

Set-up that must happen before Numba starts any threads lives here, because every
entry point (the server, the tests, the benchmarks) imports this package first.
"""
import os

# A parked OpenMP thread wakes in ~0.8 ms instead of ~10 ms after an idle moment
# (docs/PERFORMANCE.md §9); a page that sends one request per knob move lives in that regime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402

# The default "workqueue" layer aborts the process when two requests run parallel
# kernels at once (docs/RUNTIME.md); "threadsafe" picks TBB or OpenMP.
numba.config.THREADING_LAYER = "threadsafe"

# NumPy's BLAS (OpenBLAS) on one thread for the whole process.  Its worker threads spin
# after every call and take the cores from the Numba kernels that run next; and
# ``openblas_set_num_threads`` called later from a request's worker thread does not
# reliably stick (OpenBLAS 0.3.31: the limit read back 2 inside the block).  Measured
# on the Inside lab's held-out pass (359 digits, chapter model) run in a thread-pool
# thread, loaded machine: ~400–800 ms CPU with two BLAS threads, ~110 ms with one;
# the dense products themselves lose at most 2× and are a few ms.
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
    pass

__version__ = "0.1.0"
