"""conv2d_batch / pool2d_batch and their backward passes.

Three independent checks: a slow reference written from the equations (padding
cell by cell with ``naive.source_index``, then eq. 36.3 / 36.9 / 36.10 one tap at
a time, summed over the batch), the per-image kernels (``conv2d``, ``pool2d``),
and float64 central finite differences.  Tolerances as in test_kernels_conv.py:
``2·n·(n + 1)·eps`` for a sum of n terms of magnitude ≤ 1.  The chapter model's
own shapes (batch 128, float32) run through the fast paths and are compared with
the per-image kernels.
"""
import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from naive import atol, draw_padding, min_size, pads_of
from app.kernels import (
    conv2d,
    conv2d_backward,
    conv2d_batch,
    conv2d_batch_backward,
    pool2d,
    pool2d_backward,
    pool2d_batch,
    pool2d_batch_backward,
)

MODES = ["zeros", "reflect", "replicate", "circular"]
HYP = settings(max_examples=50, deadline=None)





# --------------------------------------------------------------------------- slow references


def ref_pad(x, pads, mode):
    """(N, C, H, W) padded cell by cell (tests/naive.py's per-image pad)."""
    return np.stack([naive.pad(xn, pads, mode) for xn in x])


def ref_conv_batch(x, w, b, stride, pads, dilation, mode):
    """Eq. 36.3 tap by tap: y[n,o,i,j] = b[o] + Σ_{c,a,b'} w[o,c,a,b'] · xp[n, c, i·s_h + a·d_h, j·s_w + b'·d_w]."""
    (sh, sw), (dh, dw) = stride, dilation
    xp = ref_pad(np.asarray(x, float), pads, mode)
    c_out, c_in, kh, kw = w.shape
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], c_out, oh, ow))
    for a in range(kh):
        for bb in range(kw):
            win = xp[:, :, a * dh:a * dh + (oh - 1) * sh + 1:sh, bb * dw:bb * dw + (ow - 1) * sw + 1:sw]
            y += np.einsum("oc,ncij->noij", w[:, :, a, bb], win)
    if b is not None:
        y += np.asarray(b, float)[None, :, None, None]
    return y


def ref_conv_batch_backward(x, w, gy, stride, pads, dilation, mode):
    """Chain rule on eq. 36.3, tap by tap, then each padded cell's gradient added onto the pixel it copies."""
    (sh, sw), (dh, dw) = stride, dilation
    x, w, gy = np.asarray(x, float), np.asarray(w, float), np.asarray(gy, float)
    xp = ref_pad(x, pads, mode)
    n_img, c_in, h, wd = x.shape
    _, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    gw = np.zeros(w.shape)
    gxp = np.zeros(xp.shape)
    for a in range(kh):
        for bb in range(kw):
            rows = slice(a * dh, a * dh + (oh - 1) * sh + 1, sh)
            cols = slice(bb * dw, bb * dw + (ow - 1) * sw + 1, sw)
            gw[:, :, a, bb] = np.einsum("noij,ncij->oc", gy, xp[:, :, rows, cols])
            gxp[:, :, rows, cols] += np.einsum("oc,noij->ncij", w[:, :, a, bb], gy)
    gx = np.zeros(x.shape)
    top, _, left, _ = pads
    for r in range(xp.shape[2]):
        for q in range(xp.shape[3]):
            sr, sq = naive.source_index(r - top, h, mode), naive.source_index(q - left, wd, mode)
            if sr is not None and sq is not None:
                gx[:, :, sr, sq] += gxp[:, :, r, q]
    return gx, gw, gy.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------- random shapes


