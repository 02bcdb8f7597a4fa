"""pool2d / pool2d_backward against tests/naive.py.

Max pooling only compares and copies, so values and argmax must match the
reference exactly.  Average pooling sums kh·kw ≤ 16 values in [-1, 1] and
scales once: we allow 2·n·(n + 1)·eps of the dtype (see test_kernels_conv.py).
"""
import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from naive import atol
from app.kernels import pool2d, pool2d_backward

HYP = settings(max_examples=60, deadline=None)


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 12))
    w = draw(st.integers(max(1, kw - 2 * pw), 12))
    c = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.uniform(-1, 1, (c, h, w))
    else:  # few distinct values: many ties, which must go to the first maximum
        x = rng.integers(-2, 3, (c, h, w)).astype(float)
    args = dict(kind=kind, kernel_size=(kh, kw), stride=stride, padding=(ph, pw))
    ref = ((kh, kw), stride or (kh, kw), (ph, pw))
    return x.astype(dtype), args, ref, rng


@HYP
@given(pool_cases())
def test_pool2d_matches_naive(case):
    x, args, ref, _ = case
    y, arg = pool2d(x, **args)
    ry, rarg = naive.pool2d(x.astype(float), args["kind"], *ref)
    assert y.dtype == x.dtype and y.shape == ry.shape
    if args["kind"] == "max":
        npt.assert_array_equal(y, ry)
        assert arg.dtype == np.int64
        npt.assert_array_equal(arg, rarg)
    else:
        assert arg is None
        n = ref[0][0] * ref[0][1]
        npt.assert_allclose(y, ry, rtol=0, atol=atol(n, x.dtype))


@HYP
@given(pool_cases())
def test_pool2d_backward_matches_naive(case):
    x, args, ref, rng = case
    gy = rng.uniform(-1, 1, pool2d(x, **args)[0].shape).astype(x.dtype)
    gx = pool2d_backward(x, gy, **args)
    rgx = naive.pool2d_backward(x.astype(float), gy.astype(float), args["kind"], *ref)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    n = 4 * ref[0][0] * ref[0][1]  # a pixel lies in at most (kh/sh)·(kw/sw) ≤ 16 windows
    npt.assert_allclose(gx, rgx, rtol=0, atol=atol(n, x.dtype))



def test_max_pool_hand_case_and_ties():
    x = np.array([[[1.0, 3, 2, 2], [4, 0, 2, 2], [5, 5, 0, 1], [5, 5, 1, 0]]])
    y, arg = pool2d(x, "max", 2)
    npt.assert_array_equal(y, [[[4, 2], [5, 1]]])
    npt.assert_array_equal(arg, [[[4, 2], [8, 11]]])  # ties go to the first maximum in row-major order
    npt.assert_array_equal(pool2d_backward(x, np.ones((1, 2, 2)), "max", 2).reshape(-1) != 0, np.isin(range(16), [4, 2, 8, 11]))


def test_max_pool_padding_never_wins():
    x = -np.ones((1, 3, 3))
    y, arg = pool2d(x, "max", 3, stride=1, padding=1)
    npt.assert_array_equal(y, -1)  # −∞ padding: the border windows still report −1, not 0
    assert arg.min() >= 0 and arg.max() < 9


def test_avg_pool_counts_padded_zeros():
    y, arg = pool2d(np.ones((1, 2, 2)), "avg", 2, stride=1, padding=1)
    assert arg is None
    npt.assert_allclose(y, [[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]])


def test_max_pool_backward_accumulates_overlapping_windows():
    x = np.zeros((1, 5, 5))
    x[0, 2, 2] = 9.0  # the peak wins all nine 3×3 stride-1 windows
    gx = pool2d_backward(x, np.ones((1, 3, 3)), "max", 3, stride=1)
    assert gx[0, 2, 2] == 9 and gx.sum() == 9


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("geom", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(3, 2), stride=(2, 1))])
def test_pool2d_backward_finite_differences(kind, geom):
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 7 * 6).reshape(2, 7, 6) * 0.01 + rng.uniform(0, 1e-3, (2, 7, 6))  # distinct values
    gy = rng.normal(size=pool2d(x, kind, **geom)[0].shape)
    gx = pool2d_backward(x, gy, kind, **geom)
    num = naive.numeric_grad(lambda: float(np.sum(gy * pool2d(x, kind, **geom)[0])), x)
    assert np.max(np.abs(gx - num)) <= 1e-6


X = np.zeros((2, 6, 6))
BAD_POOL = [
    (dict(x=np.zeros((6, 6))), "x is 2-dimensional"),
    (dict(x=np.zeros((2, 0, 6))), "x is empty"),
    (dict(kind="median"), 'kind must be "max" or "avg"'),
    (dict(kernel_size=0), "kernel_size must be at least 1"),
    (dict(stride=0), "stride must be at least 1"),
    (dict(padding=-1), "padding must be at least 0"),
    (dict(kernel_size=3, padding=2), "padding 2×2 must be at most half the pool window 3×3"),
    (dict(kernel_size=(9, 2)), "pool window 9×2 is larger than the padded input 6×6"),
]


@pytest.mark.parametrize("bad, message", BAD_POOL, ids=[m[:30] for _, m in BAD_POOL])
def test_pool2d_rejects_bad_arguments(bad, message):
    args = dict(x=X, kind="max", kernel_size=2)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        pool2d(**args)
    with pytest.raises(ValueError, match=message):
        pool2d_backward(grad_output=np.zeros((2, 3, 3)), **args)


def test_pool2d_backward_rejects_wrong_grad_output_shape():
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 2, 2\); the output of this pool2d is \(2, 3, 3\)"):
        pool2d_backward(X, np.zeros((2, 2, 2)), "max", 2)


def test_max_pool_all_minus_infinity_reports_first_in_image_cell():
    y, arg = pool2d(np.full((1, 3, 3), -np.inf), "max", 2, stride=1, padding=1)
    ry, rarg = naive.pool2d(np.full((1, 3, 3), -np.inf), "max", (2, 2), (1, 1), (1, 1))
    npt.assert_array_equal(y, ry)
    npt.assert_array_equal(arg, rarg)
