"""User stories of the Pooling and Backward labs in Chromium.

- A student pools the bright square and sees each window's winner ringed on the input.
- A student clicks an output pixel of the conv layer: the one-hot δ stamps the kernel
  into the input gradient on exactly the window that pixel read.
- The live finite-difference check prints a difference below 1e-6 and its step, for
  stride, dilation and reflect padding, and for a squared-error loss.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

NUMBERED = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
# The first answer of a fresh server may wait for Numba to load (or compile) its kernels.
FIRST_ANSWER = 60_000

# Canvas readback: the overlay's alpha at (x, y) in CSS pixels of a map.
OVERLAY_ALPHA = """([testid, cells]) => {
  const canvas = document.querySelector(`[data-testid="${testid}"]`);
  const overlay = canvas.parentElement.querySelector('.map-overlay');
  const ctx = overlay.getContext('2d');
  const cw = overlay.width / canvas.width, ch = overlay.height / canvas.height;
  // sample on the ring: right of the cell centre by 0.36 of a cell
  return cells.map(([r, c]) => ctx.getImageData(Math.round((c + 0.5 + 0.36) * cw), Math.round((r + 0.5) * ch), 1, 1).data[3]);
}"""

# The data canvas: one pixel per value. Returns the cells whose colour differs from (0, 0)'s.
DIFFERENT_FROM_CORNER = """(testid) => {
  const canvas = document.querySelector(`[data-testid="${testid}"]`);
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let i = 0; i < canvas.width * canvas.height; i++) {
    if (d[4*i] !== d[0] || d[4*i+1] !== d[1] || d[4*i+2] !== d[2]) out.push([Math.floor(i / canvas.width), i % canvas.width]);
  }
  return out;
}"""


def _stamp_numbers(page):
    cells = page.get_by_test_id("backward-stamp").locator("td")
    expect(cells).to_have_count(9)
    return [float(t.replace("−", "-")) for t in cells.all_inner_texts()]


def test_pool_marks_each_windows_winner(goto_state):
    page = goto_state("lab=pool")
    winners = page.get_by_test_id("pool-winners").locator("li")
    expect(winners).to_have_count(64, timeout=FIRST_ANSWER)  # 16×16 → 8×8 windows
    expect(page.get_by_test_id("pool-output-size")).to_contain_text("16 × 16 → 8 × 8")
    # The square is flat inside each 2×2 window: ties go to the first cell, the window's top-left.
    expect(winners.nth(0)).to_have_text("window (0, 0) → winner x[0, 0] = 0.15")
    expect(winners.nth(9)).to_have_text("window (1, 1) → winner x[2, 2] = 0.15")
    marked = page.get_by_test_id("pool-input").get_attribute("data-winners").split()
    assert sorted(marked) == sorted(f"{r},{c}" for r in range(0, 16, 2) for c in range(0, 16, 2))
    alpha = page.evaluate(OVERLAY_ALPHA, ["pool-input", [[2, 2], [4, 6], [3, 3], [5, 6]]])
    assert alpha[0] > 0 and alpha[1] > 0, "winners are ringed"
    assert alpha[2] == 0 and alpha[3] == 0, "losers are not"
    # Backward with δ = 1: each winner receives exactly its window's 1, the others 0.
    gradient = page.evaluate(DIFFERENT_FROM_CORNER, "pool-grad-input")
    assert len(gradient) == 16 * 16 - 64  # the corner (0, 0) is a winner: every loser differs from it

    # 3×3 windows (the stride follows) on the Sobel magnitude: winners move to the edges.
    page.get_by_test_id("pool-source").select_option("sobel_mag")
    page.get_by_test_id("pool-window").fill("3")
    page.get_by_test_id("pool-window-w").fill("3")
    expect(page.get_by_test_id("pool-output-size")).to_contain_text("16 × 16 → 5 × 5")
    expect(winners).to_have_count(25)
    first = winners.nth(0).get_attribute("data-winner")
    r, c = map(int, first.split(","))
    assert page.evaluate(OVERLAY_ALPHA, ["pool-input", [[r, c]]])[0] > 0
    expect(page.get_by_test_id("pool-invariance").locator(".pool-bar-row")).to_have_count(3)
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_one_hot_delta_stamps_the_kernel_and_the_gradients_check_out(goto_state):
    page = goto_state("lab=backward&bw.at=5,6")
    # padding 1: y[5, 6] read x rows 4–6, cols 5–7; eq. 36.10 puts K there (flip(K) flipped back)
    stamp = page.get_by_test_id("backward-stamp")
    expect(stamp).to_have_attribute("data-origin", "4,5", timeout=FIRST_ANSWER)
    assert _stamp_numbers(page) == [v for row in NUMBERED for v in row]
    changed = page.evaluate(DIFFERENT_FROM_CORNER, "backward-grad-input")
    assert sorted(changed) == [[r, c] for r in range(4, 7) for c in range(5, 8)]

    # The student clicks output pixel (10, 3) of y: the stamp follows.
    y = page.get_by_test_id("backward-output")
    box = y.bounding_box()
    cell = box["width"] / 16
    y.click(position={"x": (3 + 0.5) * cell, "y": (10 + 0.5) * cell})
    expect(stamp).to_have_attribute("data-origin", "9,2")
    expect(page).to_have_url(re.compile(r"bw\.at=10%2C3|bw\.at=10,3"))
    changed = page.evaluate(DIFFERENT_FROM_CORNER, "backward-grad-input")
    assert sorted(changed) == [[r, c] for r in range(9, 12) for c in range(2, 5)]

    # Stride 2 and dilation 2 with reflect padding: the taps spread out, K's numbers stay.
    page = goto_state("lab=backward&bw.s=2,2&bw.d=2,2&bw.p=2&bw.mode=reflect&bw.at=3,3")
    expect(page.get_by_test_id("backward-stamp")).to_have_attribute("data-origin", "4,4", timeout=15_000)
    assert _stamp_numbers(page) == [v for row in NUMBERED for v in row]
    changed = page.evaluate(DIFFERENT_FROM_CORNER, "backward-grad-input")
    assert sorted(changed) == [[r, c] for r in (4, 6, 8) for c in (4, 6, 8)]

    # The live finite-difference check of these very settings.
    result = page.get_by_test_id("gradcheck-result")
    expect(result).to_contain_text("max |analytic − numeric|")
    expect(result).to_contain_text("step h = 1.0e−6")
    assert 0 <= float(result.locator(".bw-check-value").get_attribute("data-value")) < 1e-6
    # A squared-error loss against the Sobel response, and a coarser step: still agrees.
    page.get_by_test_id("backward-delta-kind").select_option("squared_error")
    expect(page.get_by_test_id("backward-target")).to_be_visible()
    page.get_by_test_id("backward-step").select_option("0.0001")
    expect(result).to_contain_text("step h = 1.0e−4")
    expect(result).to_contain_text("L = ½ Σ (y − t)²")
    assert 0 <= float(result.locator(".bw-check-value").get_attribute("data-value")) < 1e-6
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_large_images_get_a_magnifier_and_the_url_one_hot_survives_a_reload(goto_state):
    # 64×64 circle: cells are ~4 px, too small for rings and numbers; the magnifier shows them.
    page = goto_state("lab=pool&image=sample-circle&pool.delta=one_hot&pool.at=10,20")
    zoom = page.get_by_test_id("pool-zoom")
    expect(zoom).to_be_visible(timeout=FIRST_ANSWER)
    crop = page.get_by_test_id("pool-zoom-grad")
    # Output (10, 20) reads rows 20–21, cols 40–41; the crop holds that window.
    r0, c0, r1, c1 = map(int, crop.locator("xpath=..").get_attribute("data-crop").split(","))
    assert r0 <= 20 and r1 >= 22 and c0 <= 40 and c1 >= 42
    # δ from the URL went to (10, 20), not to a default cell: its one winner holds the 1.
    lit = page.evaluate(DIFFERENT_FROM_CORNER, "pool-zoom-grad")
    assert len(lit) == 1 and r0 + lit[0][0] in (20, 21) and c0 + lit[0][1] in (40, 41)
    # Keyboard only: the output map takes the arrow keys, the one-hot moves and the URL follows.
    page.get_by_test_id("pool-output").locator("xpath=..").focus()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"pool\.at=10(%2C|,)21"))
    expect(crop.locator("xpath=..")).to_have_attribute("data-crop", re.compile(r"^\d+,(3[6-9]|4[0-2]),"))

    page = goto_state("lab=backward&image=sample-circle&bw.at=30,12")
    stamp = page.get_by_test_id("backward-zoom-grad-input")
    expect(page.get_by_test_id("backward-zoom")).to_be_visible(timeout=FIRST_ANSWER)
    r0, c0, *_ = map(int, stamp.locator("xpath=..").get_attribute("data-crop").split(","))
    # The stamp (K = 1 … 9 on rows 29–31, cols 11–13) is the only non-zero patch of the crop.
    cells = page.evaluate(DIFFERENT_FROM_CORNER, "backward-zoom-grad-input")
    assert sorted([r0 + r, c0 + c] for r, c in cells) == [[r, c] for r in range(29, 32) for c in range(11, 14)]

    # Padding the page cannot read: a message that says what to type, pictures dimmed, then back.
    page.get_by_test_id("backward-padding").fill("abc")
    expect(page.get_by_test_id("error")).to_contain_text("type a number")
    expect(page.locator("#lab-backward .map-view.stale").first).to_be_visible()
    page.get_by_test_id("backward-padding").fill("1")
    expect(page.get_by_test_id("error")).to_be_hidden()
    expect(page.locator("#lab-backward .map-view.stale")).to_have_count(0)
    assert not page.console_errors