@st.composite
def batch_cases(draw):
    n_img = draw(st.integers(1, 3))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 3, 4, 5, 8]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(MODES))
    padding, pads = draw_padding(draw, st, kh, kw, (sh, sw), (dh, dw), max_pad=2)
    h0 = min_size(dh * (kh - 1) + 1, pads[0], pads[1], mode)
    w0 = min_size(dw * (kw - 1) + 1, pads[2], pads[3], mode)
    # Widths up to 20 reach the kernels for rows of 16 and more columns.
    h, w = draw(st.integers(h0, h0 + 8)), draw(st.integers(w0, w0 + 18))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(-1, 1, (n_img, c_in, h, w)).astype(dtype)
    wt = rng.uniform(-1, 1, (c_out, c_in, kh, kw)).astype(dtype)
    b = rng.uniform(-1, 1, c_out).astype(dtype) if draw(st.booleans()) else None
    kwargs = dict(stride=(sh, sw), padding=padding, dilation=(dh, dw), padding_mode=mode)
    ref_args = dict(stride=(sh, sw), pads=pads, dilation=(dh, dw), mode=mode)
    return x, wt, b, kwargs, ref_args, rng


@HYP
@given(batch_cases())
def test_conv2d_batch_matches_reference_and_per_image_kernel(case):
    x, w, b, kwargs, ref_args, _ = case
    y = conv2d_batch(x, w, b, **kwargs)
    ref = ref_conv_batch(x, w, b, **ref_args)
    assert y.dtype == x.dtype and y.shape == ref.shape
    n = w.shape[1] * w.shape[2] * w.shape[3] + 1
    npt.assert_allclose(y, ref, rtol=0, atol=atol(n, x.dtype))
    for xn, yn in zip(x, y):
        npt.assert_allclose(yn, conv2d(xn, w, b, **kwargs), rtol=0, atol=atol(n, x.dtype))


@HYP
@given(batch_cases(), st.booleans())
def test_conv2d_batch_backward_matches_reference_and_per_image_kernel(case, input_grad):
    x, w, _, kwargs, ref_args, rng = case
    y_shape = conv2d_batch(x, w, **kwargs).shape
    gy = rng.uniform(-1, 1, y_shape).astype(x.dtype)
    gx, gw, gb = conv2d_batch_backward(x, w, gy, input_grad=input_grad, **kwargs)
    rx, rw, rb = ref_conv_batch_backward(x, w, gy, **ref_args)
    assert gw.dtype == gb.dtype == x.dtype and gw.shape == w.shape and gb.shape == (w.shape[0],)
    n_x = w.shape[0] * w.shape[2] * w.shape[3] * 9  # × up to 3×3 padded copies of a pixel
    n_w = x.shape[0] * y_shape[2] * y_shape[3]
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(n_w, x.dtype))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(n_w, x.dtype))
    if input_grad:
        assert gx.dtype == x.dtype and gx.shape == x.shape
        npt.assert_allclose(gx, rx, rtol=0, atol=atol(n_x, x.dtype))
    else:
        assert gx is None
    per_image = [conv2d_backward(xn, w, gyn, **kwargs) for xn, gyn in zip(x, gy)]
    npt.assert_allclose(gw, sum(p[1] for p in per_image), rtol=0, atol=atol(n_w, x.dtype))
    if input_grad:
        npt.assert_allclose(gx, np.stack([p[0] for p in per_image]), rtol=0, atol=atol(n_x, x.dtype))
    gx_only, no_w, no_b = conv2d_batch_backward(x, w, gy, weight_grad=False, **kwargs)
    assert no_w is None and no_b is None
    npt.assert_allclose(gx_only, rx, rtol=0, atol=atol(n_x, x.dtype))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "geom",
    [dict(stride=1, padding="same", dilation=1), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))],
    ids=["same", "strided-dilated"],
)
def test_conv2d_batch_backward_finite_differences(mode, geom):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 2, 6, 7))
    w = rng.normal(size=(4, 2, 3, 2))
    b = rng.normal(size=4)
    gy = rng.normal(size=conv2d_batch(x, w, b, padding_mode=mode, **geom).shape)

    def loss():
        return float(np.sum(gy * conv2d_batch(x, w, b, padding_mode=mode, **geom)))

    gx, gw, gb = conv2d_batch_backward(x, w, gy, padding_mode=mode, **geom)
    assert np.max(np.abs(gx - naive.numeric_grad(loss, x))) <= 1e-6
    assert np.max(np.abs(gw - naive.numeric_grad(loss, w))) <= 1e-6
    assert np.max(np.abs(gb - naive.numeric_grad(loss, b))) <= 1e-6


