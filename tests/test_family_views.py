"""Three more views of one convolution: the convolution theorem, separable kernels, im2col + GEMM.

Every number is checked against a reference written here from the definitions: loop
cross-correlations (eq. 36.2) with explicit modulo or zero padding, explicit DFT sums,
numpy.linalg.svd reconstructions, and a loop im2col. Then the endpoints: statuses,
messages a person can act on, and the binary form.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.transport import BINARY_MEDIA_TYPE, decode_binary
from app.labs.family import fft, im2col, separable
from tests.conftest import make_client

HYP = settings(max_examples=25, deadline=None)
SOBEL_X = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
LAPLACIAN = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])


# --- references --------------------------------------------------------------------------

def naive_correlate(x, k, mode="circular"):
    """Eq. 36.2 at "same" size: y[i, j] = Σ_ab x[i + a − top, j + b − left]·k[a, b], where a pixel
    outside the image wraps around (circular) or reads 0 (zeros); top/left as PyTorch's "same"."""
    h, w = x.shape
    kh, kw = k.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    y = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    r, c = i + a - top, j + b - left
                    if mode == "circular":
                        total += x[r % h, c % w] * k[a, b]
                    elif 0 <= r < h and 0 <= c < w:
                        total += x[r, c] * k[a, b]
            y[i, j] = total
    return y


def naive_dft2(a):
    """Σ_mn a[m, n]·e^{−2πi(um/H + vn/W)} for every (u, v), as a double loop over frequencies."""
    h, w = a.shape
    m = np.arange(h)[:, None]
    n = np.arange(w)[None, :]
    out = np.zeros((h, w), dtype=complex)
    for u in range(h):
        for v in range(w):
            out[u, v] = np.sum(a * np.exp(-2j * np.pi * (u * m / h + v * n / w)))
    return out


def naive_pad(x, p, mode):
    """Pad (C, H, W) by p = (ph, pw) on each side, cell by cell, with PyTorch's meaning of ``mode``."""
    c, h, w = x.shape
    ph, pw = p
    out = np.zeros((c, h + 2 * ph, w + 2 * pw))
    for r in range(h + 2 * ph):
        for q in range(w + 2 * pw):
            i, j = r - ph, q - pw
            if mode == "zeros" and not (0 <= i < h and 0 <= j < w):
                continue
            if mode == "replicate":
                i, j = min(max(i, 0), h - 1), min(max(j, 0), w - 1)
            elif mode == "circular":
                i, j = i % h, j % w
            elif mode == "reflect":
                i = -i if i < 0 else (2 * (h - 1) - i if i >= h else i)
                j = -j if j < 0 else (2 * (w - 1) - j if j >= w else j)
            out[:, r, q] = x[:, i, j]
    return out


