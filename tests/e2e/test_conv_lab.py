"""The Convolution lab, driven in Chromium as a student would use it.

Every story checks something the page could get wrong: canvas pixels, the
output-size text against app.arithmetic, the written-out multiply-add against
app.kernels.conv2d, the state after a reload, the error state.

The stories share one page (booting the app costs seconds): each opens its state
the way a shared link does, by setting the URL's hash (the page re-reads its
state on hashchange, every field not named going back to its default), then
waits for the lab to draw the answer to that state. No fixed sleeps.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app import arithmetic, kernels
from app.imaging.samples import all_samples

CASES = json.loads((Path(__file__).parents[1] / "cases" / "shapes.json").read_text())
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()
LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=np.float32)


def sample(name: str) -> np.ndarray:
    return next(s.pixels for s in all_samples() if s.id == name)


@pytest.fixture(scope="module")
def lab(browser, live_server, browser_context_args):
    """One page for every story of this module, with console errors collected."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    # A state no story opens (bias 0.25), so every story's first state is a new computation
    # and a story run on its own (pytest -k) still sees its maps drawn.
    page.goto(f"{live_server}/#image=sample-square&conv.bias=0.25")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_selector("#lab-conv[data-rendered]", timeout=30_000)
    yield page
    context.close()


def rendered(page: Page) -> int:
    return page.evaluate("Number(document.querySelector('#lab-conv').dataset.rendered || 0)")


def wait_rendered(page: Page, before: int) -> None:
    """Until the lab has drawn a new server answer (its counter moved past `before`)."""
    page.wait_for_function("(n) => Number(document.querySelector('#lab-conv').dataset.rendered) > n", arg=before)


def show(page: Page, fragment: str) -> Page:
    """Open the state `fragment` (like following a shared link) and wait for its maps."""
    before = rendered(page)
    page.evaluate("(f) => { location.hash = f; }", fragment)
    wait_rendered(page, before)
    return page


def canvas_size(page: Page, testid: str) -> tuple[int, int]:
    return tuple(page.evaluate("(id) => { const c = document.querySelector(`[data-testid=${id}]`); return [c.height, c.width]; }", testid))


def expect_map_size(page: Page, h: int, w: int, testid: str = "feature-map-0") -> None:
    page.wait_for_function(
        "([id, h, w]) => { const c = document.querySelector(`[data-testid=${id}]`);"
        " return c && c.height === h && c.width === w && !document.querySelector('.conv-maps').classList.contains('stale'); }",
        arg=[testid, h, w],
    )


def pixel(page: Page, testid: str, row: int, col: int) -> list[int]:
    return page.evaluate(
        "([id, r, c]) => Array.from(document.querySelector(`[data-testid=${id}]`).getContext('2d').getImageData(c, r, 1, 1).data)",
        [testid, row, col],
    )


def click_cell(page: Page, testid: str, row: int, col: int) -> None:
    canvas = page.get_by_test_id(testid)
    box = canvas.bounding_box()
    h, w = canvas_size(page, testid)
    canvas.click(position={"x": (col + 0.5) * box["width"] / w, "y": (row + 0.5) * box["height"] / h})


def diverging_colour(page: Page, value: float, m: float) -> list[int]:
    """The RGB the page's diverging map gives `value` on the range [-m, m]."""
    table = page.evaluate("async () => Array.from((await import('/static/js/colormap.js')).MAPS.diverging.table)")
    t = min(255, max(0, int(np.floor((value + m) * 255 / (2 * m) + 0.5))))
    return table[3 * t: 3 * t + 3]


