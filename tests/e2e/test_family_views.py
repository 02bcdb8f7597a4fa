"""One convolution, three more views, in Chromium: the frequency domain, separable kernels and
im2col + GEMM — texts, canvas pixels and tooltips read back from the page."""
from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import expect

from tests.test_family_views import naive_im2col

VIRIDIS_LOW = (68, 1, 84)      # #440154, the bottom of viridis
VIRIDIS_HIGH = (253, 231, 37)  # #fde725, its top
PINK = (255, 45, 149)          # the highlight


def by(page, testid):
    return page.get_by_test_id(testid)


def number_after(text, label):
    """The float printed right after ``label`` in ``text``."""
    m = re.search(re.escape(label) + r"\s*([-+0-9.e]+)", text)
    assert m, f"{label!r} not in {text!r}"
    return float(m.group(1))


def pixel(page, testid, x, y):
    return page.evaluate("""([testid, x, y]) => {
        const c = document.querySelector(`[data-testid=${testid}]`);
        return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
    }""", [testid, x, y])


def canvas_bytes(page, testid):
    return page.evaluate("""(testid) => {
        const c = document.querySelector(`[data-testid=${testid}]`);
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];
    }""", testid)


def max_channel_gap(a, b):
    return int(np.max(np.abs(np.array(a, dtype=int) - np.array(b, dtype=int))))


def close(rgb, ref, tol=6):
    return all(abs(a - b) <= tol for a, b in zip(rgb[:3], ref))


def set_number(page, testid, value):
    box = by(page, testid)
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def test_frequency_view_checks_the_theorem_and_shows_aliasing(goto_state):
    page = goto_state("lab=family")
    by(page, "view-fft").click()
    expect(page).to_have_url(re.compile(r"family\.view=fft"))
    check = by(page, "fft-check")
    expect(check).to_contain_text("max |ifft2(X·K̄) − conv2d| = ", timeout=60_000)
    assert number_after(check.inner_text(), "conv2d| =") < 1e-9          # float round-off, on the 16×16 square
    expect(by(page, "fft-flip")).to_contain_text("ifft2(X·K) is off by up to")  # Sobel is antisymmetric
    expect(by(page, "fft-circular")).to_contain_text("pad the image with 2 rows and 2 columns of zeros")
    expect(by(page, "fft-circular")).to_contain_text("and only within 1 pixel of the border")
    # The inverse transform and the direct convolution are drawn with one range: the same pixels.
    w1, h1, inv = canvas_bytes(page, "fft-inverse")
    w2, h2, direct = canvas_bytes(page, "fft-direct")
    assert (w1, h1) == (w2, h2) == (16, 16) and max_channel_gap(inv, direct) <= 8   # equal up to a colour step
    # Sobel's weights sum to 0: its response is 0 at frequency 0 (the centre, after fftshift).
    assert close(pixel(page, "fft-response", 8, 8), VIRIDIS_LOW)
    expect(by(page, "fft-bands-list")).to_contain_text("frequency 0 (flat areas): removed")
    expect(by(page, "fft-cost")).to_contain_text("kh·kw·H·W = 3·3·256 = 2,304")
    expect(by(page, "fft-cost")).to_contain_text("H·W·log₂(H·W) = 256·8 = 2,048")
    # Blur vs edge, side by side: the blur keeps frequency 0 and removes the high band.
    expect(by(page, "fft-compare-bands-0")).to_contain_text("frequency 0 (flat areas): × 1")
    expect(by(page, "fft-compare-bands-0")).to_contain_text("high (|f| ≥ 3/8): removes")
    expect(by(page, "fft-compare-bands-2")).to_contain_text("high (|f| ≥ 3/8): passes")   # the Laplacian

    # A blur as the kernel: its response peaks at frequency 0.
    by(page, "fft-kernel").select_option("gaussian")
    expect(by(page, "fft-bands-list")).to_contain_text("frequency 0 (flat areas): × 1", timeout=20_000)
    expect(page.locator("[data-family-view=fft] .panel[data-testid=fft-theorem]")).not_to_have_class(re.compile("stale"))
    assert close(pixel(page, "fft-response", 8, 8), VIRIDIS_HIGH)
    expect(by(page, "fft-flip")).to_contain_text("the flip changes nothing")

    # Aliasing: period 2.5 px at stride 2 folds to 0.1 cycles/px; the blur takes the fake stripes out.
    alias = by(page, "fft-alias-result")
    expect(alias).to_contain_text("it folds to 0.1 cycles/px: fake stripes of period 10 px")
    measured = by(page, "fft-alias-measured").inner_text()
    assert number_after(measured, "stride only → dominant period") == 10
    assert number_after(measured, "first (gain") < 0.01
    strided_amp = number_after(measured, "px, amplitude")
    blurred_amp = number_after(measured, "→ amplitude")
    assert strided_amp > 0.4 and blurred_amp < 0.02
    set_number(page, "fft-period", 8)
    expect(alias).to_contain_text("0.125 is below that, so the stripes survive the stride")
    expect(page).to_have_url(re.compile(r"family\.fft\.period=8"))
    set_number(page, "fft-period", 1)                      # below 2 pixels: refused in place
    expect(by(page, "fft-period")).to_have_class(re.compile("invalid"))
    expect(alias).to_contain_text("0.125 is below that")
    assert page.console_errors == []