def naive_im2col(x, kh, kw, s, p, d, mode="zeros"):
    """One column per output pixel (row-major), rows (channel, a, b): padded[c, i·s + a·d, j·s + b·d]."""
    xp = naive_pad(x, p, mode)
    c = x.shape[0]
    oh = (xp.shape[1] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (xp.shape[2] - d[1] * (kw - 1) - 1) // s[1] + 1
    cols = np.zeros((c * kh * kw, oh * ow))
    for i in range(oh):
        for j in range(ow):
            for ch in range(c):
                for a in range(kh):
                    for b in range(kw):
                        cols[ch * kh * kw + a * kw + b, i * ow + j] = xp[ch, i * s[0] + a * d[0], j * s[1] + b * d[1]]
    return cols, (oh, ow)


def naive_conv_multi(x, w, b, s, p, d, mode="zeros"):
    """Eq. 36.3 as loops over filters, channels, taps and output pixels."""
    xp = naive_pad(x, p, mode)
    c_out, c_in, kh, kw = w.shape
    oh = (xp.shape[1] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (xp.shape[2] - d[1] * (kw - 1) - 1) // s[1] + 1
    y = np.zeros((c_out, oh, ow))
    for o in range(c_out):
        for i in range(oh):
            for j in range(ow):
                total = b[o]
                for ch in range(c_in):
                    for a in range(kh):
                        for q in range(kw):
                            total += xp[ch, i * s[0] + a * d[0], j * s[1] + q * d[1]] * w[o, ch, a, q]
                y[o, i, j] = total
    return y


# --- the convolution theorem ---------------------------------------------------------------

@HYP
@given(h=st.integers(3, 12), w=st.integers(3, 12), kh=st.integers(1, 5), kw=st.integers(1, 5), seed=st.integers(0, 999))
def test_fft_product_inverts_to_the_loop_circular_correlation(h, w, kh, kw, seed):
    kh, kw = min(kh, h), min(kw, w)
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    r = fft.convolution_theorem(x, k)
    ref = naive_correlate(x, k, "circular")
    np.testing.assert_allclose(r["via_fft"], ref, atol=1e-10)
    np.testing.assert_allclose(r["direct"], ref, atol=1e-10)
    assert r["max_abs_diff"] < 1e-10 * max(1.0, np.abs(ref).max())
    # Zero padding by FFT of the padded image equals the loop with zeros outside.
    np.testing.assert_allclose(fft.zero_padded_by_fft(x, k), naive_correlate(x, k, "zeros"), atol=1e-10)
    assert r["max_abs_diff_zeros"] < 1e-10 * max(1.0, np.abs(ref).max())
    assert r["border_effect"] == pytest.approx(np.abs(ref - naive_correlate(x, k, "zeros")).max(), abs=1e-9)
    # Circular and zero padding agree wherever the window stays inside the image.
    b = r["border_width"]
    inner = (slice(b, h - b), slice(b, w - b))
    np.testing.assert_allclose(ref[inner], naive_correlate(x, k, "zeros")[inner], atol=1e-10)
    # Without the conjugate the product computes the true convolution: the kernel flipped.
    flipped = naive_correlate(x, k[::-1, ::-1].copy(), "circular")
    # (the flip also moves the centre tap for even sizes: compare against a roll-free definition)
    true_conv = np.real(np.fft.ifft2(np.fft.fft2(x) * naive_dft2(fft.embed_kernel(k, (h, w)))))
    assert r["max_abs_diff_unflipped"] == pytest.approx(np.abs(true_conv - ref).max(), abs=1e-9)
    if kh % 2 and kw % 2:
        np.testing.assert_allclose(true_conv, flipped, atol=1e-10)


def test_kernel_response_is_the_dft_of_the_taps_around_their_centre():
    rng = np.random.default_rng(3)
    k = rng.standard_normal((3, 4))
    h, w = 7, 9
    r = fft.convolution_theorem(rng.standard_normal((h, w)), k)
    top, left = 1, 1
    u = np.arange(h)[:, None]
    v = np.arange(w)[None, :]
    ref = np.zeros((h, w), dtype=complex)
    for a in range(3):
        for b in range(4):
            ref += k[a, b] * np.exp(-2j * np.pi * (u * (a - top) / h + v * (b - left) / w))
    np.testing.assert_allclose(r["response"], np.fft.fftshift(np.abs(ref)), atol=1e-12)
    x = rng.standard_normal((h, w))
    r = fft.convolution_theorem(x, k)
    np.testing.assert_allclose(r["spectrum"], np.fft.fftshift(np.log1p(np.abs(naive_dft2(x)))), atol=1e-10)
    assert r["bands"]["dc_gain"] == pytest.approx(abs(k.sum()))


def test_blur_keeps_low_and_removes_high_frequencies_edges_remove_the_mean():
    x = np.random.default_rng(0).random((32, 32))
    g = np.exp(-((np.arange(5) - 2) ** 2) / (2 * 1.25**2))
    blur = np.outer(g, g) / np.outer(g, g).sum()
    out = fft.compare_kernels(x, {"blur": blur, "sobel": SOBEL_X, "laplacian": LAPLACIAN}, filtered=True)
    gains = {name: {b["name"]: b["gain"] for b in c["bands"]["bands"]} for name, c in out.items()}
    assert out["blur"]["bands"]["dc_gain"] == pytest.approx(1.0)
    assert gains["blur"]["low"] > 0.5 > 0.05 > gains["blur"]["high"]
    assert out["sobel"]["bands"]["dc_gain"] == pytest.approx(0.0, abs=1e-12)
    assert out["laplacian"]["bands"]["dc_gain"] == pytest.approx(0.0, abs=1e-12)
    assert gains["laplacian"]["high"] > gains["laplacian"]["middle"] > gains["laplacian"]["low"]
    np.testing.assert_allclose(out["sobel"]["filtered"], naive_correlate(x, SOBEL_X, "circular"), atol=1e-10)


def test_bands_match_masks_over_the_frequency_radius():
    rng = np.random.default_rng(2)
    X, K = np.fft.fft2(rng.random((12, 20))), np.fft.fft2(fft.embed_kernel(rng.standard_normal((3, 3)), (12, 20)))
    fy, fx = np.fft.fftfreq(12)[:, None], np.fft.fftfreq(20)[None, :]
    r = np.sqrt(fy**2 + fx**2)
    masks = {"low": (r > 0) & (r <= 0.125), "middle": (r > 0.125) & (r < 0.375), "high": r >= 0.375}
    got = {b["name"]: b for b in fft.band_summary(X, K)["bands"]}
    for name, m in masks.items():
        assert got[name]["gain"] == pytest.approx(np.abs(K)[m].mean())
        assert got[name]["energy_ratio"] == pytest.approx((np.abs(X * K)[m] ** 2).sum() / (np.abs(X)[m] ** 2).sum())


@pytest.mark.parametrize("n, fast", [(1, 1), (7, 8), (257, 270), (514, 540), (1024, 1024), (1025, 1080)])
def test_fast_length_is_the_next_5_smooth_size(n, fast):
    assert fft.fast_length(n) == fast


def test_fft_cost_counts_and_crossover():
    c = fft.fft_cost(512, 512, 5, 5)
    assert c["direct"] == 25 * 512 * 512
    assert c["fft"] == pytest.approx(512 * 512 * 18)
    assert c["crossover_k"] == pytest.approx(math.sqrt(18))
    assert c["cheaper"] == "fft"
    assert fft.fft_cost(512, 512, 3, 3)["cheaper"] == "direct"
    assert [row["direct"] for row in c["table"]] == [k * k * 512 * 512 for k in range(1, 16, 2)]


@HYP
@given(period=st.floats(2.0, 16.0), stride=st.integers(2, 4))
def test_alias_frequency_is_what_the_samples_say(period, stride):
    f = 1 / period
    fa = fft.alias_frequency(f, stride)
    assert 0 <= fa <= 0.5 / stride + 1e-12
    n = np.arange(40)
    # Samples of the fine cosine at the stride equal samples of the folded one (cos is even).
    np.testing.assert_allclose(np.cos(2 * np.pi * f * stride * n), np.cos(2 * np.pi * fa * stride * n), atol=1e-9)


def test_aliasing_demo_folds_fine_stripes_and_a_blur_removes_them():
    g = np.exp(-((np.arange(5) - 2) ** 2) / (2 * 1.25**2))
    blur = np.outer(g, g) / np.outer(g, g).sum()
    r = fft.aliasing(2.5, blur, stride=2, size=64)
    assert r["aliases"] and r["nyquist"] == 0.25
    assert r["alias_frequency"] == pytest.approx(0.1) and r["alias_period"] == pytest.approx(10.0)
    np.testing.assert_array_equal(r["strided"], r["input"][::2, ::2])
    m = r["measured"]
    assert m["input"]["frequency"] == pytest.approx(0.4, abs=0.002)
    assert m["strided"]["frequency"] == pytest.approx(0.1, abs=0.002)   # the fake coarse stripes
    assert m["strided"]["amplitude"] == pytest.approx(0.5, abs=0.05)
    assert m["blurred_strided"]["amplitude"] < 0.02                      # the blur took them out first
    assert r["blur_gain"] < 0.01
    coarse = fft.aliasing(8.0, blur, stride=2)
    assert not coarse["aliases"] and coarse["measured"]["strided"]["frequency"] == pytest.approx(0.125, abs=0.002)


# --- separable kernels ---------------------------------------------------------------------

def _rounded_gaussian(n):
    g = np.exp(-((np.arange(n) - (n - 1) / 2) ** 2) / (2 * max(0.5, n / 4) ** 2))
    k = np.outer(g, g) / np.outer(g, g).sum()
    return np.vectorize(lambda v: float(f"{v:.4g}"))(k)     # as the page's presets send it


@pytest.mark.parametrize("kernel, column, row", [
    (SOBEL_X, [1, 2, 1], [-1, 0, 1]),
    (SOBEL_X.T, [-1, 0, 1], [1, 2, 1]),
    (np.full((3, 3), 1 / 9), [1 / 9] * 3, [1, 1, 1]),
])
def test_classic_kernels_are_rank_one_with_readable_factors(kernel, column, row):
    d = separable.decompose(kernel, 1)
    assert d["rank"] == 1 and d["exact_rank"] == 1
    np.testing.assert_allclose(d["factors"]["column"], column, atol=1e-12)
    np.testing.assert_allclose(d["factors"]["row"], row, atol=1e-12)
    np.testing.assert_allclose(np.outer(column, row), kernel, atol=1e-12)


@pytest.mark.parametrize("n", [3, 5, 7, 15])
def test_rounded_gaussian_is_rank_one_within_the_stated_tolerance(n):
    k = _rounded_gaussian(n)
    d = separable.decompose(k, 1)
    s = np.linalg.svd(k, compute_uv=False)
    assert d["rank"] == 1                         # σ₂/σ₁ ≈ 1e-4: rounding, below rtol 1e-3
    assert d["exact_rank"] > 1                    # …but not zero at float precision, and we say so
    assert d["tolerance"] == pytest.approx(1e-3 * s[0])
    assert d["factors"]["max_abs_diff"] < 1e-4


@HYP
@given(kh=st.integers(1, 7), kw=st.integers(1, 7), seed=st.integers(0, 999), data=st.data())
def test_rank_r_approximation_matches_numpy_svd_reconstruction(kh, kw, seed, data):
    k = np.random.default_rng(seed).standard_normal((kh, kw))
    r = data.draw(st.integers(1, min(kh, kw)))
    d = separable.decompose(k, r)
    u, s, vt = np.linalg.svd(k)
    ref = sum(s[i] * np.outer(u[:, i], vt[i]) for i in range(r))
    np.testing.assert_allclose(d["approx"], ref, atol=1e-12)
    np.testing.assert_allclose(d["residual"], k - ref, atol=1e-12)
    np.testing.assert_allclose(d["singular_values"], s)
    # Eckart–Young: the error is the energy of the dropped singular values.
    assert d["error_fro"] == pytest.approx(math.sqrt(float(np.sum(s[r:] ** 2))), abs=1e-10)
    assert d["energy_kept"] == pytest.approx(float(np.sum(s[:r] ** 2) / np.sum(s**2)))
    # All terms together rebuild the kernel; each term is column ⊗ row.
    full = sum(np.outer(t["column"], t["row"]) for t in d["terms"])
    np.testing.assert_allclose(full, k, atol=1e-12)
    assert d["rank"] == np.linalg.matrix_rank(k, tol=1e-3 * s[0])


@HYP
@given(kh=st.integers(1, 6), kw=st.integers(1, 6), seed=st.integers(0, 999))
def test_outer_products_are_found_rank_one_and_factored_exactly(kh, kw, seed):
    rng = np.random.default_rng(seed)
    col, row = rng.integers(-3, 4, kh).astype(float), rng.integers(-3, 4, kw).astype(float)
    if not col.any() or not row.any():
        col[0], row[0] = 1.0, 2.0
    k = np.outer(col, row)
    d = separable.decompose(k, 1)
    assert d["rank"] == 1
    np.testing.assert_allclose(np.outer(d["factors"]["column"], d["factors"]["row"]), k, atol=1e-9)


def test_rank_r_maps_and_two_pass_match_the_loop_convolution():
    rng = np.random.default_rng(5)
    x = rng.random((1, 11, 13))
    k = rng.standard_normal((5, 4))
    r = separable.on_image(x, k, 2)
    np.testing.assert_allclose(r["full"], naive_correlate(x[0], k, "zeros"), atol=1e-10)
    np.testing.assert_allclose(r["low_rank"], naive_correlate(x[0], r["approx"], "zeros"), atol=1e-10)
    assert r["two_pass_max_abs_diff"] < 1e-12
    assert r["maps_max_abs_diff"] == pytest.approx(np.abs(r["full"] - r["low_rank"]).max())
    c = r["cost"]
    assert (c["per_pixel_full"], c["per_pixel_separable"]) == (20, 2 * 9)
    assert (c["full"], c["separable"]) == (20 * 11 * 13, 18 * 11 * 13)
    assert c["break_even_rank"] == 2                      # 2·9 = 18 < 20, 3·9 = 27 > 20


def test_rank_outside_the_kernel_is_refused():
    with pytest.raises(ValueError, match=r"rank: 4 must be between 1 and min\(kh, kw\) = 3"):
        separable.decompose(SOBEL_X, 4)


# --- im2col + GEMM -------------------------------------------------------------------------

@HYP
@given(c=st.integers(1, 3), c_out=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2),
       mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]), seed=st.integers(0, 999))