def test_shape_js_matches_hand_cases(lab: Page):
    """static/js/shape.js gives the same answers as app.arithmetic on tests/cases/shapes.json (every function)."""
    results = lab.evaluate(
        """async (cases) => {
          const m = await import('/static/js/shape.js');
          const geometry = (args) => {
            const g = m.convGeometry(args);
            if (!g.ok) throw new Error(g.error);
            return { hOut: g.hOut, wOut: g.wOut, pads: g.pads };
          };
          const fns = {conv_output_size: m.convOutputSize, conv_output_size_padded: m.convOutputSizePadded,
            pool_output_size: m.poolOutputSize, dropped_by_floor: m.droppedByFloor, same_padding: m.samePadding,
            conv_params: m.convParams, dense_params: m.denseParams, conv_macs: m.convMacs,
            activation_bytes: m.activationBytes, padding_sides: m.paddingSides,
            conv_transpose_output_size: m.convTransposeOutputSize, output_padding_for: m.outputPaddingFor,
            format_bytes: m.formatBytes, receptive_field: m.receptiveField, unit_field: m.unitField,
            conv_geometry: geometry};
          const out = [];
          for (const [name, list] of Object.entries(cases)) {
            if (name.startsWith('_')) continue;
            for (const c of list) {
              if (!fns[name]) { out.push([name, c, {error: 'no such function in shape.js'}]); continue; }
              try { out.push([name, c, {out: fns[name](...c.args)}]); }
              catch (e) { out.push([name, c, {error: e.message}]); }
            }
          }
          return out;
        }""",
        CASES,
    )
    assert len(results) == sum(len(v) for k, v in CASES.items() if not k.startswith("_"))
    assert any(len(case["args"]) == 6 and name == "conv_params" for name, case, _ in results), "a groups case is checked"
    for name, case, got in results:
        if "error" in case:
            assert case["error"] in got.get("error", ""), (name, case, got)
        else:
            assert got.get("out") == case["out"], (name, case, got)


def test_sobel_x_on_the_bright_square_shows_its_vertical_edges(lab: Page):
    page = show(lab, "image=sample-square&conv.filters=box")
    expect_map_size(page, 14, 14)
    before = rendered(page)
    page.get_by_test_id("kernel-preset").select_option("sobel-x")
    wait_rendered(page, before)
    expect(page.get_by_test_id("output-size")).to_contain_text("14 × 14")
    # Output column j sees input columns j..j+2; the square spans 4..11, rows 4..11.
    left, middle, right = (pixel(page, "feature-map-0", 6, c) for c in (3, 7, 10))
    assert left[0] > left[2] + 80, f"left edge should be strongly positive (orange): {left}"
    assert right[2] > right[0] + 80, f"right edge should be strongly negative (blue): {right}"
    assert min(middle[:3]) > 230, f"the flat middle should be zero (white): {middle}"
    assert pixel(page, "feature-map-0", 6, 2)[:3] == left[:3], "both columns of the edge carry the same value 2.8"
    assert page.evaluate("document.querySelector('.map-card[data-filter=\"0\"]').dataset.map") == "diverging"


def test_pick_a_sample_then_upload_a_png(lab: Page, tmp_path):
    page = show(lab, "image=sample-square&conv.k=5")
    page.get_by_test_id("sample-select").select_option("sample-checkerboard")
    expect(page.get_by_test_id("output-size")).to_contain_text("28 × 28")
    expect_map_size(page, 28, 28)

    rng = np.random.default_rng(0)
    img = Image.fromarray((rng.random((12, 20)) * 255).astype(np.uint8), mode="L")
    path = tmp_path / "noise.png"
    img.save(path)
    page.get_by_test_id("image-upload").set_input_files(str(path))
    expect(page.get_by_test_id("output-size")).to_contain_text("8 × 16")
    expect_map_size(page, 8, 16)
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_knobs_change_output_size_and_canvas_like_app_arithmetic(lab: Page):
    page = show(lab, "image=sample-square&conv.filters=sobel-x,sobel-y")
    for k, s, p, d in [(5, 2, "1", 2), (4, 3, "valid", 1)]:
        page.get_by_test_id("kernel-size").fill(str(k))
        page.get_by_test_id("stride").fill(str(s))
        page.get_by_test_id("padding").fill(p)
        page.get_by_test_id("dilation").fill(str(d))
        pad = 0 if p == "valid" else int(p)
        n = arithmetic.conv_output_size(16, k, s, pad, d)
        expect(page.get_by_test_id("output-size")).to_contain_text(f"{n} × {n}")
        expect_map_size(page, n, n)
        expect_map_size(page, n, n, "feature-map-1")
        dropped = arithmetic.dropped_by_floor(16, k, s, pad, d)
        if dropped:
            expect(page.get_by_test_id("output-size")).to_contain_text(f"drops {dropped} row")
    # A non-square kernel with "same" padding keeps 16 × 16 at stride 1 (the odd extra goes bottom/right).
    page.get_by_test_id("stride").fill("1")
    page.get_by_test_id("padding").fill("same")
    page.locator('[data-knob="kernel-size"] .lock').click()
    page.get_by_test_id("kernel-size").fill("2")
    page.get_by_test_id("kernel-size-w").fill("5")
    expect(page.get_by_test_id("output-size")).to_contain_text("16 × 16")
    expect(page.get_by_test_id("output-size")).to_contain_text("0 + 1")
    expect_map_size(page, 16, 16)