# --------------------------------------------------------------------------- the chapter model's shapes


CHAPTER_CONVS = [((128, 1, 28, 28), (32, 1, 3, 3)), ((128, 32, 14, 14), (64, 32, 3, 3))]


@pytest.mark.parametrize("x_shape, w_shape", CHAPTER_CONVS, ids=["1to32at28", "32to64at14"])
def test_chapter_shapes_match_per_image_kernels(x_shape, w_shape):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    b = rng.uniform(-1, 1, w_shape[0]).astype(np.float32)
    y = conv2d_batch(x, w, b, padding="same")
    n = w[0].size + 1
    picks = [0, 1, 63, 127]
    for k in picks:
        npt.assert_allclose(y[k], conv2d(x[k], w, b, padding="same"), rtol=0, atol=atol(n, np.float32))
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    gx, gw, gb = conv2d_batch_backward(x, w, gy, padding="same")
    # The batch sums of gw/gb are checked in float64 against all images.
    rw = np.zeros(w.shape)
    for xn, gyn in zip(x.astype(float), gy.astype(float)):
        rw += conv2d_backward(xn, w.astype(float), gyn, padding="same")[1]
    n_w = x.shape[0] * x.shape[2] * x.shape[3]
    npt.assert_allclose(gw, rw, rtol=1e-4, atol=1e-6 * n_w)
    npt.assert_allclose(gb, gy.astype(float).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-6 * n_w)
    for k in picks:
        npt.assert_allclose(gx[k], conv2d_backward(x[k], w, gy[k], padding="same")[0], rtol=0,
                            atol=atol(w.shape[0] * 9, np.float32))
    none, gw2, gb2 = conv2d_batch_backward(x, w, gy, padding="same", input_grad=False)
    assert none is None
    npt.assert_allclose(gw2, gw, rtol=1e-5, atol=1e-5)
    npt.assert_allclose(gb2, gb, rtol=1e-5, atol=1e-5)
    gx3, none_w, none_b = conv2d_batch_backward(x, w, gy, padding="same", weight_grad=False)
    assert none_w is None and none_b is None
    npt.assert_array_equal(gx3, gx)


@pytest.mark.parametrize("shape", [(128, 32, 28, 28), (128, 64, 14, 14), (3, 5, 7, 9)])
def test_chapter_max_pool_matches_per_image_kernel(shape):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float32)
    y, arg = pool2d_batch(x, "max", 2)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = pool2d_batch_backward(x, gy, "max", 2, argmax=arg)
    npt.assert_array_equal(gx, pool2d_batch_backward(x, gy, "max", 2))
    for k in (0, shape[0] - 1):
        ry, rarg = pool2d(x[k], "max", 2)
        npt.assert_array_equal(y[k], ry)
        npt.assert_array_equal(arg[k], rarg)
        npt.assert_array_equal(gx[k], pool2d_backward(x[k], gy[k], "max", 2))


# --------------------------------------------------------------------------- pooling


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 12))
    w = draw(st.integers(max(1, kw - 2 * pw), 20))
    n_img, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.uniform(-1, 1, (n_img, c, h, w))
    else:  # few distinct values: ties go to the first maximum
        x = rng.integers(-2, 3, (n_img, c, h, w)).astype(float)
    args = dict(kind=kind, kernel_size=(kh, kw), stride=stride, padding=(ph, pw))
    ref = ((kh, kw), stride or (kh, kw), (ph, pw))
    return x.astype(dtype), args, ref, rng