def test_separable_view_factors_ranks_and_saves(goto_state):
    page = goto_state("lab=family&family.view=separable")
    rank = by(page, "sep-rank-text")
    expect(rank).to_have_text("rank 1 — separable", timeout=60_000)
    expect(by(page, "sep-factors-text")).to_contain_text("= [1, 2, 1]ᵀ ⊗ [-1, 0, 1] — max |column ⊗ row − K| = 0")
    expect(by(page, "sep-singular-values").locator("tbody tr")).to_have_count(3)
    expect(by(page, "sep-singular-values").locator("tbody tr").nth(1)).to_contain_text("dropped")
    expect(by(page, "sep-cost")).to_contain_text("r·(kh + kw) = 1·(3 + 3) = 6")
    expect(by(page, "sep-cost")).to_contain_text("2,304 vs 1,536 multiply-adds — 1.5× fewer")

    # The Laplacian is rank 2: rank 1 leaves an error, rank 3 rebuilds it and the maps agree.
    by(page, "sep-kernel").select_option("laplacian")
    expect(rank).to_contain_text("rank 2 — not separable")
    err = by(page, "sep-error")
    expect(err).to_contain_text("‖K − K_r‖_F = √(Σ_{i > 1} σᵢ²) = 0.449")
    w, h, full = canvas_bytes(page, "sep-map-full")
    _, _, low = canvas_bytes(page, "sep-map-rank")
    assert (w, h) == (16, 16) and max_channel_gap(full, low) > 40      # the rank-1 map visibly differs
    slider = by(page, "sep-rank")
    slider.focus()
    slider.press("End")
    expect(by(page, "sep-rank-value")).to_have_text("3")
    expect(page).to_have_url(re.compile(r"family\.sep\.rank=3"))
    expect(by(page, "sep-maps")).to_contain_text("max |K * x − K_3 * x| =")
    diff = number_after(by(page, "sep-maps-diff").inner_text(), "K_3 * x| =")
    assert diff < 1e-9
    expect(by(page, "sep-cost")).to_contain_text("saves while r ≤ 1 (r·6 < 9)")
    _, _, full = canvas_bytes(page, "sep-map-full")
    _, _, low = canvas_bytes(page, "sep-map-rank")
    # Equal to round-off: a value on a colour-step boundary may land one step over (a few units).
    assert max_channel_gap(full, low) <= 8

    # A 5×5 Gaussian is rank 1 within the stated tolerance (its preset weights are rounded).
    by(page, "sep-kernel").select_option("gaussian")
    by(page, "sep-kernel-size").select_option("5")
    expect(rank).to_contain_text("rank 1 (σ below 0.001·σ₁")
    expect(rank).to_contain_text("at float precision the rank is")
    expect(by(page, "sep-rank-value")).to_have_text("3")     # 5×5 still allows rank 3
    # The depthwise-separable cost table is one click away.
    by(page, "sep-groups-link").click()
    expect(page).to_have_url(re.compile(r"family\.view=groups"))
    expect(by(page, "groups-separable")).to_be_visible()
    assert page.console_errors == []