def test_clicking_an_output_pixel_writes_out_the_sum_the_kernels_compute(lab: Page):
    fragment = "image=sample-square&conv.filters=sobel-x&conv.bias=0.3&conv.pad=1&conv.mode=reflect&conv.stride=2,2&conv.dil=2,2"
    page = show(lab, fragment)
    x = sample("sample-square")
    y = kernels.conv2d(x, SOBEL_X[None, None], np.array([0.3], np.float32), stride=2, padding=1, dilation=2,
                       padding_mode="reflect")
    expect_map_size(page, *y.shape[1:])
    expect(page.get_by_test_id("receptive-field")).to_be_hidden()
    row, col = 2, 1
    click_cell(page, "feature-map-0", row, col)
    expect(page.get_by_test_id("receptive-field")).to_be_visible()
    expected = float(y[0, row, col])
    written = page.get_by_test_id("explain-sum")
    expect(written).to_have_text(f"{expected:.4f}")
    assert abs(float(written.get_attribute("data-value")) - expected) < 1e-5
    expect(page.get_by_test_id("explain-server")).to_have_text(f"{expected:.4f}")
    # 9 taps written out, each input × weight, + bias.
    assert page.locator(".conv-explain table.madd td").count() == 9
    expect(page.locator(".conv-explain")).to_contain_text("bias 0.3")
    # The receptive field sits at the window's top-left in padded coordinates.
    rf = page.get_by_test_id("receptive-field")
    assert (rf.get_attribute("data-row"), rf.get_attribute("data-col")) == (str(row * 2), str(col * 2))
    page.wait_for_function("() => location.hash.includes('conv.at=0%2C2%2C1')")


def test_groups_3_on_an_rgb_photo_is_depthwise(lab: Page):
    """3 filters, groups 3: each filter sees one channel; counts, maps and the multiply-add agree with app.*."""
    page = show(lab, "image=sample-astronaut&color=rgb&conv.filters=sobel-x,sobel-y,laplacian")
    groups = page.get_by_test_id("groups")
    assert groups.locator("option").all_inner_texts() == ["1 (standard)", "3 (depthwise)"], "only divisors of 3 and 3"
    expect(page.get_by_test_id("conv-params")).to_have_text(f"{arithmetic.conv_params(3, 3, 3, 3):,}")
    expect(page.get_by_test_id("kernel-slice-2")).to_be_visible()  # every filter has R, G and B slices
    before = rendered(page)
    groups.select_option("3")
    wait_rendered(page, before)
    k = 3
    expect(page.get_by_test_id("conv-params")).to_have_text(f"{arithmetic.conv_params(3, 3, k, k, groups=3):,}")
    expect(page.get_by_test_id("weight-shape")).to_have_text("W 3×1×3×3")
    # The kernel editor shows the one slice filter 0 has, and says which channel it weighs.
    expect(page.locator(".conv-kernel-grid .kernel-table")).to_have_count(1)
    expect(page.get_by_test_id("kernel-slice-0")).to_have_text("R")
    expect(page.locator(".groups-svg .g-outline")).to_have_count(3)
    expect(page.locator(".groups-svg .g-on")).to_have_count(3)
    # Depthwise-separable vs standard: (dw + pw) / standard, for the multiply-adds.
    std = arithmetic.conv_macs(510, 510, 3, 3, 3, 3)
    sep = arithmetic.conv_macs(510, 510, 3, 3, 3, 3, 3) + arithmetic.conv_macs(510, 510, 3, 3, 1, 1)
    expect(page.get_by_test_id("separable-ratio")).to_contain_text(f"{sep / std:.3f} (mult-adds)")

    x = sample("sample-astronaut")
    w = np.stack([SOBEL_X, SOBEL_Y, LAPLACIAN])[:, None]
    y = kernels.conv2d(x, w, np.zeros(3, np.float32), groups=3)
    assert canvas_size(page, "feature-map-0") == y.shape[1:]
    # A read-back pixel of feature-map-0 has the colour of app.kernels' value on the map's own range.
    m = float(np.abs(y[0]).max())
    row, col = 200, 300
    assert pixel(page, "feature-map-0", row, col)[:3] == diverging_colour(page, float(y[0, row, col]), m)
    # Click-to-explain writes out only the channels of filter 1's group: G. (A 510-wide map shown
    # ~140 px wide has cells smaller than a screen pixel: read back which cell the click chose.)
    click_cell(page, "feature-map-1", row, col)
    where = page.locator(".conv-explain-where")
    expect(where).to_contain_text("filter 1 · (row")
    row, col = map(int, re.search(r"row (\d+), col (\d+)", where.text_content()).groups())
    expect(page.get_by_test_id("explain-sum")).to_have_text(f"{float(y[1, row, col]):.4f}")
    expect(page.get_by_test_id("explain-server")).to_have_text(f"{float(y[1, row, col]):.4f}")
    assert abs(float(page.get_by_test_id("explain-sum").get_attribute("data-value")) - float(y[1, row, col])) < 1e-5
    assert page.locator(".madd-block").evaluate_all("(bs) => bs.map((b) => b.dataset.channel)") == ["1"]
    expect(page.get_by_test_id("explain-group")).to_contain_text("sees only channel G")
    # Screen readers hear the same result from the live region.
    expect(page.get_by_test_id("explain-live")).to_have_text(re.compile(
        rf"Filter 1, row {row}, column {col}: channel G -?[0-9.]+, plus bias 0, gives {float(y[1, row, col]):.4f}\."))
    page.wait_for_function("() => location.hash.includes('conv.groups=3')")
    # 4 filters cannot be split in 3 groups: the control offers 1 only and says why.
    page.get_by_test_id("filters").fill("4")
    expect(page.get_by_test_id("conv-params")).to_have_text(f"{arithmetic.conv_params(3, 4, 3, 3):,}")
    expect(page.locator(".conv-groups-hint")).to_contain_text("must divide")


