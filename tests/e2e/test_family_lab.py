"""The "More of the family" lab in Chromium: transposed convolution, 1-D convolution,
groups, and PyTorch vs TensorFlow padding — numbers read back from the page."""
from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import expect

from app import kernels



def by(page, testid):
    return page.get_by_test_id(testid)


def own_errors(page):
    """Console errors, minus other labs' modules that have not landed yet."""
    return [e for e in page.console_errors
            if "family" in e or not ("Failed to load resource" in e or "failed to load" in e)]


def cell_colours(page, testid, side, cells):
    """RGBA of each (row, col) cell of a side×side canvas grid, read a fifth of a cell in (clear of its label)."""
    return page.evaluate("""([testid, side, cells]) => {
        const c = document.querySelector(`[data-testid=${testid}]`);
        const ctx = c.getContext('2d');
        const cell = c.width / side;
        return cells.map(([r, q]) => Array.from(ctx.getImageData(Math.floor((q + 0.2) * cell), Math.floor((r + 0.2) * cell), 1, 1).data));
    }""", [testid, side, cells])


def set_number(page, testid, value):
    box = by(page, testid)
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def test_transposed_convolution_views_agree_with_the_server(goto_state):
    page = goto_state("lab=family&family.view=transpose")
    expect(by(page, "transpose-output-size")).to_contain_text("Output: 7 × 7")
    diff = by(page, "transpose-diff")
    # generous once: the first call may wait for the JIT on a cold cache
    expect(diff).to_contain_text("stamps summed in the page vs server conv_transpose2d: max |diff| = 0", timeout=60_000)
    expect(diff).to_contain_text("direct conv2d over the zero-inserted input vs conv_transpose2d: max |diff| = 0")
    # Input 1…9, 3×3 kernel of ones, stride 2: output (4, 4) gets four stamps, x[1..2, 1..2].
    by(page, "transpose-output").click(position={"x": 4.5 * 28, "y": 4.5 * 28})
    cell = by(page, "transpose-cell-sum")
    expect(cell).to_contain_text("A: y[4,4] = x[1,1]·w[2,2] + x[1,2]·w[2,0] + x[2,1]·w[0,2] + x[2,2]·w[0,0]")
    expect(cell).to_contain_text("= 5·1 + 6·1 + 8·1 + 9·1 = 28")
    expect(cell).to_contain_text("server y[4,4] = 28")
    expect(page).to_have_url(re.compile(r"family\.t\.cell=4%2C4|family\.t\.cell=4,4"))

    # Stepping through input pixels: one stamp, then the URL remembers it.
    by(page, "transpose-next").click()
    expect(by(page, "transpose-step")).to_have_text("1 / 9 input pixels stamped")
    expect(page).to_have_url(re.compile(r"family\.t\.step=1"))

    # output_padding and padding change the size arithmetic; the numbers still agree.
    set_number(page, "transpose-padding", 1)
    set_number(page, "transpose-output-padding", 1)
    expect(by(page, "transpose-output-size")).to_contain_text("= (3 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 6")
    expect(by(page, "transpose-diff")).to_contain_text("max |diff| = 0")
    width = page.evaluate("document.querySelector('[data-testid=transpose-output]').getBoundingClientRect().width")
    assert round(width) == 6 * 28 + 1

    # Checkerboard: kernel 3 at stride 2 stripes a constant input, kernel 4 does not.
    expect(by(page, "checkerboard-stats-3")).to_contain_text("interior values 1 … 4")
    expect(by(page, "checkerboard-stats-4")).to_contain_text("interior values 4 … 4")
    # The input gradient of a conv layer is the transposed convolution of δ.
    expect(by(page, "grad-transpose-diff")).to_contain_text("= 0")

    # An impossible output_padding: a message naming it, pictures dimmed, page alive.
    set_number(page, "transpose-output-padding", 3)
    expect(by(page, "error")).to_contain_text("output_padding 3 must be smaller than the stride (2)")
    expect(page.locator("[data-family-view=transpose] .col-pictures")).to_have_class(re.compile("stale"))
    set_number(page, "transpose-output-padding", 0)
    expect(by(page, "error")).to_be_hidden()
    assert own_errors(page) == []


