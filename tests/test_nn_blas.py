"""app.nn.blas: after use_one_blas_thread() NumPy's BLAS runs one thread (libraries loaded later are not ours)."""
from __future__ import annotations

import numpy as np
import pytest

from app.nn.blas import use_one_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl")


def test_use_one_blas_thread_limits_numpys_blas_and_is_idempotent():
    np.ones((4, 4)) @ np.ones((4, 4))          # NumPy's BLAS is loaded
    assert use_one_blas_thread() is True
    assert use_one_blas_thread() is True
    numpys = [info for info in threadpoolctl.threadpool_info()
              if info["user_api"] == "blas" and "numpy" in info["filepath"]]
    assert numpys and all(info["num_threads"] == 1 for info in numpys)
