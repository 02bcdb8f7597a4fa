"""The finite-difference check of conv2d_backward (app.labs.backward.gradcheck) and the Backward
and Pooling labs' compute helpers (app.labs.backward.delta, app.labs.pool)."""
from __future__ import annotations

import numpy as np
import pytest

from app.labs.backward.gradcheck import check_cost, gradcheck, sample_pixels
from app.kernels import conv2d, conv2d_backward, flip_kernel, pool2d
from app.labs.backward.delta import feature_map, make_delta, target_map
from app.labs.pool import pool_invariance, shift

MODES = ["zeros", "reflect", "replicate", "circular"]
GEOMETRIES = [  # stride, padding, dilation
    (1, 1, 1),
    (2, 1, 1),
    (1, 2, 2),
    ((2, 1), (1, 2), (1, 2)),
    (1, "same", 1),
    (1, "valid", (2, 1)),
]


def _layer(rng, c_in=1, c_out=1, size=(12, 11), k=(3, 3)):
    x = rng.random((c_in, *size))
    w = rng.standard_normal((c_out, c_in, *k))
    return x, w


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride, padding, dilation", GEOMETRIES)
def test_gradcheck_agrees_for_every_padding_mode(rng, mode, stride, padding, dilation):
    x, w = _layer(rng)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
    y = conv2d(x, w, **geometry)
    result = gradcheck(x, w, rng.standard_normal(y.shape), **geometry, seed=3)
    assert result.loss == "linear"
    assert result.n_weights == 9 and result.n_bias == 1 and result.n_input_pixels == 32
    assert result.max_abs_diff <= 1e-6, result


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_squared_error_loss_multichannel(rng, mode):
    x, w = _layer(rng, c_in=3, c_out=2, size=(9, 10), k=(3, 2))
    b = rng.standard_normal(2)
    y = conv2d(x, w, b, stride=(1, 2), padding=1, padding_mode=mode)
    target = rng.standard_normal(y.shape)
    result = gradcheck(x, w, bias=b, target=target, stride=(1, 2), padding=1, padding_mode=mode, n_input_samples=500)
    assert result.loss == "squared"
    assert result.n_weights == 2 * 3 * 3 * 2 and result.n_bias == 2
    assert result.n_input_pixels == x.size  # asked for more than there are: all of them
    assert result.max_abs_diff <= 1e-6, result


def test_gradcheck_catches_unflipped_input_gradient(rng):
    """The classic mistake: correlate δ with K instead of the flipped kernel."""
    x, w = _layer(rng, size=(10, 10))

    def wrong(x, w, gy, **geometry):
        gx, gw, gb = conv2d_backward(x, flip_kernel(w), gy, **geometry)
        return gx, gw, gb

    y = conv2d(x, w, padding=1)
    delta = rng.standard_normal(y.shape)
    good = gradcheck(x, w, delta, padding=1)
    bad = gradcheck(x, w, delta, padding=1, backward=wrong, n_input_samples=100)
    assert good.max_abs_diff < 1e-6
    assert bad.max_abs_diff_weight < 1e-6  # the weight gradient is still right …
    assert bad.max_abs_diff_input > 1e-2  # … and the check points at the input gradient


def test_gradcheck_catches_transposed_weight_gradient(rng):
    x, w = _layer(rng, size=(8, 8))

    def wrong(x, w, gy, **geometry):
        gx, gw, gb = conv2d_backward(x, w, gy, **geometry)
        return gx, np.swapaxes(gw, 2, 3), gb

    y = conv2d(x, w)
    result = gradcheck(x, w, rng.standard_normal(y.shape), backward=wrong)
    assert result.max_abs_diff_weight > 1e-2
    assert result.max_abs_diff == result.max_abs_diff_weight


def test_gradcheck_matches_the_chapter_on_its_example(rng):
    """8×8 input, 3×3 kernel, random δ, h = 1e-6: the chapter reports ~1e-9."""
    x = rng.standard_normal((1, 8, 8))
    w = rng.standard_normal((1, 1, 3, 3))
    y = conv2d(x, w)
    result = gradcheck(x, w, rng.standard_normal(y.shape), step=1e-6)
    assert result.step == 1e-6
    assert 0 <= result.max_abs_diff < 1e-7


