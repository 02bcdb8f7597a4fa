"""Issue 10's kernels: groups/depthwise, conv_transpose2d and conv1d against tests/naive.py.

Tolerances as in test_kernels_conv.py (2·n·(n+1)·eps of the dtype for sums of n
products of numbers in [-1, 1]); finite differences in float64, ≤ 1e-6.
"""
import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from naive import atol
from app.kernels import (
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    conv_transpose2d,
    conv_transpose2d_backward,
)

HYP = settings(max_examples=40, deadline=None)
MODES = ["zeros", "reflect", "replicate", "circular"]



# --------------------------------------------------------------------------- transposed convolution


@st.composite
def transpose_cases(draw):
    groups = draw(st.integers(1, 2))
    cin_g, cout_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    # padding may crop at most what leaves one output cell
    full_h, full_w = (h - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0], (w - 1) * s[1] + d[1] * (kw - 1) + 1 + op[1]
    p = (draw(st.integers(0, (full_h - 1) // 2)), draw(st.integers(0, (full_w - 1) // 2)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-1, 1, (cin_g * groups, h, w)).astype(dtype)
    wt = rng.uniform(-1, 1, (cin_g * groups, cout_g, kh, kw)).astype(dtype)
    b = rng.uniform(-1, 1, cout_g * groups).astype(dtype) if draw(st.booleans()) else None
    args = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=groups)
    return x, wt, b, args, rng


@HYP
@given(transpose_cases())
def test_conv_transpose2d_matches_naive(case):
    x, w, b, args, rng = case
    y = conv_transpose2d(x, w, b, **args)
    ref = naive.conv_transpose2d(x.astype(float), w.astype(float), b, **args)
    assert y.dtype == x.dtype and y.shape == ref.shape
    n = x.shape[0] * w.shape[2] * w.shape[3] + 1
    npt.assert_allclose(y, ref, rtol=0, atol=atol(n, x.dtype))
    gy = rng.uniform(-1, 1, y.shape).astype(x.dtype)
    gx, gw, gb = conv_transpose2d_backward(x, w, gy, **args)
    rx, rw, rb = naive.conv_transpose2d_backward(x.astype(float), w.astype(float), gy.astype(float), **args)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (y.shape[0],)
    npt.assert_allclose(gx, rx, rtol=0, atol=atol(w.shape[1] * w.shape[2] * w.shape[3], x.dtype))
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(x.shape[1] * x.shape[2], x.dtype))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(y.shape[1] * y.shape[2], x.dtype))


def test_conv_transpose2d_stamps_the_kernel():
    """One input pixel of value 2 at stride 2: the output holds 2·w at that pixel's place."""
    x = np.zeros((1, 2, 2))
    x[0, 1, 0] = 2.0
    w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y = conv_transpose2d(x, w, stride=2)
    assert y.shape == (1, 5, 5)  # (2 - 1)·2 + 3
    expect = np.zeros((5, 5))
    expect[2:5, 0:3] = 2 * w[0, 0]
    npt.assert_array_equal(y[0], expect)


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    """Eq. 36.10 seen as a layer: conv2d's grad_input is conv_transpose2d of δ with the same weight."""
    rng = np.random.default_rng(9)
    x, w = rng.normal(size=(3, 11, 10)), rng.normal(size=(4, 3, 3, 3))
    gy = rng.normal(size=conv2d(x, w, stride=2, padding=1).shape)
    gx, _, _ = conv2d_backward(x, w, gy, stride=2, padding=1)
    npt.assert_allclose(conv_transpose2d(gy, w, stride=2, padding=1, output_padding=(0, 1)), gx, atol=1e-12)


@pytest.mark.parametrize("args", [dict(stride=2, padding=1, output_padding=1), dict(stride=1, dilation=2, output_padding=1, groups=2)])
def test_conv_transpose2d_finite_differences(args):
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 2, 3, 2)), rng.normal(size=2 * args.get("groups", 1))
    gy = rng.normal(size=conv_transpose2d(x, w, b, **args).shape)
    loss = lambda: float(np.sum(gy * conv_transpose2d(x, w, b, **args)))  # noqa: E731
    gx, gw, gb = conv_transpose2d_backward(x, w, gy, **args)
    for analytic, wrt in ((gx, x), (gw, w), (gb, b)):
        assert np.max(np.abs(analytic - naive.numeric_grad(loss, wrt))) <= 1e-6


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(output_padding=2, stride=2), r"output_padding 2×2 must be smaller than the stride 2×2 or the dilation 1×1"),
        (dict(weight=np.zeros((3, 1, 3, 3))), r"weight has 3 input channels \(its first axis\) but x has 2"),
        (dict(padding=5), "crops the whole"),
        (dict(groups=3), r"groups=3 must divide the input channels \(2\)"),
        (dict(bias=np.zeros(3)), r"bias has shape \(3,\); expected \(1,\)"),
        (dict(stride=0), "stride must be at least 1"),
    ],
)
def test_conv_transpose2d_rejects_bad_arguments(bad, message):
    args = dict(x=np.zeros((2, 4, 4)), weight=np.zeros((2, 1, 3, 3)))
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        conv_transpose2d(**args)