def test_reload_restores_the_exact_state(lab: Page):
    page = show(lab, "image=sample-circle")
    page.get_by_test_id("kernel-preset").select_option("laplacian")
    page.get_by_test_id("filters").fill("3")
    page.get_by_test_id("stride").fill("2")
    page.get_by_test_id("padding-mode").select_option("circular")
    page.get_by_test_id("padding").fill("2")
    page.get_by_test_id("relu").check()
    n = arithmetic.conv_output_size(64, 3, 2, 2)
    expect_map_size(page, n, n, "feature-map-2")
    page.wait_for_function("() => location.hash.includes('conv.relu=1')")
    page.reload()
    page.wait_for_selector("#lab-conv[data-rendered]", timeout=30_000)
    expect_map_size(page, n, n, "feature-map-2")
    expect(page.get_by_test_id("kernel-preset")).to_have_value("laplacian")
    expect(page.get_by_test_id("filters")).to_have_value("3")
    expect(page.get_by_test_id("stride")).to_have_value("2")
    expect(page.get_by_test_id("padding")).to_have_value("2")
    expect(page.get_by_test_id("padding-mode")).to_have_value("circular")
    expect(page.get_by_test_id("relu")).to_be_checked()
    expect(page.get_by_test_id("sample-select")).to_have_value("sample-circle")
    expect(page.get_by_test_id("output-size")).to_contain_text(f"{n} × {n}")


def test_an_impossible_combination_shows_error_and_the_page_keeps_working(lab: Page):
    page = show(lab, "image=sample-square&conv.k=3,3")
    expect_map_size(page, 14, 14)
    page.get_by_test_id("dilation").fill("9")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("larger than the padded input")
    expect(error).to_contain_text("lower dilation to ≤ 7")
    expect(page.locator('[data-knob="dilation"]')).to_have_class(re.compile("knob-invalid"))
    expect(page.locator(".conv-maps")).to_have_class(re.compile("stale"))
    expect(page.get_by_test_id("output-size")).to_contain_text("empty")
    # The last good maps are still there, and other knobs still answer.
    assert canvas_size(page, "feature-map-0") == (14, 14)
    page.get_by_test_id("padding").fill("2")
    expect(page.get_by_test_id("output-size")).to_contain_text("2 × 2")
    expect(error).to_be_hidden()
    expect_map_size(page, 2, 2)
    page.get_by_test_id("padding").fill("same")
    page.get_by_test_id("stride").fill("2")
    expect(error).to_contain_text('"same" needs stride 1')
    expect(page.locator('[data-knob="padding"]')).to_have_class(re.compile("knob-invalid"))