def test_gradcheck_default_sizes_count_their_evaluations(rng):
    # How long this takes (well under a second) is measured by bench/gradcheck.py.
    x = rng.random((1, 16, 16))  # the chapter's square
    w = rng.standard_normal((1, 1, 3, 3))
    y = conv2d(x, w, padding=1)
    result = gradcheck(x, w, np.ones(y.shape), padding=1, padding_mode="reflect")
    assert result.evaluations == 1 + 2 * (9 + 1 + 32)


def test_gradcheck_refuses_bad_arguments(rng):
    x, w = _layer(rng)
    y = conv2d(x, w)
    with pytest.raises(ValueError, match="step"):
        gradcheck(x, w, np.ones(y.shape), step=0.0)
    with pytest.raises(ValueError, match="grad_output has shape"):
        gradcheck(x, w, np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="target"):
        gradcheck(x, w)


def test_sample_pixels_seeded_distinct_in_range():
    a = sample_pixels((3, 7, 5), 20, seed=4)
    b = sample_pixels((3, 7, 5), 20, seed=4)
    assert np.array_equal(a, b)
    assert len({tuple(p) for p in a}) == 20
    assert (a >= 0).all() and (a < np.array([3, 7, 5])).all()
    assert not np.array_equal(a, sample_pixels((3, 7, 5), 20, seed=5))


def test_sample_pixels_prefers_where_the_gradient_lives():
    mask = np.zeros((1, 16, 16), dtype=bool)
    mask[0, 4:7, 5:8] = True  # a one-hot δ's stamp
    picks = sample_pixels(mask.shape, 32, seed=1, prefer=mask)
    hot = [tuple(p) for p in picks if mask[tuple(p)]]
    assert len(hot) == 9 and len({tuple(p) for p in picks}) == 32  # all 9 stamp pixels, 23 others
    assert len(sample_pixels(mask.shape, 6, seed=1, prefer=mask)) == 6
    everything = sample_pixels((1, 3, 3), 20, seed=1, prefer=np.ones((1, 3, 3), bool))
    assert len(everything) == 9


def test_gradcheck_checks_a_one_hot_stamp(rng):
    x, w = _layer(rng, size=(16, 16))
    y = conv2d(x, w, padding=1)
    delta = np.zeros(y.shape)
    delta[0, 5, 6] = 1.0

    def wrong(x, w, gy, **geometry):  # right except on the stamp's corner pixel
        gx, gw, gb = conv2d_backward(x, w, gy, **geometry)
        gx[0, 4, 5] += 0.5
        return gx, gw, gb

    assert gradcheck(x, w, delta, padding=1).max_abs_diff < 1e-6
    assert gradcheck(x, w, delta, padding=1, backward=wrong).max_abs_diff_input == pytest.approx(0.5, abs=1e-6)


def test_check_cost_counts_two_forwards_per_number():
    # 9 weights + 1 bias + 4 pixels, each twice, times a 14×14 output of 9 taps
    assert check_cost((1, 16, 16), (1, 1, 3, 3), (1, 14, 14), 4) == 2 * 14 * 14 * 14 * 9


# --- app.labs.backward.delta, app.labs.pool ----------------------------------------------------------------


def test_make_delta_kinds():
    shape = (1, 3, 4)
    assert (make_delta("ones", shape) == 1).all()
    d = make_delta("one_hot", shape, index=[0, 2, 1])
    assert d.sum() == 1 and d[0, 2, 1] == 1
    assert np.array_equal(make_delta("random", shape, seed=2), make_delta("random", shape, seed=2))
    y, t = np.full(shape, 3.0), np.ones(shape)
    assert (make_delta("squared_error", shape, output=y, target=t) == 2).all()
    with pytest.raises(ValueError, match=r"delta.index: \[0, 3, 0\] is outside the output"):
        make_delta("one_hot", shape, index=[0, 3, 0])
    with pytest.raises(ValueError, match="delta.kind"):
        make_delta("zeros", shape)