# --------------------------------------------------------------------------- groups and depthwise


def test_depthwise_conv_is_one_filter_per_channel():
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(3, 9, 9)), rng.normal(size=(3, 1, 3, 3))
    y = conv2d(x, w, padding=1, groups=3)
    for c in range(3):
        npt.assert_allclose(y[c], conv2d(x[c:c + 1], w[c:c + 1], padding=1)[0], atol=1e-12)
    gx, gw, _ = conv2d_backward(x, w, np.ones_like(y), padding=1, groups=3)
    for c in range(3):
        rx, rw, _ = conv2d_backward(x[c:c + 1], w[c:c + 1], np.ones((1, 9, 9)), padding=1)
        npt.assert_allclose(gx[c], rx[0], atol=1e-12)
        npt.assert_allclose(gw[c], rw[0], atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("kw", [2, 3, 5])
def test_groups_match_naive(groups, kw):
    rng = np.random.default_rng(groups * 10 + kw)
    x, w = rng.uniform(-1, 1, (4, 8, 9)), rng.uniform(-1, 1, (8, 4 // groups, 3, kw))
    args = dict(stride=(1, 2), padding=(1, 2), dilation=1, padding_mode="circular", groups=groups)
    ref_args = dict(stride=(1, 2), pads=(1, 1, 2, 2), dilation=(1, 1), mode="circular", groups=groups)
    y = conv2d(x, w, None, **args)
    npt.assert_allclose(y, naive.conv2d(x, w, None, **ref_args), atol=1e-12)
    gy = rng.uniform(-1, 1, y.shape)
    for got, ref in zip(conv2d_backward(x, w, gy, **args), naive.conv2d_backward(x, w, gy, **ref_args)):
        npt.assert_allclose(got, ref, atol=1e-11)


# --------------------------------------------------------------------------- 1-D convolution


@st.composite
def conv1d_cases(draw):
    c_in, c_out, k = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES))
    if s == 1 and draw(st.booleans()):
        total = d * (k - 1)
        padding, pads = "same", (total // 2, total - total // 2)
    else:
        p = draw(st.integers(0, 3))
        padding, pads = p, (p, p)
    n0 = max(1, d * (k - 1) + 1 - sum(pads), max(pads) + (mode == "reflect"))
    n = draw(st.integers(n0, n0 + 8))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-1, 1, (c_in, n)).astype(dtype)
    w = rng.uniform(-1, 1, (c_out, c_in, k)).astype(dtype)
    b = rng.uniform(-1, 1, c_out).astype(dtype)
    return x, w, b, dict(stride=s, padding=padding, dilation=d, padding_mode=mode), (s, pads, d, mode), rng


@HYP
@given(conv1d_cases())
def test_conv1d_matches_naive(case):
    x, w, b, args, ref, rng = case
    y = conv1d(x, w, b, **args)
    npt.assert_allclose(y, naive.conv1d(x.astype(float), w.astype(float), b, *ref), rtol=0, atol=atol(w[0].size + 1, x.dtype))
    assert y.dtype == x.dtype
    gy = rng.uniform(-1, 1, y.shape)
    gx, gw, gb = conv1d_backward(x, w, gy, **args)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[0],)


@pytest.mark.parametrize("mode", MODES)
def test_conv1d_backward_finite_differences(mode):
    rng = np.random.default_rng(8)
    x, w, b = rng.normal(size=(2, 11)), rng.normal(size=(3, 2, 3)), rng.normal(size=3)
    args = dict(stride=2, padding=2, dilation=2, padding_mode=mode)
    gy = rng.normal(size=conv1d(x, w, b, **args).shape)
    loss = lambda: float(np.sum(gy * conv1d(x, w, b, **args)))  # noqa: E731
    gx, gw, gb = conv1d_backward(x, w, gy, **args)
    for analytic, wrt in ((gx, x), (gw, w), (gb, b)):
        assert np.max(np.abs(analytic - naive.numeric_grad(loss, wrt))) <= 1e-6


def test_conv1d_chapter_equation():
    """Eq. 36.1 by hand: s[i] = sum_a x[i + a] w[a]."""
    npt.assert_array_equal(conv1d([[1.0, 2, 3, 4, 5]], [[[1.0, 0, -1]]]), [[-2, -2, -2]])


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(x=np.zeros((1, 2, 5))), "x is 3-dimensional"),
        (dict(weight=np.zeros((1, 1, 9))), "kernel of length 9 is larger than the padded input of length 5"),
        (dict(weight=np.zeros((1, 1, 3)), dilation=3), "dilated kernel of length 7"),
        (dict(stride=(1, 2)), "stride must be an integer"),
        (dict(padding=-2), "padding must be at least 0"),
        (dict(padding="same", stride=2), 'padding="same" needs stride 1'),
        (dict(padding=5, padding_mode="reflect"), "reflect padding must be smaller than the input"),
    ],
)
def test_conv1d_rejects_bad_arguments(bad, message):
    args = dict(x=np.zeros((1, 5)), weight=np.zeros((1, 1, 3)))
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        conv1d(**args)
