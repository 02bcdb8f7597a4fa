"""Numba flags for every ConvLab kernel, in one place.

Kernels import ``kernel`` from here and never hard-code ``fastmath=``, ``cache=``
or ``parallel=`` themselves, so one edit changes the whole compute core.

- ``cache=True``: the first process compiles (tens of seconds for the whole set)
  and writes ``__pycache__/*.nbi|*.nbc``; later processes load them in well under
  a second.  Set ``NUMBA_CACHE_DIR`` where the package directory and ``$HOME``
  are read-only (docs/RUNTIME.md).
- ``fastmath``: only ``contract`` (fused multiply-add) for element-wise sweeps,
  so results stay reproducible and ``-inf`` padding of max pooling keeps its IEEE
  meaning.  Kernels that reduce a long sum into one scalar (the weight gradient)
  also get ``reassoc`` so LLVM may split the sum across vector lanes.
- ``error_model="numpy"``: no ZeroDivisionError checks inside hot loops.
- ``boundscheck=False``: wrappers validate every shape before calling a kernel.
"""
import numba

CACHE = True
FASTMATH = frozenset({"contract"})
FASTMATH_REDUCE = frozenset({"contract", "reassoc", "nsz"})


def kernel(parallel=False, reduce=False):
    """Decorator for a private Numba kernel with the project's flags.

    Parameters
    ----------
    parallel : bool
        Compile with ``parallel=True``; the kernel must use ``prange`` only over
        an axis whose output slice one iteration owns.
    reduce : bool
        Allow reassociation (for kernels whose inner loop is a scalar reduction).
    """
    return numba.njit(
        cache=CACHE,
        nogil=True,
        parallel=parallel,
        fastmath=set(FASTMATH_REDUCE if reduce else FASTMATH),
        error_model="numpy",
        boundscheck=False,
    )
