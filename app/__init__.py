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

__version__ = "0.1.0"
