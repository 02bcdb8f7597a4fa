"""conv2d / conv2d_backward / pad2d / flip_kernel / relu against tests/naive.py.

Tolerances.  Inputs, weights and δ are drawn from [-1, 1], so every output is a
sum of n products each at most 1 in magnitude (plus a bias).  Floating-point
summation in any order is off by at most about n·eps·Σ|terms| ≤ n²·eps
(Higham's γ_n bound), so we allow ``atol = 2·n·(n + 1)·eps`` with eps of the
kernel's dtype, against a float64 reference.  For float64 that is ~1e-12; for
float32 ~1e-4 at the largest n drawn here.  Finite differences are in float64
with h = 1e-6 on a loss that is linear in each argument, so their error is
rounding only (~1e-9, as the chapter reports); we require ≤ 1e-6.
"""
import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from naive import atol, draw_padding, min_size, pads_of, same_pads
from app.kernels import (
    conv2d,
    conv2d_backward,
    flip_kernel,
    pad2d,
    pad2d_backward,
    relu,
    relu_backward,
)

MODES = ["zeros", "reflect", "replicate", "circular"]
HYP = settings(max_examples=60, deadline=None)





@st.composite
def conv_cases(draw, max_groups=2):
    groups = draw(st.integers(1, max_groups))
    cin_g, cout_g = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES))
    padding, pads = draw_padding(draw, st, kh, kw, (sh, sw), (dh, dw), max_pad=3)
    h0 = min_size(dh * (kh - 1) + 1, pads[0], pads[1], mode)
    w0 = min_size(dw * (kw - 1) + 1, pads[2], pads[3], mode)
    h, w = draw(st.integers(h0, h0 + 6)), draw(st.integers(w0, w0 + 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-1, 1, (cin_g * groups, h, w)).astype(dtype)
    wt = rng.uniform(-1, 1, (cout_g * groups, cin_g, kh, kw)).astype(dtype)
    b = rng.uniform(-1, 1, cout_g * groups).astype(dtype) if draw(st.booleans()) else None
    kwargs = dict(stride=(sh, sw), padding=padding, dilation=(dh, dw), padding_mode=mode, groups=groups)
    ref_args = dict(stride=(sh, sw), pads=pads, dilation=(dh, dw), mode=mode, groups=groups)
    return x, wt, b, kwargs, ref_args, rng


# --------------------------------------------------------------------------- forward and backward vs naive


@HYP
@given(conv_cases())
def test_conv2d_matches_naive(case):
    x, w, b, kwargs, ref_args, _ = case
    y = conv2d(x, w, b, **kwargs)
    ref = naive.conv2d(x.astype(float), w.astype(float), b, **ref_args)
    assert y.dtype == x.dtype
    assert y.shape == ref.shape
    n = w.shape[1] * w.shape[2] * w.shape[3] + 1
    npt.assert_allclose(y, ref, rtol=0, atol=atol(n, x.dtype))


@HYP
@given(conv_cases())
def test_conv2d_backward_matches_naive(case):
    x, w, _, kwargs, ref_args, rng = case
    y_shape = conv2d(x, w, **kwargs).shape
    gy = rng.uniform(-1, 1, y_shape).astype(x.dtype)
    gx, gw, gb = conv2d_backward(x, w, gy, **kwargs)
    rx, rw, rb = naive.conv2d_backward(x.astype(float), w.astype(float), gy.astype(float), **ref_args)
    assert gx.dtype == gw.dtype == gb.dtype == x.dtype
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[0],)
    # A pixel of grad_input collects up to C_out/g·kh·kw terms, times up to 3×3
    # padded copies of itself (reflect/circular); a weight collects H_out·W_out terms.
    n_x = (w.shape[0] // kwargs["groups"]) * w.shape[2] * w.shape[3] * 9
    n_w = y_shape[1] * y_shape[2]
    npt.assert_allclose(gx, rx, rtol=0, atol=atol(n_x, x.dtype))
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(n_w, x.dtype))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(n_w, x.dtype))


def test_conv2d_hand_case():
    """A 1×3×3 input, 2×2 kernel of ones: each output is the sum of a 2×2 window."""
    x = np.arange(9.0).reshape(1, 3, 3)
    y = conv2d(x, np.ones((1, 1, 2, 2)), np.array([0.5]))
    npt.assert_array_equal(y, [[[8.5, 12.5], [20.5, 24.5]]])