def test_transposed_convolution_backward_sends_delta_back_through_the_stamps(goto_state):
    page = goto_state("lab=family&family.view=transpose&family.t.kernel=ramp")
    checks = by(page, "transpose-backward-diff")
    expect(checks).to_contain_text("conv2d(δ, w) on the server vs ∂L/∂x of conv_transpose2d: max |diff| = 0", timeout=60_000)
    # x = w = 1…9, stride 2: a single 1 of δ at y[4,4] (click it, 24-px cells) flows back to the four
    # input pixels whose stamps wrote y[4,4], each times the tap that reached it.
    by(page, "transpose-grad-delta").click(position={"x": 4.5 * 24, "y": 4.5 * 24})
    x = np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3)
    delta = np.zeros((1, 7, 7))
    delta[0, 4, 4] = 1
    gx, gw, _ = kernels.conv_transpose2d_backward(x, x.reshape(1, 1, 3, 3), delta, stride=2)
    by(page, "transpose-grad-input").click(position={"x": 1.5 * 28, "y": 1.5 * 28})
    total = by(page, "transpose-backward-sum")
    expect(total).to_contain_text("+ δ[4,4]·w[2,2]")
    expect(total).to_contain_text("+ 1·9 = 9")
    expect(total).to_contain_text(f"server ∂L/∂x[1,1] = {gx[0, 1, 1]:g}")
    expect(page).to_have_url(re.compile(r"family\.tb\.delta=onehot"))
    # The canvas: the five pixels no stamp of y[4,4] came from are coloured as 0, the four others are not.
    cells = [(r, q) for r in range(3) for q in range(3)]
    colours = dict(zip(cells, map(tuple, cell_colours(page, "transpose-grad-input", 3, cells))))
    zero = {colours[cell] for cell in cells if gx[0][cell] == 0}
    assert len(zero) == 1 and all(colours[cell] not in zero for cell in cells if gx[0][cell])
    # Weight (2,2) meets the 1 only through pixel (1,1): ∂L/∂w[2,2] = x[1,1].
    by(page, "transpose-grad-weight").click(position={"x": 2.5 * 28, "y": 2.5 * 28})
    expect(total).to_contain_text("+ x[1,1]·δ[4,4] +")
    expect(total).to_contain_text("+ 5·1 +")
    expect(total).to_contain_text(f"server ∂L/∂w[2,2] = {gw[0, 0, 2, 2]:g}")
    # Any δ, dilation and crop: ∂L/∂x is still conv2d(δ, w) with the same knobs.
    by(page, "transpose-delta-kind").select_option("random")
    set_number(page, "transpose-dilation", 2)
    set_number(page, "transpose-padding", 1)
    expect(by(page, "transpose-backward-formula")).to_contain_text("∂L/∂x = conv2d(δ, w, stride=2, padding=1, dilation=2)")
    expect(checks).to_contain_text("vs ∂L/∂x of conv_transpose2d: max |diff| = 0")
    expect(checks).to_contain_text("the page's sums vs the server's ∂L/∂x and ∂L/∂w: max |diff| = 0")
    assert own_errors(page) == []


def test_conv1d_products_sums_and_gradients(goto_state):
    page = goto_state("lab=family&family.view=conv1d")
    expect(by(page, "conv1d-check")).to_contain_text("max |diff| = 0", timeout=60_000)
    # Step signal 0…0 1…1, kernel [1, 0, −1], output 4: its window reads 0, 0, 1.
    expect(by(page, "conv1d-sum")).to_contain_text("= 0·1 + 0·0 + 1·(-1)")
    expect(by(page, "conv1d-sum")).to_contain_text("server: -1")
    expect(by(page, "conv1d-check")).to_contain_text("max |diff| = 0")
    by(page, "conv1d-source").select_option("typed")
    typed = by(page, "conv1d-typed")
    typed.fill("1, 2, 3, 4, 5")
    typed.press("Enter")
    expect(by(page, "conv1d-output-size")).to_contain_text("= 3")
    expect(by(page, "conv1d-sum")).to_contain_text("s[2] = x̃[2]·w[0] + x̃[3]·w[1] + x̃[4]·w[2]")
    expect(by(page, "conv1d-sum")).to_contain_text("= -2")
    # δ one-hot at output 2: ∂L/∂w = the window (3, 4, 5) — eq. 36.9.
    expect(by(page, "conv1d-grad-w-terms")).to_contain_text("∂L/∂w[2] = Σᵢ δ[i]·x̃[i·1 + 2·1] = 1·5 = 5")
    expect(by(page, "conv1d-products").locator("tbody tr")).to_have_count(3)
    set_number(page, "conv1d-padding", 1)
    set_number(page, "conv1d-dilation", 2)
    expect(by(page, "conv1d-output-size")).to_contain_text("= 3")
    expect(by(page, "conv1d-check")).to_contain_text("max |diff| = 0")
    expect(page).to_have_url(re.compile(r"family\.c1\.typed=1%2C2%2C3%2C4%2C5|family\.c1\.typed=1,2,3,4,5"))
    # A row of the 16×16 sample past its edge: the page says what it used instead of clamping silently.
    set_number(page, "conv1d-padding", 0)
    by(page, "conv1d-source").select_option("row")
    set_number(page, "conv1d-row", 40)
    expect(by(page, "conv1d-clamp-note")).to_contain_text("The image has 16 rows (0–15): row 15 is used.")
    # The view tabs are one tab stop; the arrow keys move between them.
    by(page, "family-view-conv1d").focus()
    page.keyboard.press("ArrowRight")
    expect(by(page, "family-view-groups")).to_be_focused()
    expect(page).to_have_url(re.compile(r"family\.view=groups"))
    assert own_errors(page) == []