def test_patch_matrix_and_gemm_match_loop_im2col_and_loop_conv(c, c_out, h, w, kh, kw, sh, sw, ph, pw, dh, dw, mode,
                                                                seed):
    if dh * (kh - 1) + 1 > h + 2 * ph or dw * (kw - 1) + 1 > w + 2 * pw:
        return  # the window does not fit: covered by the refusal test
    if mode == "reflect" and (ph >= h or pw >= w):
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, h, w))
    wt = rng.standard_normal((c_out, c, kh, kw))
    b = rng.standard_normal(c_out)
    r = im2col.lowered_conv(x, wt, b, stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), padding_mode=mode)
    cols, (oh, ow) = naive_im2col(x, kh, kw, (sh, sw), (ph, pw), (dh, dw), mode)
    np.testing.assert_array_equal(r["patches"], cols)
    np.testing.assert_array_equal(r["padded"].reshape(-1)[r["index"]], cols)
    np.testing.assert_array_equal(r["weights"], wt.reshape(c_out, -1))
    ref = naive_conv_multi(x, wt, b, (sh, sw), (ph, pw), (dh, dw), mode)
    np.testing.assert_allclose(r["output"], ref, atol=1e-10)
    np.testing.assert_allclose(r["direct"], ref, atol=1e-10)
    assert r["max_abs_diff"] < 1e-10
    assert [s["out"] for s in r["sizes"]] == [oh, ow]
    assert r["macs"] == c_out * c * kh * kw * oh * ow