def test_conv2d_any_layout_and_integer_input():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 9, 3)).astype(np.float32).transpose(2, 0, 1)  # non-contiguous (3, 5, 9)
    w = rng.uniform(-1, 1, (2, 3, 3, 3))  # float64 weight follows x's float32
    y = conv2d(x, w, padding=1)
    assert y.dtype == np.float32
    npt.assert_allclose(y, naive.conv2d(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), "zeros"), atol=1e-5)
    yi = conv2d(np.arange(16).reshape(1, 4, 4), np.ones((1, 1, 2, 2), dtype=np.int32))
    assert yi.dtype == np.float64 and yi[0, 0, 0] == 0 + 1 + 4 + 5


# --------------------------------------------------------------------------- finite differences


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "geom",
    [
        dict(stride=1, padding=1, dilation=1, groups=1),
        dict(stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=1),
        dict(stride=1, padding="same", dilation=2, groups=2),
    ],
    ids=["plain", "strided-dilated", "same-grouped"],
)
def test_conv2d_backward_finite_differences(mode, geom):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 7, 8))
    w = rng.normal(size=(2, 2 // geom["groups"], 3, 2))
    b = rng.normal(size=2)
    gy = rng.normal(size=conv2d(x, w, b, padding_mode=mode, **geom).shape)

    def loss():
        return float(np.sum(gy * conv2d(x, w, b, padding_mode=mode, **geom)))

    gx, gw, gb = conv2d_backward(x, w, gy, padding_mode=mode, **geom)
    assert np.max(np.abs(gx - naive.numeric_grad(loss, x))) <= 1e-6
    assert np.max(np.abs(gw - naive.numeric_grad(loss, w))) <= 1e-6
    assert np.max(np.abs(gb - naive.numeric_grad(loss, b))) <= 1e-6


def test_chapter_weight_gradient_check():
    """The chapter's check: 8×8 input, 3×3 kernel, dL/dw = conv(x, δ) (eq. 36.9) to ~1e-9."""
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(1, 8, 8)), rng.normal(size=(1, 1, 3, 3))
    delta = rng.normal(size=(1, 6, 6))
    _, gw, _ = conv2d_backward(x, w, delta)
    npt.assert_allclose(gw[0, 0], conv2d(x, delta[None])[0], atol=1e-12)  # one convolution, three uses
    diff = np.max(np.abs(gw - naive.numeric_grad(lambda: float(np.sum(delta * conv2d(x, w))), w)))
    assert diff <= 1e-6


def test_input_gradient_is_full_convolution_with_flipped_kernel():
    """Eq. 36.10: for stride 1, zero padding, dL/dx = conv(pad(δ, k-1), flip(w))."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(1, 9, 7)), rng.normal(size=(1, 1, 3, 4))
    gy = rng.normal(size=conv2d(x, w).shape)
    gx, _, _ = conv2d_backward(x, w, gy)
    full = conv2d(gy, flip_kernel(w).transpose(1, 0, 2, 3), padding=(2, 3))
    npt.assert_allclose(gx, full, atol=1e-12)


# --------------------------------------------------------------------------- the chapter's worked numbers


def bright_square():
    img = np.full((1, 16, 16), 0.15)
    img[0, 4:12, 4:12] = 0.85
    return img


SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chapter_sobel_x_on_bright_square(dtype):
    y = conv2d(bright_square().astype(dtype), SOBEL_X[None, None])[0]
    assert y.shape == (14, 14)  # 16 - 3 + 1 (eq. 36.4)
    step = 4 * (0.85 - 0.15)
    # Output (i, j) is centred on input (i + 1, j + 1): the left side (input
    # columns 3-4) rises, the right side (11-12) falls, along rows 5-10.
    npt.assert_allclose(y[4:10, 2:4], step, rtol=1e-6)
    npt.assert_allclose(y[4:10, 10:12], -step, rtol=1e-6)
    edges = np.zeros((14, 14), bool)
    edges[2:12, 2:4] = edges[2:12, 10:12] = True
    npt.assert_allclose(y[~edges], 0, atol=1e-6)  # flat regions and horizontal edges: no response
    sobel_y = conv2d(bright_square().astype(dtype), SOBEL_X.T[None, None])[0]
    npt.assert_allclose(sobel_y[2:4, 4:10], step, rtol=1e-6)  # and Sobel-y fires on top/bottom
    npt.assert_allclose(sobel_y[10:12, 4:10], -step, rtol=1e-6)


@pytest.mark.parametrize(
    "size, k, stride, padding, out", [(32, 5, 1, 0, 28), (32, 5, 2, 0, 14), (32, 5, 1, 2, 32), (16, 3, 1, 0, 14)]
)
def test_chapter_output_sizes(size, k, stride, padding, out):
    y = conv2d(np.ones((1, size, size)), np.ones((1, 1, k, k)), stride=stride, padding=padding)
    assert y.shape == (1, out, out)


# --------------------------------------------------------------------------- equivariance, flip, same


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift", [(1, 0), (0, 3), (-2, 5), (7, -4)])
@pytest.mark.parametrize("kernel", [(3, 3), (4, 2)])
def test_circular_padding_is_exactly_translation_equivariant(dtype, shift, kernel):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2, 12, 13)).astype(dtype)
    w = rng.normal(size=(3, 2, *kernel)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    y = conv2d(x, w, b, padding="same", padding_mode="circular")
    y_shifted = conv2d(np.roll(x, shift, axis=(1, 2)), w, b, padding="same", padding_mode="circular")
    npt.assert_array_equal(y_shifted, np.roll(y, shift, axis=(1, 2)))


def test_flip_kernel_gives_true_convolution():
    from scipy.signal import convolve2d

    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(1, 8, 9)), rng.normal(size=(1, 1, 3, 2))
    npt.assert_allclose(conv2d(x, flip_kernel(w))[0], convolve2d(x[0], w[0, 0], mode="valid"), atol=1e-12)
    npt.assert_array_equal(flip_kernel(flip_kernel(w)), w)


@pytest.mark.parametrize("k, d", [(3, 1), (4, 1), (2, 3), (5, 2)])
def test_same_padding_keeps_size_and_puts_extra_at_bottom_right(k, d):
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(1, 9, 10)), rng.normal(size=(1, 1, k, k))
    y = conv2d(x, w, padding="same", dilation=d)
    assert y.shape == (1, 9, 10)
    top, bottom = same_pads(k, d)
    npt.assert_allclose(y, naive.conv2d(x, w, None, (1, 1), (top, bottom, top, bottom), (d, d), "zeros"), atol=1e-12)


# --------------------------------------------------------------------------- pad2d, relu


@pytest.mark.parametrize("mode", MODES)
def test_pad2d_and_its_adjoint(mode):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 5, 6))
    pads = (3, 1, 4, 2)
    xp = pad2d(x, pads, mode)
    npt.assert_array_equal(xp, naive.pad(x, pads, mode))
    g = rng.normal(size=xp.shape)
    # <pad(x), g> = <x, pad_backward(g)>: the fold is the adjoint of the pad.
    npt.assert_allclose(np.sum(xp * g), np.sum(x * pad2d_backward(g, pads, mode)), rtol=1e-12)


def test_reflect_pad_hand_case():
    npt.assert_array_equal(pad2d(np.array([[[1.0, 2, 3, 4]]]), (0, 0, 2, 2), "reflect"), [[[3, 2, 1, 2, 3, 4, 3, 2]]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_backward(dtype):
    x = np.array([[-2.0, 0.0, 3.0]], dtype=dtype)
    npt.assert_array_equal(relu(x), naive.relu(x))
    assert relu(x).dtype == dtype
    npt.assert_array_equal(relu_backward(x, np.array([[5.0, 6.0, 7.0]])), [[0, 0, 7]])


# --------------------------------------------------------------------------- errors

X = np.zeros((2, 10, 10))
W = np.zeros((3, 2, 3, 3))
BAD_CONV = [
    (dict(x=np.zeros((10, 10))), "x is 2-dimensional"),
    (dict(x=np.zeros((0, 10, 10))), "x is empty"),
    (dict(x=np.zeros((2, 10, 10), complex)), "x has dtype complex128"),
    (dict(weight=np.zeros((3, 3, 3))), "weight is 3-dimensional"),
    (dict(weight=np.zeros((3, 2, 0, 3))), "weight is empty"),
    (dict(weight=np.zeros((3, 1, 3, 3))), "weight expects 1 input channels but x has 2"),
    (dict(weight=np.zeros((3, 1, 3, 3)), groups=3), r"groups=3 must divide both the input channels \(2\)"),
    (dict(weight=np.zeros((4, 2, 3, 3)), groups=2), "per group"),
    (dict(groups=0), "groups must be a positive integer"),
    (dict(bias=np.zeros(2)), r"bias has shape \(2,\); expected \(3,\)"),
    (dict(stride=0), "stride must be at least 1, got 0"),
    (dict(stride=(1, 0)), r"stride must be at least 1, got \(1, 0\)"),
    (dict(stride=1.5), "stride must be an integer"),
    (dict(stride=(1, 2, 3)), "stride must be an integer or a pair"),
    (dict(dilation=0), "dilation must be at least 1"),
    (dict(padding=-1), "padding must be at least 0, got -1"),
    (dict(padding="full"), "padding must be an int"),
    (dict(padding="same", stride=2), r'padding="same" needs stride 1, got stride 2×2'),
    (dict(weight=np.zeros((3, 2, 7, 7)), dilation=2), "dilated kernel 13×13 is larger than the padded input 10×10"),
    (dict(weight=np.zeros((3, 2, 11, 3)), padding=0), "kernel 11×3 is larger than the padded input 10×10"),
    (dict(padding_mode="mirror", padding=1), "padding_mode must be one of zeros, reflect, replicate, circular"),
    (dict(padding_mode="reflect", padding=10), "reflect padding must be smaller than the input"),
    (dict(padding_mode="circular", padding=(0, 11)), "circular padding must be at most the input size"),
]


@pytest.mark.parametrize("bad, message", BAD_CONV, ids=[m[:30] for _, m in BAD_CONV])
def test_conv2d_rejects_bad_arguments(bad, message):
    args = dict(x=X, weight=W, bias=None)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        conv2d(**args)
    grad_bad = {k: v for k, v in bad.items() if k != "bias"}
    if grad_bad:
        args = dict(x=X, weight=W, grad_output=np.zeros((3, 8, 8)))
        args.update(grad_bad)
        with pytest.raises(ValueError, match=message):
            conv2d_backward(**args)


def test_conv2d_backward_rejects_wrong_grad_output_shape():
    with pytest.raises(ValueError, match=r"grad_output has shape \(3, 9, 9\); the output of this conv2d is \(3, 8, 8\)"):
        conv2d_backward(X, W, np.zeros((3, 9, 9)))


def test_pad2d_rejects_bad_arguments():
    with pytest.raises(ValueError, match="reflect padding must be smaller"):
        pad2d(np.zeros((1, 3, 3)), 3, "reflect")
    with pytest.raises(ValueError, match="padding must be non-negative"):
        pad2d(np.zeros((1, 3, 3)), (1, -1, 0, 0), "zeros")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        pad2d(np.zeros((1, 3, 3)), 1, "wrap")


# --------------------------------------------------------------------------- compile-time-width fast paths


@pytest.mark.parametrize("kw", [3, 5, 7])
@pytest.mark.parametrize("c_out, groups", [(1, 1), (3, 1), (4, 2), (6, 3)])
@pytest.mark.parametrize("stride", [1, 2])
def test_fused_widths_match_naive(kw, c_out, groups, stride):
    """The generated float32 kernels (_fused.py) for widths 3/5/7, odd and even channel counts per group."""
    rng = np.random.default_rng(kw * 100 + c_out * 10 + stride)
    c_in = 2 * groups
    x = rng.uniform(-1, 1, (c_in, 11, 13)).astype(np.float32)
    w = rng.uniform(-1, 1, (c_out, c_in // groups, 2, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    kwargs = dict(stride=stride, padding=(1, 3), dilation=(2, 1), padding_mode="reflect", groups=groups)
    ref_args = dict(stride=(stride, stride), pads=(1, 1, 3, 3), dilation=(2, 1), mode="reflect", groups=groups)
    y = conv2d(x, w, b, **kwargs)
    assert y.dtype == np.float32
    npt.assert_allclose(y, naive.conv2d(x, w, b, **ref_args), atol=atol(2 * 2 * kw + 1, np.float32))
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    bounds = (atol(c_out * 2 * kw * 9, np.float32), atol(y.shape[1] * y.shape[2], np.float32), atol(y.size, np.float32))
    for got, ref, tol in zip(conv2d_backward(x, w, gy, **kwargs), naive.conv2d_backward(x, w, gy, **ref_args), bounds):
        npt.assert_allclose(got, ref, atol=tol)


def test_generated_kernels_are_up_to_date():
    from app.kernels import _gen_fused

    assert _gen_fused.TARGET.read_text() == _gen_fused.source(), "run: python -m app.kernels._gen_fused"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 2), (1, 3)])
@pytest.mark.parametrize("hw, pads", [((5, 7), (1, 2, 3, 0)), ((4, 9), (2, 2, 2, 2)), ((1, 1), (0, 0, 0, 0)), ((12, 3), (0, 1, 0, 3))])
def test_pad_planes_equals_pad_then_split(mode, stride, hw, pads):
    """The one-pass pad + phase split equals padding first, then splitting into phase planes."""
    from app.kernels.conv import to_planes
    from app.kernels.padding import check_pad_limits, pad_contiguous, pad_planes

    try:
        check_pad_limits(*hw, pads, mode)
    except ValueError:
        pytest.skip("pad beyond the mode's limit")
    x = np.random.default_rng(7).uniform(-1, 1, (2, *hw)).astype(np.float32)
    npt.assert_array_equal(pad_planes(x, pads, mode, stride), to_planes(pad_contiguous(x, pads, mode), stride))


@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (1, 2), ((2, 1), (1, 3))])
@pytest.mark.parametrize("c_out, groups", [(1, 1), (5, 1), (6, 2)])
@pytest.mark.parametrize("size", [(13, 200), (9, 6)])
def test_flat_square_kernels_match_naive(stride, dilation, c_out, groups, size):
    """The generated all-taps flat kernels (3×3 float32): several tiles per image (a
    partial last one), odd channel counts per group, strides, dilations, groups."""
    rng = np.random.default_rng(c_out * 10 + groups + size[1])
    c_in = 2 * groups
    x = rng.uniform(-1, 1, (c_in, *size)).astype(np.float32)
    w = rng.uniform(-1, 1, (c_out, c_in // groups, 3, 3)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    sh, sw = pair_of(stride)
    dh, dw = pair_of(dilation)
    kwargs = dict(stride=stride, padding=(2, 1), dilation=dilation, padding_mode="replicate", groups=groups)
    ref_args = dict(stride=(sh, sw), pads=(2, 2, 1, 1), dilation=(dh, dw), mode="replicate", groups=groups)
    y = conv2d(x, w, b, **kwargs)
    assert y.dtype == np.float32
    npt.assert_allclose(y, naive.conv2d(x, w, b, **ref_args), atol=atol(2 * 9 + 1, np.float32))
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    bounds = (atol(c_out * 9 * 9, np.float32), atol(y.shape[1] * y.shape[2], np.float32), atol(y.size, np.float32))
    for got, ref, tol in zip(conv2d_backward(x, w, gy, **kwargs), naive.conv2d_backward(x, w, gy, **ref_args), bounds):
        npt.assert_allclose(got, ref, atol=tol)


def pair_of(v):
    return (v, v) if isinstance(v, int) else v


# --------------------------------------------------------------------------- register-blocked kernel (blocked.py)


@st.composite
def register_block_cases(draw, cin=(1, 5), cout=(4, 9), oh_max=4, ow=(16, 40), odd_widths=False):
    """float32 shapes that reach a register-blocked forward kernel: ``cout`` output channels
    per group (partial last blocks), ``ow`` output columns (a shifted last column block);
    any kernel size up to 5, stride 1-3, dilation 1-2, padding mode.  ``odd_widths`` adds
    up to s_w - 1 input columns that still give the same output width."""
    groups = draw(st.integers(1, 2))
    cin_g, cout_g = draw(st.integers(*cin)), draw(st.integers(*cout))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(MODES))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    oh, ow = draw(st.integers(1, oh_max)), draw(st.integers(*ow))
    h = max((oh - 1) * sh + eh - 2 * ph, ph + 1, 1)
    w = max((ow - 1) * sw + ew - 2 * pw, pw + 1, 1) + (draw(st.integers(0, sw - 1)) if odd_widths else 0)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-1, 1, (cin_g * groups, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (cout_g * groups, cin_g, kh, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, cout_g * groups).astype(np.float32) if draw(st.booleans()) else None
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), padding_mode=mode, groups=groups)
    ref_args = dict(stride=(sh, sw), pads=(ph, ph, pw, pw), dilation=(dh, dw), mode=mode, groups=groups)
    return x, wt, b, kwargs, ref_args


def blocked_cases():
    """The 8-lane kernel's reach: at least 4 output channels per group and 16 output columns."""
    return register_block_cases()


@settings(max_examples=40, deadline=None)
@given(blocked_cases())
def test_blocked_kernel_matches_naive(case):
    from app.kernels.blocked import fits

    x, w, b, kwargs, ref_args = case
    ref = naive.conv2d(x.astype(float), w.astype(float), b, **ref_args)
    assert fits(w.shape[0], kwargs["groups"], ref.shape[2], x.dtype)
    y = conv2d(x, w, b, **kwargs)
    npt.assert_allclose(y, ref, rtol=0, atol=atol(w.shape[1] * w.shape[2] * w.shape[3] + 1, np.float32))


@pytest.mark.parametrize(
    "c_in, size, c_out, k, stride, pad",
    [(3, (20, 70), 16, 5, 2, 2), (16, (9, 37), 32, 3, 1, 1), (3, (6, 50), 8, 3, 1, 1), (5, (7, 19), 6, 3, 1, 1)],
    ids=["W3-like", "W4-like", "W2-like", "partial-blocks"],
)
def test_blocked_kernel_workload_shapes(c_in, size, c_out, k, stride, pad):
    """W2/W3/W4-like small shapes through the blocked kernel, forward and backward
    (the stride-1 input gradient runs the blocked kernel on transposed weights)."""
    rng = np.random.default_rng(c_in * 100 + c_out)
    x = rng.uniform(-1, 1, (c_in, *size)).astype(np.float32)
    w = rng.uniform(-1, 1, (c_out, c_in, k, k)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    ref_args = dict(stride=(stride, stride), pads=(pad,) * 4, dilation=(1, 1), mode="zeros")
    y = conv2d(x, w, b, stride=stride, padding=pad)
    npt.assert_allclose(y, naive.conv2d(x, w, b, **ref_args), atol=atol(c_in * k * k + 1, np.float32))
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    bounds = (atol(c_out * k * k, np.float32), atol(y.shape[1] * y.shape[2], np.float32), atol(y.size, np.float32))
    got = conv2d_backward(x, w, gy, stride=stride, padding=pad)
    for g, r, tol in zip(got, naive.conv2d_backward(x, w, gy, **ref_args), bounds):
        npt.assert_allclose(g, r, atol=tol)


@pytest.mark.parametrize("band_rows", [1, 3])
@pytest.mark.parametrize("mode", MODES)
def test_blocked_split_bands_match_naive(monkeypatch, band_rows, mode):
    """The strided blocked path pads and phase-splits band by band: several bands
    per chunk, a partial last band, both groups, odd left padding (column phases swapped)."""
    from app.kernels import blocked

    x = np.random.default_rng(3).uniform(-1, 1, (4, 23, 41)).astype(np.float32)
    w = np.random.default_rng(4).uniform(-1, 1, (10, 2, 4, 3)).astype(np.float32)
    b = np.random.default_rng(5).uniform(-1, 1, 10).astype(np.float32)
    kwargs = dict(stride=(2, 2), padding=(2, 1), dilation=(1, 2), padding_mode=mode, groups=2)
    extra = 1  # largest tap row offset: kernel rows 0..3 at stride 2
    monkeypatch.setattr(blocked, "BAND_BYTES", 4 * 2 * 4 * 22 * (band_rows + extra))
    y = conv2d(x, w, b, **kwargs)
    ref = naive.conv2d(x, w, b, stride=(2, 2), pads=(2, 2, 1, 1), dilation=(1, 2), mode=mode, groups=2)
    assert y.shape == (10, 12, 20)
    npt.assert_allclose(y, ref, atol=atol(2 * 4 * 3 + 1, np.float32))


def wide_cases():
    """The AVX-512 row kernel's reach (``blocked._block_row16``): at least 8 output channels
    per group (a partial last block of 8) and at least 48 output columns (widths not a
    multiple of 48: a shifted last column block), odd input widths."""
    return register_block_cases(cin=(1, 2), cout=(8, 12), oh_max=3, ow=(48, 70), odd_widths=True)


@settings(max_examples=25, deadline=None)
@given(wide_cases())
def test_wide_blocked_kernel_matches_naive(case):
    """Eq. 36.3 through the 16-lane row kernel (8 channels × 48 columns) and its 16-lane band fill,
    against the slow reference; on a host without AVX-512 the same shapes take the 8-lane kernel."""
    from app.kernels import blocked
    from app.kernels.batch_blocked import HOST_AVX512

    x, w, b, kwargs, ref_args = case
    ref = naive.conv2d(x.astype(float), w.astype(float), b, **ref_args)
    assert blocked.fits_wide(w.shape[0], kwargs["groups"], ref.shape[2]) == HOST_AVX512
    y = conv2d(x, w, b, **kwargs)
    npt.assert_allclose(y, ref, rtol=0, atol=atol(w.shape[1] * w.shape[2] * w.shape[3] + 1, np.float32))


@pytest.mark.parametrize("band_rows", [1, 4])
@pytest.mark.parametrize("mode", MODES)
def test_wide_blocked_kernel_agrees_with_the_8_lane_kernel(monkeypatch, band_rows, mode):
    """W3's geometry (5×5, stride 2, padding 2) on a small map: the 16-lane path and the 8-lane path
    (``blocked.WIDE`` off, what a host without AVX-512 runs) give the same output, over several
    bands per chunk, a partial last band, two groups of 9 channels (a partial block of 8) and an
    odd input width."""
    from app.kernels import blocked

    rng = np.random.default_rng(band_rows)
    x = rng.uniform(-1, 1, (6, 23, 111)).astype(np.float32)
    w = rng.uniform(-1, 1, (18, 3, 5, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, 18).astype(np.float32)
    kwargs = dict(stride=2, padding=2, padding_mode=mode, groups=2)
    monkeypatch.setattr(blocked, "BAND_BYTES", 4 * 3 * 4 * 58 * (band_rows + 2))
    wide = conv2d(x, w, b, **kwargs)
    monkeypatch.setattr(blocked, "WIDE", False)
    narrow = conv2d(x, w, b, **kwargs)
    assert wide.shape == (18, 12, 56)
    npt.assert_allclose(wide, narrow, rtol=0, atol=atol(3 * 25 + 1, np.float32))
    ref = naive.conv2d(x, w, b, stride=(2, 2), pads=(2, 2, 2, 2), dilation=(1, 1), mode=mode, groups=2)
    npt.assert_allclose(wide, ref, rtol=0, atol=atol(3 * 25 + 1, np.float32))


@pytest.mark.parametrize("stride, groups", [((1, 1), 2), ((2, 3), 1)])
def test_blocked_kernel_from_planes_matches_naive(stride, groups):
    """run_forward on ready phase planes (the transposed convolution's backward
    path; stride 1 goes through the blocked kernel) and the blocked weight
    gradient: groups, a partial channel block, 12 taps, strides."""
    from app.kernels.conv import conv_geometry, run_forward
    from app.kernels.padding import pad_planes

    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (2 * groups, 14, 61)).astype(np.float32)
    w = rng.uniform(-1, 1, (6 * groups, 2, 3, 4)).astype(np.float32)
    b = rng.uniform(-1, 1, 6 * groups).astype(np.float32)
    g = conv_geometry(x.shape, w.shape, stride, 1, 1, "reflect", groups)
    y = np.empty((g.c_out, g.oh, g.ow), np.float32)
    run_forward(pad_planes(x, g.pads, "reflect", g.stride), w.reshape(g.c_out, 2, 12), b, g, y)
    ref_args = dict(stride=stride, pads=(1, 1, 1, 1), dilation=(1, 1), mode="reflect", groups=groups)
    npt.assert_allclose(y, naive.conv2d(x, w, b, **ref_args), atol=atol(2 * 12 + 1, np.float32))
    # The blocked weight gradient (4 channels x 3 taps per block) on the same shapes,
    # and the bias gradient it sums on the way (a partial last block in each group).
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    _, gw, gb = conv2d_backward(x, w, gy, stride=stride, padding=1, padding_mode="reflect", groups=groups)
    _, ref_gw, ref_gb = naive.conv2d_backward(x, w, gy, **ref_args)
    npt.assert_allclose(gw, ref_gw, atol=atol(y.shape[1] * y.shape[2], np.float32))
    npt.assert_allclose(gb, ref_gb, atol=atol(y.shape[1] * y.shape[2], np.float32))
    assert gb.dtype == np.float32


def ref_conv_and_grads(x, w, b, gy, pads, dilation, mode):
    """Eq. 36.3, 36.9 and 36.10 at stride 1 in float64, tap by tap over whole maps (einsum), then each
    padded cell's input gradient added onto the pixel it copies (naive.source_index)."""
    (dh, dw) = dilation
    x, w = np.asarray(x, float), np.asarray(w, float)
    xp = naive.pad(x, pads, mode)
    c_out, c_in, kh, kw = w.shape
    oh, ow = xp.shape[1] - dh * (kh - 1), xp.shape[2] - dw * (kw - 1)
    y = np.zeros((c_out, oh, ow)) + np.asarray(b, float)[:, None, None]
    gy = np.asarray(gy, float) if gy is not None else np.zeros((c_out, oh, ow))
    gw = np.zeros(w.shape)
    gxp = np.zeros(xp.shape)
    for a in range(kh):
        for bb in range(kw):
            win = xp[:, a * dh:a * dh + oh, bb * dw:bb * dw + ow]
            y += np.einsum("oc,cij->oij", w[:, :, a, bb], win)
            gw[:, :, a, bb] = np.einsum("oij,cij->oc", gy, win)
            gxp[:, a * dh:a * dh + oh, bb * dw:bb * dw + ow] += np.einsum("oc,oij->cij", w[:, :, a, bb], gy)
    gx = np.zeros(x.shape)
    for r in range(xp.shape[1]):
        for q in range(xp.shape[2]):
            sr = naive.source_index(r - pads[0], x.shape[1], mode)
            sq = naive.source_index(q - pads[2], x.shape[2], mode)
            if sr is not None and sq is not None:
                gx[:, sr, sq] += gxp[:, r, q]
    return y, gx, gw, gy.sum(axis=(1, 2))


@settings(max_examples=15, deadline=None)
@given(
    c_in=st.sampled_from([8, 13, 16, 32]),
    c_out=st.sampled_from([9, 16, 17, 32, 40]),
    k=st.sampled_from([(3, 3), (2, 4), (5, 3)]),
    dilation=st.sampled_from([1, (1, 2), (2, 1), 2]),
    mode=st.sampled_from(MODES),
    padding=st.sampled_from(["same", 1, (2, 1), "valid"]),
    extra=st.integers(0, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_many_channel_image_through_the_batch_kernels(c_in, c_out, k, dilation, mode, padding, extra, seed):
    """One float32 image with many channels (W4-like) where the AVX-512 batch kernels serve it as a batch of
    one cut into bands of rows: forward, input and weight gradients against a float64 reference."""
    from app.kernels import batch_blocked
    from app.kernels.conv import conv_geometry

    rng = np.random.default_rng(seed)
    (kh, kw), (dh, dw) = k, (dilation if isinstance(dilation, tuple) else (dilation, dilation))
    pads = pads_of(padding, kh, kw, dilation)
    h = max(min_size(dh * (kh - 1) + 1, pads[0], pads[1], mode), 9)
    w = 26 + dw * (kw - 1) + extra
    x = rng.uniform(-1, 1, (c_in, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (c_out, c_in, kh, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    kwargs = dict(padding=padding, dilation=dilation, padding_mode=mode)
    g = conv_geometry(x.shape, wt.shape, 1, padding, dilation, mode, 1)
    if batch_blocked.HOST_AVX512:
        assert batch_blocked.serves_image_forward(g, np.float32)
    y = conv2d(x, wt, b, **kwargs)
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    ry, rx, rw, rb = ref_conv_and_grads(x, wt, b, gy, pads, (dh, dw), mode)
    npt.assert_allclose(y, ry, rtol=0, atol=atol(c_in * kh * kw + 1, np.float32))
    gx, gw, gb = conv2d_backward(x, wt, gy, **kwargs)
    npt.assert_allclose(gx, rx, rtol=0, atol=atol(c_out * kh * kw * 9, np.float32))
    n_w = y.shape[1] * y.shape[2]
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(n_w, np.float32))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(n_w, np.float32))


def test_w4_float32_matches_float64():
    """W4 (16×128² → 32, 3×3, padding 1): the float32 fast paths against the float64 generic kernels."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (16, 128, 128))
    w = rng.uniform(-1, 1, (32, 16, 3, 3))
    gy = rng.uniform(-1, 1, (32, 128, 128))
    y32 = conv2d(x.astype(np.float32), w.astype(np.float32), padding=1)
    npt.assert_allclose(y32, conv2d(x, w, padding=1), rtol=0, atol=atol(16 * 9, np.float32))
    gx32, gw32, gb32 = conv2d_backward(x.astype(np.float32), w.astype(np.float32), gy.astype(np.float32), padding=1)
    gx, gw, gb = conv2d_backward(x, w, gy, padding=1)
    npt.assert_allclose(gx32, gx, rtol=0, atol=atol(32 * 9, np.float32))
    npt.assert_allclose(gw32, gw, rtol=1e-5, atol=1e-6 * 128 * 128)
    npt.assert_allclose(gb32, gb, rtol=1e-5, atol=1e-6 * 128 * 128)