def test_frameworks_panel_pads_and_drops_as_each_framework_does(goto_state):
    page = goto_state("lab=family&family.view=frameworks")
    table = by(page, "framework-table")
    expect(by(page, "framework-size-tf-conv-same")).to_have_text("4 × 4")
    expect(by(page, "framework-size-torch-conv-valid")).to_have_text("3 × 3")
    expect(by(page, "framework-size-torch-conv-same")).to_have_text("error")
    expect(table).to_contain_text("padding='same' is not supported for strided convolutions")
    expect(table.locator("tr[data-row=tf-conv-same]")).to_contain_text("top 0, bottom 1, left 1, right 1")
    expect(table.locator("tr[data-row=torch-pool-ceil]")).to_contain_text("last window hangs 1 past the edge")
    expect(by(page, "framework-out-b")).to_have_text("TensorFlow/Keras: output 4 × 4")
    # Draw PyTorch's ceil_mode pooling as A: the grid grows by the overhanging column.
    table.locator("tr[data-row=torch-pool-ceil] button", has_text="A").click()
    expect(by(page, "framework-out-a")).to_have_text("PyTorch: output 4 × 4")
    expect(page).to_have_url(re.compile(r"family\.f\.a=torch-pool-ceil"))
    size = page.evaluate("(() => { const c = document.querySelector('[data-testid=framework-grid-a]'); return [c.style.width, c.style.height]; })()")
    assert size == [f"{8 * 26 + 1}px", f"{8 * 26 + 1}px"]  # 7 columns + 1 overhang, 8 rows
    set_number(page, "framework-stride", 1)
    expect(by(page, "framework-size-torch-conv-same")).to_have_text("8 × 7")
    expect(by(page, "framework-size-tf-conv-same")).to_have_text("8 × 7")
    # The current image's size (the 16×16 sample) is one click away.
    by(page, "framework-use-image").click()
    expect(by(page, "framework-size-tf-conv-same")).to_have_text("16 × 16")
    assert own_errors(page) == []


def test_groups_slider_updates_kernel_tensor_and_costs(goto_state):
    page = goto_state("lab=family&family.view=groups")
    expect(by(page, "groups-value")).to_have_text("2")
    expect(by(page, "groups-params")).to_contain_text("= 8·(8/2·3·3 + 1) = 296")
    expect(by(page, "groups-separable-ratio")).to_contain_text("3.84× params")
    slider = by(page, "groups-slider")
    slider.focus()
    slider.press("End")
    expect(by(page, "groups-value")).to_have_text("8")
    expect(by(page, "groups-params")).to_contain_text("= 80")
    expect(by(page, "groups-weight-shape")).to_contain_text("(8, 1, 3, 3)")
    expect(page).to_have_url(re.compile(r"family\.g\.groups=8"))
    # Depthwise: only the diagonal blocks exist. Read the canvas back.
    pixels = cell_colours(page, "groups-kernel", 8, [(0, 0), (0, 7), (7, 7)])
    assert pixels[1][:3] == [243, 244, 246]           # filter 0 has no weights on channel 7
    assert pixels[0][:3] != [243, 244, 246] and pixels[2][:3] != [243, 244, 246]
    assert own_errors(page) == []