def test_memory_of_the_patch_matrix_is_k_squared_times_the_input_at_stride_one():
    m = im2col.memory(3, 224, 224, 3, 3, 1, 1)
    assert m["patch_shape"] == [27, 224 * 224]
    assert (m["input_bytes"], m["patch_bytes"]) == (3 * 224 * 224 * 4, 27 * 224 * 224 * 4)
    assert m["ratio"] == pytest.approx(9.0) and m["copies_per_pixel"] == 9
    assert im2col.memory(1, 16, 16, 3, 3, 2, 1)["ratio"] == pytest.approx(9 * 64 / 256)


def test_shrink_averages_blocks():
    x = np.arange(32.0).reshape(2, 4, 4)
    np.testing.assert_allclose(im2col.shrink(x, 2, 2), x.reshape(2, 2, 2, 2, 2).mean(axis=(2, 4)))
    np.testing.assert_allclose(im2col.shrink(x, 8, 8), x)          # never enlarges
    y = im2col.shrink(np.random.default_rng(1).random((1, 37, 23)), 16, 16)
    assert y.shape == (1, 16, 16) and 0 <= y.min() and y.max() <= 1


def test_im2col_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"17×5 is larger than 16×16"):
        im2col.lowered_conv(np.zeros((1, 17, 5)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"H: dilated kernel 5 is larger than the padded input 4; add padding ≥ 1"):
        im2col.lowered_conv(np.zeros((1, 4, 8)), np.zeros((1, 1, 3, 3)), dilation=2)
    with pytest.raises(ValueError, match=r"second axis \(2\) must equal the input channels \(1\)"):
        im2col.lowered_conv(np.zeros((1, 4, 4)), np.zeros((1, 2, 3, 3)))


# --- the endpoints -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api():
    with make_client() as c:
        yield c


def test_fft_endpoint_json_and_binary_agree_with_the_loop(api):
    body = {"image_id": "sample-square", "kernel": SOBEL_X.tolist(),
            "compare": [{"name": "Sobel x", "kernel": SOBEL_X.tolist()}]}
    r = api.post("/api/family/fft", json=body)
    assert r.status_code == 200
    j = r.json()
    assert j["shape"] == [16, 16] and j["origin"] == [1, 1] and j["max_abs_diff"] < 1e-12
    assert j["max_abs_diff_unflipped"] > 1          # Sobel is antisymmetric: forgetting the flip negates it
    x = api.post("/api/family/im2col", json={"image_id": "sample-square", "size": 16, "weight": [[[[1.0]]]]}).json()
    square = np.array(x["input"])[0]
    np.testing.assert_allclose(np.array(j["direct"]), naive_correlate(square, SOBEL_X), atol=1e-5)
    assert j["compare"][0]["name"] == "Sobel x" and j["compare"][0]["bands"]["dc_gain"] == 0
    rb = api.post("/api/family/fft", json=body, headers={"Accept": BINARY_MEDIA_TYPE})
    meta, arrays = decode_binary(rb.content)
    assert meta["max_abs_diff"] == j["max_abs_diff"]
    np.testing.assert_allclose(arrays["via_fft"], np.array(j["via_fft"]))
    assert arrays["response_0"].shape == (16, 16)


def test_separable_and_aliasing_endpoints(api):
    r = api.post("/api/family/separable", json={"image_id": "sample-square", "kernel": SOBEL_X.tolist(), "rank": 1})
    assert r.status_code == 200
    j = r.json()
    assert j["rank"] == 1 and j["factors"]["column"] == [1, 2, 1] and j["factors"]["row"] == [-1, 0, 1]
    assert j["cost"]["per_pixel_full"] == 9 and j["cost"]["per_pixel_separable"] == 6 and j["shape"] == [16, 16]
    a = api.post("/api/family/aliasing", json={"period": 2.5, "blur": [[1 / 9] * 3] * 3})
    assert a.status_code == 200 and a.json()["alias_period"] == pytest.approx(10.0)
    assert np.array(a.json()["strided"]).shape == (32, 32)


def test_im2col_endpoint_from_numbers_and_from_an_image(api):
    x = np.arange(16.0).reshape(1, 4, 4)
    r = api.post("/api/family/im2col", json={"input": x.tolist(), "weight": [[SOBEL_X.tolist()]], "bias": [0.5],
                                             "padding": 1, "stride": 2})
    assert r.status_code == 200
    j = r.json()
    cols, _ = naive_im2col(x, 3, 3, (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(np.array(j["patches"]), cols)
    assert j["output_shape"] == [1, 2, 2] and j["max_abs_diff"] == 0 and j["memory_image"] is None
    assert j["memory"]["patch_shape"] == [9, 4]
    rgb = api.post("/api/family/im2col", json={"image_id": "sample-astronaut", "size": 6,
                                               "weight": [[SOBEL_X.tolist()] * 3] * 2})
    assert rgb.status_code == 200
    k = rgb.json()
    assert k["input_shape"] == [3, 6, 6] and k["output_shape"] == [2, 4, 4]
    assert k["memory_image"]["input_shape"] == [3, 512, 512]


@pytest.mark.parametrize("path, body, status, detail", [
    ("/api/family/fft", {"image_id": "sample-square", "kernel": [[1, 2], [3]]}, 422, "kernel: ragged nested lists"),
    ("/api/family/fft", {"image_id": "sample-square", "kernel": [[1] * 16] * 16}, 422, "kernel: 16×16 is larger than 15×15"),
    ("/api/family/fft", {"image_id": "sample-gone", "kernel": [[1]]}, 404, "unknown image id 'sample-gone'"),
    ("/api/family/fft", {"image_id": "sample-square", "kernel": [[1]], "compare": [{"name": "x", "kernel": [[1] * 17]}]},
     422, "compare[0].kernel: 1×17 is larger than 15×15"),
    ("/api/family/separable", {"image_id": "sample-square", "kernel": SOBEL_X.tolist(), "rank": 4}, 422,
     "rank: 4 must be between 1 and min(kh, kw) = 3"),
    ("/api/family/aliasing", {"period": 1.5, "blur": [[1]]}, 422, "period: Input should be greater than or equal to 2"),
    ("/api/family/im2col", {"weight": [[[[1]]]]}, 422, "send either input"),
    ("/api/family/im2col", {"input": [[[1] * 17] * 3], "weight": [[[[1]]]]}, 422, "3×17 is larger than 16×16"),
    ("/api/family/im2col", {"image_id": "sample-square", "weight": [[[[1]], [[1]]]]}, 422,
     "with image_id the input has 1 channel (gray) or 3 (RGB)"),
    ("/api/family/im2col", {"input": [[[1] * 4] * 4], "weight": [[[[1] * 3] * 3]], "dilation": 3}, 422,
     "dilated kernel 7 is larger than the padded input 4; add padding ≥ 2"),
    ("/api/family/im2col", {"input": [[[1] * 4] * 4], "weight": [[[[1]]]], "stride": 5}, 422, "stride"),
])
def test_bad_input_gets_a_4xx_that_says_what_to_change(api, path, body, status, detail):
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]


def test_fft_work_is_bounded():
    with make_client(max_work=10_000) as c:
        r = c.post("/api/family/fft", json={"image_id": "sample-camera", "kernel": [[1]]})
        assert r.status_code == 413
        assert "Use a smaller image (Max side)" in r.json()["detail"]


def test_the_views_are_documented(api):
    paths = api.get("/openapi.json").json()["paths"]
    for p in ("/api/family/fft", "/api/family/aliasing", "/api/family/separable", "/api/family/im2col"):
        assert "200" in paths[p]["post"]["responses"] and "422" in paths[p]["post"]["responses"]
