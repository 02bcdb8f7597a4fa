"""Argument checks shared by the public wrappers.

Every failure is a ``ValueError`` whose message names the parameter and the
numbers, so the HTTP layer can pass it to the page as a 422 unchanged.
"""
import numbers

import numpy as np
from app.errors import InvalidArgument


def as_float_array(a, name, ndim, dtype=None):
    """Return ``a`` as a C-contiguous float32/float64 array with ``ndim`` axes.

    Float32 and float64 are kept; other real dtypes become float64 (float16
    becomes float32).  ``dtype`` forces a dtype (weights follow the input's).
    A read-only array (the server's stored images are) is copied: Numba compiles a
    read-only array as a type of its own, so every kernel would need a second
    machine-code version, compiled at start-up for tens of seconds, to avoid a copy
    that takes a fraction of a millisecond.
    """
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise InvalidArgument(f"{name} has dtype {a.dtype}; expected real numbers")
    if a.ndim != ndim:
        raise InvalidArgument(f"{name} is {a.ndim}-dimensional with shape {tuple(a.shape)}; expected {ndim} dimensions")
    if a.size == 0:
        raise InvalidArgument(f"{name} is empty (shape {tuple(a.shape)})")
    if dtype is None:
        if a.dtype == np.float32 or a.dtype == np.float64:
            dtype = a.dtype
        elif a.dtype == np.float16:
            dtype = np.dtype(np.float32)
        else:
            dtype = np.dtype(np.float64)
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def _int(v, name):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise InvalidArgument(f"{name} must be an integer or a pair of integers, got {v!r}")
    return int(v)


def pair(v, name, minimum):
    """Return ``v`` (int or (h, w) pair) as two ints, each at least ``minimum``."""
    if isinstance(v, (tuple, list, np.ndarray)):
        if len(v) != 2:
            raise InvalidArgument(f"{name} must be an integer or a pair (h, w), got {len(v)} values")
        h, w = _int(v[0], name), _int(v[1], name)
    else:
        h = w = _int(v, name)
    if h < minimum or w < minimum:
        what = "at least 1" if minimum == 1 else f"at least {minimum}"
        raise InvalidArgument(f"{name} must be {what}, got {(h, w) if h != w else h}")
    return h, w


def dims(h, w):
    """Format a size as ``h×w`` for messages."""
    return f"{h}×{w}"