def test_im2col_view_builds_the_patch_matrix_and_highlights_a_column(goto_state):
    page = goto_state("lab=family&family.view=im2col&family.i2c.size=8")
    check = by(page, "i2c-check")
    expect(check).to_have_text("GEMM reshaped vs conv2d (direct): max |diff| = 0", timeout=60_000)
    expect(by(page, "i2c-patch-shape")).to_have_text("(C_in·kh·kw) × (H_out·W_out) = (1·3·3) × (8·8) = 9 × 64")
    expect(by(page, "i2c-sizes")).to_contain_text("⌊(8 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 8")
    expect(by(page, "i2c-gemm")).to_contain_text("2·1·3·3·8·8 = 1,152")
    expect(by(page, "i2c-memory")).to_contain_text("patch matrix 9 × 64 floats = 2.3 KiB")
    expect(by(page, "i2c-memory-image")).to_contain_text("whole 16×16 image")

    # The 16×16 square shrunk to 8×8 is the square at half size: the page's patch entries equal a loop im2col.
    x = np.full((1, 8, 8), 0.15)
    x[0, 2:6, 2:6] = 0.85
    cols, _ = naive_im2col(x, 3, 3, (1, 1), (1, 1), (1, 1))
    patches = by(page, "i2c-patches")
    box = patches.bounding_box()
    cell = box["width"] / 64
    for row, col in [(0, 0), (8, 20), (4, 9), (4, 18)]:
        patches.hover(position={"x": (col + 0.5) * cell, "y": (row + 0.5) * cell})
        tip = page.locator("#tooltip")
        expect(tip).to_contain_text(f"({row}, {col}): patch = ")
        assert number_after(tip.inner_text(), "patch =") == cols[row, col]
    # Hovering column 18 = output pixel (2, 2): its window is padded rows 2–4, columns 2–4.
    expect(by(page, "i2c-hover")).to_contain_text("column 18 = output pixel (2, 2) of 8×8: padded rows 2, 3, 4 × columns 2, 3, 4")
    # The column and the window are outlined: pink at the column's left edge and at the window's corner.
    dpr = page.evaluate("window.devicePixelRatio")
    assert close(pixel(page, "i2c-patches", int((18 * cell + 1.5) * dpr), int(4.5 * cell * dpr)), PINK, tol=40)
    in_cell = by(page, "i2c-input-0").bounding_box()["width"] / 10
    assert close(pixel(page, "i2c-input-0", int((2 * in_cell + 1.5) * dpr), int(2.5 * in_cell * dpr)), PINK, tol=40)
    patches.click(position={"x": 18.5 * cell, "y": 0.5 * cell})
    expect(page).to_have_url(re.compile(r"family\.i2c\.col=18"))

    # Stride 2: 4×4 outputs, 16 columns; still equal to the direct convolution.
    set_number(page, "i2c-stride", 2)
    expect(by(page, "i2c-patch-shape")).to_contain_text("= 9 × 16")
    expect(check).to_contain_text("max |diff| = 0")
    # Three channels of small integers, dilation 2, reflect padding.
    by(page, "i2c-source").select_option("numbers")
    set_number(page, "i2c-cin", 3)
    set_number(page, "i2c-dilation", 2)
    set_number(page, "i2c-padding", 2)
    by(page, "i2c-padding-mode").select_option("reflect")
    expect(by(page, "i2c-patch-shape")).to_contain_text("(3·3·3) × (4·4) = 27 × 16")
    expect(check).to_contain_text("max |diff| = 0")
    expect(by(page, "i2c-input-2")).to_be_visible()
    # An impossible window is refused before asking the server, with what to change.
    set_number(page, "i2c-padding", 0)
    set_number(page, "i2c-dilation", 4)
    expect(by(page, "error")).to_contain_text("dilated kernel 9×9 is larger than the padded input 8×8")
    expect(page.locator("[data-family-view=im2col] .col-pictures")).to_have_class(re.compile("stale"))
    set_number(page, "i2c-dilation", 1)
    expect(by(page, "error")).to_be_hidden()
    assert page.console_errors == []