@HYP
@given(pool_cases())
def test_pool2d_batch_and_backward_match_reference(case):
    x, args, ref, rng = case
    y, arg = pool2d_batch(x, **args)
    gy = rng.uniform(-1, 1, y.shape).astype(x.dtype)
    n = ref[0][0] * ref[0][1]
    for k in range(x.shape[0]):
        ry, rarg = naive.pool2d(x[k].astype(float), args["kind"], *ref)
        rgx = naive.pool2d_backward(x[k].astype(float), gy[k].astype(float), args["kind"], *ref)
        if args["kind"] == "max":
            npt.assert_array_equal(y[k], ry)
            npt.assert_array_equal(arg[k], rarg)
        else:
            assert arg is None
            npt.assert_allclose(y[k], ry, rtol=0, atol=atol(n, x.dtype))
        for given_arg in (None, arg):
            gx = pool2d_batch_backward(x, gy, argmax=given_arg, **args)
            assert gx.dtype == x.dtype and gx.shape == x.shape
            npt.assert_allclose(gx[k], rgx, rtol=0, atol=atol(4 * n, x.dtype))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_batch_backward_finite_differences(kind):
    rng = np.random.default_rng(2)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.01 + rng.uniform(0, 1e-3, (2, 3, 7, 6))
    geom = dict(kernel_size=3, stride=2, padding=1)
    gy = rng.normal(size=pool2d_batch(x, kind, **geom)[0].shape)
    gx = pool2d_batch_backward(x, gy, kind, **geom)
    num = naive.numeric_grad(lambda: float(np.sum(gy * pool2d_batch(x, kind, **geom)[0])), x)
    assert np.max(np.abs(gx - num)) <= 1e-6


# --------------------------------------------------------------------------- argument checks


XB = np.zeros((2, 2, 10, 10))
WB = np.zeros((3, 2, 3, 3))
BAD_BATCH_CONV = [
    (dict(x=np.zeros((2, 10, 10))), "x is 3-dimensional"),
    (dict(x=np.zeros((0, 2, 10, 10))), "x is empty"),
    (dict(weight=np.zeros((3, 3, 3))), "weight is 3-dimensional"),
    (dict(weight=np.zeros((3, 1, 3, 3))), "weight expects 1 input channels but x has 2"),
    (dict(bias=np.zeros(2)), r"bias has shape \(2,\); expected \(3,\)"),
    (dict(stride=0), "stride must be at least 1, got 0"),
    (dict(dilation=(1, 0)), "dilation must be at least 1"),
    (dict(padding=-1), "padding must be at least 0, got -1"),
    (dict(padding="same", stride=2), r'padding="same" needs stride 1'),
    (dict(weight=np.zeros((3, 2, 11, 3))), "kernel 11×3 is larger than the padded input 10×10"),
    (dict(padding_mode="mirror", padding=1), "padding_mode must be one of"),
]


@pytest.mark.parametrize("bad, message", BAD_BATCH_CONV, ids=[m[:30] for _, m in BAD_BATCH_CONV])
def test_conv2d_batch_rejects_bad_arguments(bad, message):
    args = dict(x=XB, weight=WB, bias=None)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        conv2d_batch(**args)
    grad_bad = {k: v for k, v in bad.items() if k != "bias"}
    if grad_bad:
        args = dict(x=XB, weight=WB, grad_output=np.zeros((2, 3, 8, 8)))
        args.update(grad_bad)
        with pytest.raises(ValueError, match=message):
            conv2d_batch_backward(**args)


def test_conv2d_batch_backward_rejects_wrong_grad_output_shape():
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 3, 9, 9\); the output of this conv2d_batch is "
                                         r"\(2, 3, 8, 8\)"):
        conv2d_batch_backward(XB, WB, np.zeros((2, 3, 9, 9)))


def test_pool2d_batch_rejects_bad_arguments():
    with pytest.raises(ValueError, match="x is 3-dimensional"):
        pool2d_batch(np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match='kind must be "max" or "avg"'):
        pool2d_batch(XB, "median")
    with pytest.raises(ValueError, match="pool window 11×2 is larger than the padded input 10×10"):
        pool2d_batch(XB, "max", (11, 2))
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 2, 4, 4\); the output of this pool2d_batch is"):
        pool2d_batch_backward(XB, np.zeros((2, 2, 4, 4)))