def test_target_map_follows_the_layer_geometry(rng):
    x = rng.random((3, 10, 9))
    # stride 2, no padding: ⌊(10 − 3)/2⌋ + 1 = 4 rows, ⌊(9 − 3)/2⌋ + 1 = 4 columns
    t = target_map(x, (2, 4, 4), "sobel_x", stride=2, padding=0)
    assert t.shape == (2, 4, 4)
    assert np.array_equal(t[0], t[1])
    assert np.allclose(t[0], conv2d(x, np.broadcast_to([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], (1, 3, 3, 3)), stride=2)[0])
    assert (target_map(x, (2, 4, 4), "zero") == 0).all()
    with pytest.raises(ValueError, match="delta.target"):
        target_map(x, (1, 8, 7), "sobel_x", padding=1)  # a 5×5 layer's output cannot take a 3×3 target


def test_feature_map_sources(rng):
    x = np.zeros((1, 6, 6))
    x[:, :, 3:] = 1.0  # a vertical edge
    assert feature_map(x, "image") is x
    gx = feature_map(x, "sobel_x")
    assert gx.shape == x.shape and gx[0, 2, 2] == 4 and gx[0, 2, 0] == 0
    assert (feature_map(x, "sobel_y") == 0).all()
    assert np.allclose(feature_map(x, "sobel_mag"), np.abs(gx))
    with pytest.raises(ValueError, match="source"):
        feature_map(x, "blur")


def test_shift_moves_content_and_repeats_the_edge():
    x = np.arange(12.0).reshape(1, 3, 4)
    s = shift(x, 0, 1)
    assert np.array_equal(s[0, :, 1:], x[0, :, :3])
    assert np.array_equal(s[0, :, 0], x[0, :, 0])
    assert np.array_equal(shift(x, 1, 0)[0, 1:], x[0, :2])


def test_pool_invariance_counts_unchanged_outputs():
    # A bright pixel at (1, 0) moved to (1, 1) stays in 2×2 window (0, 0); one at (1, 1)
    # moved to (1, 2) crosses into window (0, 1).
    x = np.zeros((1, 4, 4))
    x[0, 1, 0] = 1.0
    r = pool_invariance(x, "max", 2, axis="x")
    assert r["shifts"] == [0, 1]
    assert r["unchanged"] == [1.0, 1.0]  # the pixel stays inside window (0, 0)
    assert r["pooled"].shape == (2, 1, 2, 2) and r["changed"].sum() == 0
    x2 = np.zeros((1, 4, 4))
    x2[0, 1, 1] = 1.0
    r2 = pool_invariance(x2, "max", 2, axis="x")
    assert r2["unchanged"][1] == 0.5  # it crosses into window (0, 1): two of four outputs change
    assert r2["changed"][1, 0].tolist() == [[1, 1], [0, 0]]
    assert r2["pixels_unchanged"][1] == 14 / 16
    y, _ = pool2d(shift(x2, 0, 1), "max", 2)
    assert np.array_equal(r2["pooled"][1], y)


def _naive_weight_gradient(x, delta, kh, kw):
    """Eq. 36.9 by plain loops: ∂L/∂K[a, b] = Σ_ij x[i + a, j + b] · δ[i, j] (one channel, valid, stride 1)."""
    out = np.zeros((kh, kw))
    for a in range(kh):
        for b in range(kw):
            for i in range(delta.shape[0]):
                for j in range(delta.shape[1]):
                    out[a, b] += x[i + a, j + b] * delta[i, j]
    return out


def test_gradcheck_reports_the_compared_numbers_side_by_side_on_the_chapters_setup(rng):
    # The chapter's check: 8×8 standard-normal x, 3×3 standard-normal K, no padding, random δ, h = 1e-6.
    x = rng.standard_normal((1, 8, 8))
    w = rng.standard_normal((1, 1, 3, 3))
    delta = rng.standard_normal((1, 6, 6))
    result = gradcheck(x, w, delta, padding=0, step=1e-6, seed=7)
    analytic = np.array(result.weight_analytic).reshape(3, 3)
    numeric = np.array(result.weight_numeric).reshape(3, 3)
    np.testing.assert_allclose(analytic, _naive_weight_gradient(x[0], delta[0], 3, 3), rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(analytic - numeric)) == result.max_abs_diff_weight
    assert result.max_abs_diff_weight < 1e-7  # the chapter reports 1.48e-09 for its own random numbers
    assert result.bias_analytic == pytest.approx([float(delta.sum())])
    assert len(result.input_analytic) == len(result.input_numeric) == result.n_input_pixels
    diffs = np.abs(np.array(result.input_analytic) - np.array(result.input_numeric))
    assert float(diffs.max()) == result.max_abs_diff_input