def test_a_shared_link_to_an_impossible_setting_still_shows_the_input(goto_state):
    page = goto_state("image=sample-square&conv.k=15&conv.dil=3,3&conv.pad=0")
    expect(page.get_by_test_id("error")).to_contain_text("larger than the padded input")
    expect(page.get_by_test_id("output-size")).to_contain_text("empty")
    # Nothing was drawn before, so the input itself is shown: the bright square's centre
    # is light, the border around it dark.
    page.wait_for_function("() => document.querySelector('[data-testid=input-view]').width > 0")
    h, w = canvas_size(page, "input-view")
    centre, corner = pixel(page, "input-view", h // 2, w // 2), pixel(page, "input-view", h // 16, w // 16)
    assert centre[3] == 255 and corner[3] == 255
    assert sum(centre[:3]) > sum(corner[:3]) + 300


def test_pixel_grid_input_animation_and_numbers(lab: Page):
    page = show(lab, "conv.src=pixels&conv.filters=sobel-x&conv.stride=1,2")
    expect(page.get_by_test_id("pixel-editor")).to_be_visible()
    expect(page.locator(".conv-px-channels")).to_be_hidden()  # gray: no channel tabs
    expect_map_size(page, 6, 3)
    page.get_by_test_id("pixel-0-0").fill("1")
    page.get_by_test_id("pixel-0-0").press("Enter")
    grid = np.full((8, 8), 0.15, np.float32)
    grid[2:6, 2:6] = 0.85
    grid[0, 0] = 1.0
    y = kernels.conv2d(grid[None], SOBEL_X[None, None], stride=(1, 2))
    expect(page.get_by_test_id("pixel-1-0")).to_be_focused()
    page.wait_for_function("() => location.hash.includes('conv.px=')")
    # Step the sliding window: the first output, then the second, a stride of 2 columns away.
    page.get_by_test_id("anim-step").click()
    expect(page.get_by_test_id("anim-pos")).to_contain_text("step 1 / 18")
    expect(page.get_by_test_id("explain-sum")).to_have_text(f"{float(y[0, 0, 0]):.4f}")
    page.get_by_test_id("anim-step").click()
    expect(page.get_by_test_id("anim-pos")).to_contain_text("step 2 / 18 · 4/s · jumped +2 cols")
    expect(page.get_by_test_id("explain-server")).to_have_text(f"{float(y[0, 0, 1]):.4f}")
    rf = page.get_by_test_id("receptive-field")
    assert (rf.get_attribute("data-row"), rf.get_attribute("data-col")) == ("0", "2")
    # The previous window stays drawn (faintly) where the stride jump started.
    assert (rf.get_attribute("data-prev-row"), rf.get_attribute("data-prev-col")) == ("0", "0")
    # Every cell's number is printed: the editor holds all 64 values.
    expect(page.locator(".px-cell")).to_have_count(64)


def test_rgb_pixel_grid_edits_one_channel_at_a_time(lab: Page):
    page = show(lab, "conv.src=pixels&color=rgb&conv.filters=random&conv.seed=7")
    tabs = page.locator(".conv-px-channels")
    expect(tabs).to_be_visible()
    expect_map_size(page, 6, 6)
    page.get_by_test_id("pixel-channel-1").click()
    expect(page.get_by_test_id("pixel-channel-1")).to_have_attribute("aria-selected", "true")
    # The default RGB grid's green plane is a left-to-right ramp: 0.1 … 0.9.
    expect(page.get_by_test_id("pixel-3-0")).to_have_value("0.1")
    expect(page.get_by_test_id("pixel-3-7")).to_have_value("0.9")
    cell = page.get_by_test_id("pixel-2-2")
    cell.fill("0.5")
    cell.press("Enter")
    page.wait_for_function("() => location.hash.includes('conv.pxch=1')")
    # The edit went to G only; the server and the written-out sum agree, over all three channels.
    page.get_by_test_id("anim-step").click()
    page.get_by_test_id("anim-step").click()
    page.get_by_test_id("anim-step").click()
    expect(page.get_by_test_id("anim-pos")).to_contain_text("step 3 / 36")
    expect(page.locator(".madd-block")).to_have_count(3)
    got = float(page.get_by_test_id("explain-sum").get_attribute("data-value"))
    server = float(page.get_by_test_id("explain-server").get_attribute("data-value"))
    assert abs(got - server) < 1e-5
    grid = np.array(page.evaluate(
        "async () => { const m = await import('/static/js/labs/conv/model.js');"
        " const { currentPixels } = m; const { get } = await import('/static/js/state.js'); return currentPixels(get()).values; }"
    ), np.float32).reshape(3, 8, 8)
    assert grid[1, 2, 2] == np.float32(0.5) and grid[0, 2, 2] == np.float32(0.85) and grid[2, 2, 2] == np.float32(0.7)
    ours = [e for e in page.console_errors if "Failed to load resource" not in e and "failed to load" not in e]
    assert not ours, ours