def test_pool2d_batch_backward_rejects_a_foreign_argmax():
    x = np.random.default_rng(0).standard_normal((2, 2, 10, 10))
    y, arg = pool2d_batch(x)
    with pytest.raises(ValueError, match=r"argmax has shape \(2, 2, 5\); expected \(2, 2, 5, 5\)"):
        pool2d_batch_backward(x, y, argmax=arg[..., 0])
    with pytest.raises(ValueError, match="argmax has dtype float64"):
        pool2d_batch_backward(x, y, argmax=arg.astype(float))
    bad = arg.copy()
    bad[1, 1, 2, 3] = 100
    with pytest.raises(ValueError, match=r"argmax holds 1 indices outside 0..99"):
        pool2d_batch_backward(x, y, argmax=bad)
    bad[1, 1, 2, 3] = -1
    with pytest.raises(ValueError, match=r"argmax holds 1 indices outside"):
        pool2d_batch_backward(x, y, argmax=bad)


@settings(max_examples=12, deadline=None)
@given(
    c_in=st.integers(8, 20),
    c_out=st.sampled_from([1, 5, 32, 33, 40]),
    k=st.sampled_from([(3, 3), (3, 5), (2, 4), (5, 3)]),
    dilation=st.sampled_from([1, (1, 2), 2]),
    mode=st.sampled_from(MODES),
    padding=st.sampled_from(["same", "valid", 1, (2, 1)]),
    w_extra=st.integers(0, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_many_channel_kernels_match_reference(c_in, c_out, k, dilation, mode, padding, w_extra, seed):
    """Forward and both gradients where C_in·kh·kw ≥ 64 and rows ≥ 14 wide (the channel-vector kernel)."""
    rng = np.random.default_rng(seed)
    (kh, kw), (dh, dw) = k, (dilation if isinstance(dilation, tuple) else (dilation, dilation))
    pads = pads_of(padding, kh, kw, dilation)
    h = max(dh * (kh - 1) + 1, 6)
    w = 14 + dw * (kw - 1) + w_extra
    x = rng.uniform(-1, 1, (2, c_in, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (c_out, c_in, kh, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    kwargs = dict(padding=padding, dilation=dilation, padding_mode=mode)
    ref_args = dict(stride=(1, 1), pads=pads, dilation=(dh, dw), mode=mode)
    y = conv2d_batch(x, wt, b, **kwargs)
    n = c_in * kh * kw + 1
    npt.assert_allclose(y, ref_conv_batch(x, wt, b, **ref_args), rtol=0, atol=atol(n, np.float32))
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    gx, gw, gb = conv2d_batch_backward(x, wt, gy, **kwargs)
    rx, rw, rb = ref_conv_batch_backward(x, wt, gy, **ref_args)
    npt.assert_allclose(gx, rx, rtol=0, atol=atol(c_out * kh * kw * 9, np.float32))
    n_w = 2 * y.shape[2] * y.shape[3]
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(n_w, np.float32))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(n_w, np.float32))


@settings(max_examples=12, deadline=None)
@given(
    c_in=st.sampled_from([9, 13, 16, 17, 24, 29, 32, 40, 61, 64]),
    c_out=st.sampled_from([1, 3, 4, 7, 64]),
    k=st.sampled_from([(3, 3), (1, 1), (2, 4), (5, 3)]),
    dilation=st.sampled_from([1, (1, 2), 2]),
    mode=st.sampled_from(MODES),
    padding=st.sampled_from(["same", "valid", 1, (2, 1)]),
    n_img=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_channel_lane_weight_gradient_matches_reference(c_in, c_out, k, dilation, mode, padding, n_img, seed):
    """The weight gradient with input channels in the vector lanes (16- and 32-lane blocks more than half
    filled), every padding mode, kernel size and dilation, blocks of output channels and taps with a
    remainder, and single images split into bands of rows."""
    from app.kernels import batch_blocked

    rng = np.random.default_rng(seed)
    (kh, kw), (dh, dw) = k, (dilation if isinstance(dilation, tuple) else (dilation, dilation))
    pads = pads_of(padding, kh, kw, dilation)
    h = max(dh * (kh - 1) + 1, min_size(dh * (kh - 1) + 1, pads[0], pads[1], mode), 5)
    w = max(dw * (kw - 1) + 1, min_size(dw * (kw - 1) + 1, pads[2], pads[3], mode), 7)
    if batch_blocked.HOST_AVX512:
        assert batch_blocked._channel_lanes(c_in, (h + pads[0] + pads[1]) * (w + pads[2] + pads[3]))
    x = rng.uniform(-1, 1, (n_img, c_in, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (c_out, c_in, kh, kw)).astype(np.float32)
    kwargs = dict(padding=padding, dilation=dilation, padding_mode=mode)
    ref_args = dict(stride=(1, 1), pads=pads, dilation=(dh, dw), mode=mode)
    y = conv2d_batch(x, wt, None, **kwargs)
    gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    none, gw, gb = conv2d_batch_backward(x, wt, gy, input_grad=False, **kwargs)
    _, rw, rb = ref_conv_batch_backward(x, wt, gy, **ref_args)
    assert none is None
    n_w = n_img * y.shape[2] * y.shape[3]
    npt.assert_allclose(gw, rw, rtol=0, atol=atol(n_w, np.float32))
    npt.assert_allclose(gb, rb, rtol=0, atol=atol(n_w, np.float32))


def test_without_avx512_the_per_image_kernels_serve(monkeypatch):
    """On a CPU without AVX-512 the batched API and many-channel single images take the per-image
    (8-lane) kernels; the results are the same."""
    from app.kernels import batch_blocked

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 16, 6, 30)).astype(np.float32)
    w = rng.uniform(-1, 1, (12, 16, 3, 3)).astype(np.float32)
    b = rng.uniform(-1, 1, 12).astype(np.float32)
    gy = rng.uniform(-1, 1, (2, 12, 6, 30)).astype(np.float32)
    fast = conv2d_batch(x, w, b, padding="same"), conv2d_batch_backward(x, w, gy, padding="same")
    one = conv2d(x[0], w, b, padding="same"), conv2d_backward(x[0], w, gy[0], padding="same")
    monkeypatch.setattr(batch_blocked, "HOST_AVX512", False)
    slow = conv2d_batch(x, w, b, padding="same"), conv2d_batch_backward(x, w, gy, padding="same")
    one_slow = conv2d(x[0], w, b, padding="same"), conv2d_backward(x[0], w, gy[0], padding="same")
    ry = ref_conv_batch(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1), "zeros")
    rx, rw, rb = ref_conv_batch_backward(x, w, gy, (1, 1), (1, 1, 1, 1), (1, 1), "zeros")
    for y, (gx, gw, gb) in (fast, slow):
        npt.assert_allclose(y, ry, rtol=0, atol=atol(16 * 9 + 1, np.float32))
        npt.assert_allclose(gx, rx, rtol=0, atol=atol(12 * 9 * 9, np.float32))
        npt.assert_allclose(gw, rw, rtol=0, atol=atol(2 * 6 * 30, np.float32))
        npt.assert_allclose(gb, rb, rtol=0, atol=atol(2 * 6 * 30, np.float32))
    rx1, rw1, rb1 = ref_conv_batch_backward(x[:1], w, gy[:1], (1, 1), (1, 1, 1, 1), (1, 1), "zeros")
    for y, (gx, gw, gb) in (one, one_slow):
        npt.assert_allclose(y, ry[0], rtol=0, atol=atol(16 * 9 + 1, np.float32))
        npt.assert_allclose(gx, rx1[0], rtol=0, atol=atol(12 * 9 * 9, np.float32))
        npt.assert_allclose(gw, rw1, rtol=0, atol=atol(6 * 30, np.float32))
        npt.assert_allclose(gb, rb1, rtol=0, atol=atol(6 * 30, np.float32))


@settings(max_examples=15, deadline=None)
@given(
    c_in=st.sampled_from([17, 24, 33, 40, 64]),
    c_out=st.sampled_from([17, 32, 33, 40]),
    k=st.sampled_from([(3, 3), (3, 3), (5, 3), (2, 4)]),
    dilation=st.sampled_from([1, (2, 1), 2]),
    mode=st.sampled_from(MODES),
    padding=st.sampled_from(["same", "same", "valid", (3, 1), (2, 0)]),
    n_img=st.integers(1, 5),
    h_extra=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_chunked_channel_vector_kernel_matches_reference(c_in, c_out, k, dilation, mode, padding, n_img, h_extra,
                                                        seed):
    """The 32-channel forward kernel as it serves the chapter's C2 layer and its input gradient (eq. 36.3;
    eq. 36.10 is the same kernel on δ with the transposed, flipped weights): input channels summed in
    chunks with partial sums kept between them, border rows skipping the kernel rows that read only zero
    padding (padding wider than the kernel's reach leaves rows that see no data at all), single images
    cut into bands of rows."""
    from app.kernels import batch_blocked

    if mode != "zeros" and padding == (3, 1):
        padding = (2, 1)
    rng = np.random.default_rng(seed)
    (kh, kw), (dh, dw) = k, (dilation if isinstance(dilation, tuple) else (dilation, dilation))
    pads = pads_of(padding, kh, kw, dilation)
    h = max(dh * (kh - 1) + 1, min_size(dh * (kh - 1) + 1, pads[0], pads[1], mode), 3) + h_extra
    w = 14 + dw * (kw - 1) - pads[2] - pads[3]
    w = max(w, min_size(dw * (kw - 1) + 1, pads[2], pads[3], mode))
    calls = []
    real = batch_blocked._conv_forward_batch_cv

    def spy(*args):
        calls.append((args[2], args[-2]))  # (C_in, c_split)
        return real(*args)

    x = rng.uniform(-1, 1, (n_img, c_in, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (c_out, c_in, kh, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, c_out).astype(np.float32)
    kwargs = dict(padding=padding, dilation=dilation, padding_mode=mode)
    ref_args = dict(stride=(1, 1), pads=pads, dilation=(dh, dw), mode=mode)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch_blocked, "_conv_forward_batch_cv", spy)
        y = conv2d_batch(x, wt, b, **kwargs)
        gy = rng.uniform(-1, 1, y.shape).astype(np.float32)
        gx, _, _ = conv2d_batch_backward(x, wt, gy, weight_grad=False, **kwargs)
    npt.assert_allclose(y, ref_conv_batch(x, wt, b, **ref_args), rtol=0, atol=atol(c_in * kh * kw + 1, np.float32))
    rx, _, _ = ref_conv_batch_backward(x, wt, gy, **ref_args)
    npt.assert_allclose(gx, rx, rtol=0, atol=atol(c_out * kh * kw * 9, np.float32))
    if batch_blocked.HOST_AVX512 and y.shape[3] == 14:
        # 14-wide rows: the forward takes this kernel, its channels in chunks of CV_SPLIT_TAPS taps' worth
        # where a block's packed weights would not fit in L1.
        chunked = c_in * kh * kw * 32 * 4 > batch_blocked.CV_L1_WEIGHT_BYTES
        assert calls[0] == (c_in, max(1, batch_blocked.CV_SPLIT_TAPS // (kh * kw)) if chunked else c_in)


def test_live_taps_skip_only_rows_of_zero_padding():
    """Tap ranges per output row from the padded-row map: -1 marks a zero row."""
    from app.kernels.batch_blocked import _live_taps

    rowmap = np.array([-1, -1, 0, 1, 2, 3, -1, -1])  # 4 rows padded by 2 on both sides
    # 3×3, dilation 1: 6 output rows; row 0 reads padded rows 0-2 (only row 2 has data)
    npt.assert_array_equal(_live_taps(rowmap, 6, 3, 3, 1), [[6, 9], [3, 9], [0, 9], [0, 9], [0, 6], [0, 3]])
    # 2 kernel rows, dilation 3: output row 0 reads padded rows 0 and 3
    npt.assert_array_equal(_live_taps(rowmap, 5, 2, 4, 3)[:2], [[4, 8], [4, 8]])
    # a row that sees no data: 3×1 kernel at padding 4 (rows -1 on both sides)
    rowmap = np.array([-1, -1, -1, -1, 0, -1, -1, -1, -1])
    taps = _live_taps(rowmap, 7, 3, 1, 1)
    npt.assert_array_equal(taps[0], [0, 0])
    npt.assert_array_equal(taps[2], [2, 3])
    npt.assert_array_equal(taps[4], [0, 1])
