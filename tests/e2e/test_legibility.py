"""Readable from the back of the room and on a phone: legibility checks on every lab, and
one story per point of what a teacher hit going through every lab at three sizes.

The audits themselves (JavaScript run in the page) live in legibility.py; here they run
on every lab and every page:
* presentation mode at 1920×1080: no visible text under 16 px, no number under 18 px
  (in-cell numbers included), no select or label cut off;
* 1280×720: the kernel weights are on screen and on top, and no control is covered;
* 390×844: no horizontal scroll of the page, nothing cut off.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from app.labs.classroom.lessons import LESSONS, by_slug

from tests.e2e.legibility import COVERED, CUT_TEXT, KERNEL_IN_VIEW, MIN_NUMBER_PX, MIN_TEXT_PX, PAGE_WIDTH, TEXT_SIZES

pytestmark = pytest.mark.e2e

LABS = ["conv", "pool", "backward", "network", "equivariance", "train", "inside", "family",
        "family&family.view=conv1d", "family&family.view=groups", "family&family.view=frameworks",
        "family&family.view=fft", "family&family.view=separable", "family&family.view=im2col"]
PAGES = ["/lessons", "/compare"]

# Counts the page's requests in flight, so a test can wait until a lab has drawn its answer.
INFLIGHT = """
(() => {
  window.__inflight = 0;
  const fetch0 = window.fetch;
  window.fetch = (...args) => {
    window.__inflight++;
    return fetch0(...args).finally(() => { window.__inflight--; });
  };
})();
"""


def tid(page, name):
    return page.get_by_test_id(name)


@pytest.fixture
def sized(browser, live_server):
    """sized(w, h) -> a fresh page of that viewport with the request counter installed."""
    contexts = []

    def make(width, height):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(INFLIGHT)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def settle(page):
    """Wait until the page has booted, no request is in flight and two frames were drawn."""
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_function("() => window.__inflight === 0", timeout=30_000)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function("() => window.__inflight === 0", timeout=30_000)


def open_lab(page, live_server, fragment):
    page.goto("about:blank")
    page.goto(f"{live_server}/#lab={fragment}")
    settle(page)
    return page


# --- the class of problem, on every lab ------------------------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_presentation_mode_text_reads_from_the_back_row(sized, live_server, lab):
    page = open_lab(sized(1920, 1080), live_server, f"{lab}&present=1")
    expect(page.locator("html")).to_have_class(re.compile(r"\bpresent\b"))
    assert page.evaluate(TEXT_SIZES, [MIN_TEXT_PX, MIN_NUMBER_PX]) == []
    assert page.evaluate(CUT_TEXT) == []
    assert page.errors == []


@pytest.mark.parametrize("lab", LABS)
def test_nothing_covers_a_control_at_1280x720(sized, live_server, lab):
    page = open_lab(sized(1280, 720), live_server, lab)
    assert page.evaluate(COVERED, "main") == []
    assert page.evaluate(CUT_TEXT) == []


@pytest.mark.parametrize("fragment", [
    "conv",                                                            # the chapter's start
    "conv&conv.k=3,7&conv.bias=0.5",                                   # a 3×7 kernel and its bias box
    "conv&image=sample-astronaut&color=rgb&conv.filters=sobel-x,sobel-y",  # RGB slices
    "conv&conv.filters=sobel-x,sobel-y,laplacian,box,gaussian,sharpen",
])
def test_kernel_weights_are_on_screen_and_uncovered_at_1280x720(sized, live_server, fragment):
    page = open_lab(sized(1280, 720), live_server, fragment)
    expect(tid(page, "kernel-cell-0-0-0")).to_be_visible()
    assert page.evaluate(KERNEL_IN_VIEW) == []


@pytest.mark.parametrize("where", [f"/#lab={lab}" for lab in LABS] + PAGES)
def test_phone_width_never_scrolls_the_page_sideways(sized, live_server, where):
    page = sized(390, 844)
    page.goto(live_server + where)
    if where.startswith("/#"):
        settle(page)
    else:
        page.wait_for_load_state("load")
        page.wait_for_function("() => window.__inflight === 0")
    assert page.evaluate(PAGE_WIDTH) == []
    assert page.evaluate(CUT_TEXT) == []


def test_numbers_in_cells_are_rounded_to_the_map_and_fit_their_cell(app_page):
    """The one rule every map uses (heatmap.cellText / planCellNumbers), run in the browser."""
    result = app_page.evaluate("""async () => {
      const h = await import("/static/js/heatmap.js");
      const ctx = document.createElement("canvas").getContext("2d");
      const noise = [-6.0e-8, 1.2e-7, 0, 2.8284, -2.8284, 0.7071];
      const plan = h.planCellNumbers(ctx, noise, { cellW: 40 });
      ctx.font = plan.font;
      return {
        texts: noise.map((v) => h.cellText(v, 2.8284)),
        planned: noise.map((_, i) => plan.text(i)),
        widest: Math.max(...noise.map((_, i) => ctx.measureText(plan.text(i)).width)),
        px: plan.px,
        tiny: h.planCellNumbers(ctx, noise, { cellW: 12 }),
      };
    }""")
    assert result["texts"] == ["0", "0", "0", "2.83", "−2.83", "0.71"]
    assert result["planned"][:3] == ["0", "0", "0"]
    assert result["widest"] <= 40 - 3
    assert result["px"] >= 9
    assert result["tiny"] is None  # too small to read: no numbers rather than spilled ones


def test_present_mode_hides_cell_numbers_that_cannot_reach_18px(sized, live_server):
    page = open_lab(sized(1920, 1080), live_server, "backward&present=1")
    sizes = page.evaluate("() => [...document.querySelectorAll('canvas[data-number-px]')].map((c) => Number(c.dataset.numberPx))")
    assert sizes, "the weight gradient's 3×3 cells print their numbers"
    assert min(sizes) >= MIN_NUMBER_PX


# --- the stories ---------------------------------------------------------------------------------

def test_the_chapters_laplacian_is_the_preset(goto_state):
    """Point 1: [0 −1 0; −1 4 −1; 0 −1 0]; on the bright square the edges read +1.4."""
    page = goto_state("lab=conv&conv.filters=laplacian")
    cells = [float(tid(page, f"kernel-cell-0-{a}-{b}").input_value()) for a in range(3) for b in range(3)]
    assert cells == [0, -1, 0, -1, 4, -1, 0, -1, 0]
    caption = page.locator("#lab-conv .map-card figcaption").first
    expect(caption).to_contain_text("max 1.4")
    expect(caption).to_contain_text("min −0.7")


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_max_side_resamples_samples_and_uploads(goto_state, tmp_path):
    """Point 2: 64 on a 512×512 sample shrinks it; an upload follows the same knob both ways."""
    page = goto_state("lab=conv&image=sample-camera")
    expect(page.locator(".conv-input-dims")).to_have_text("gray 512 × 512")
    with page.expect_request(re.compile(r"/api/images/sample-camera/resized\?max_side=64")):
        tid(page, "max-side").select_option("64")
    expect(page.locator(".conv-input-dims")).to_have_text("gray 64 × 64")
    expect(tid(page, "image-meta")).to_contain_text("64 × 64 px (from 512 × 512)")
    expect(tid(page, "feature-map-0")).to_have_attribute("width", "62")
    expect(page).to_have_url(re.compile(r"maxSide=64"))

    # An upload 100 rows × 400 columns: at max side 64 the labs compute on 16 × 64.
    path = tmp_path / "wide.png"
    path.write_bytes(png_bytes(np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (100, 1))))
    tid(page, "image-upload").set_input_files(str(path))
    expect(page.locator(".conv-input-dims")).to_have_text("gray 16 × 64", timeout=10_000)
    tid(page, "max-side").select_option("512")
    expect(page.locator(".conv-input-dims")).to_have_text("gray 100 × 400")
    tid(page, "max-side").select_option("32")
    expect(page.locator(".conv-input-dims")).to_have_text("gray 8 × 32")
    # The other labs compute on the same copy.
    tid(page, "nav-pool").click()
    expect(tid(page, "nav-pool")).to_have_attribute("aria-current", "page")
    page.wait_for_function("() => document.querySelector('#lab-pool canvas.map-canvas')?.width === 32")


def test_lesson_4_opens_at_max_side_64(goto_state):
    lesson = by_slug("parameters-vs-dense")
    assert lesson.state["maxSide"] == 64
    page = goto_state(lesson.fragment())
    expect(tid(page, "max-side")).to_have_value("64")
    expect(page.locator(".conv-input-dims")).to_have_text("gray 64 × 64", timeout=10_000)
    expect(tid(page, "conv-params")).to_have_text("20")


def test_gray_upload_after_rgb_is_gray_everywhere(goto_state, tmp_path):
    """Point 7: Astronaut in RGB, then a gray 3×5 PNG: one consistent, gray state, H × W everywhere."""
    page = goto_state("lab=conv&image=sample-astronaut&color=rgb")
    expect(page.locator(".conv-input-dims")).to_have_text("RGB 512 × 512")
    expect(tid(page, "weight-shape")).to_have_text("W 2×3×3×3")
    path = tmp_path / "gray.png"
    path.write_bytes(png_bytes(np.arange(15, dtype=np.uint8).reshape(3, 5) * 17))
    tid(page, "image-upload").set_input_files(str(path))
    expect(page.locator(".conv-input-dims")).to_have_text("gray 3 × 5", timeout=10_000)
    expect(tid(page, "image-meta")).to_contain_text("3 × 5 px")
    expect(tid(page, "image-meta")).to_contain_text("used as gray")
    expect(tid(page, "color-gray")).to_be_checked()
    expect(tid(page, "weight-shape")).to_have_text("W 2×1×3×3")
    expect(tid(page, "conv-params")).to_have_text("20")
    expect(page).to_have_url(re.compile(r"^(?!.*color=rgb)"))
    # A link may still ask for RGB of a gray image: then every part of the page says so.
    page.evaluate("() => { location.hash += '&color=rgb'; }")
    expect(page.locator(".conv-input-dims")).to_have_text("RGB 3 × 5")
    expect(tid(page, "image-meta")).to_contain_text("used as RGB (3 equal channels)")
    expect(tid(page, "weight-shape")).to_have_text("W 2×3×3×3")
    page.locator("label", has=tid(page, "color-gray")).click()
    expect(page.locator(".conv-input-dims")).to_have_text("gray 3 × 5")
    # "same" shows whole in its box.
    tid(page, "padding").fill("same")
    tid(page, "padding").press("Enter")
    expect(tid(page, "padding")).to_have_value("same")
    assert page.evaluate(CUT_TEXT) == []


def test_same_padding_at_stride_5_prints_no_size(goto_state):
    """Point 8: an impossible setting shows its formula without a made-up result."""
    page = goto_state("lab=conv&conv.pad=same&conv.stride=5")
    panel = tid(page, "output-size")
    expect(panel).to_contain_text("not possible")
    expect(tid(page, "size-impossible")).to_contain_text("stride 1")
    text = panel.inner_text()
    assert "= 4" not in text and "= ?" in text


def test_exported_maps_have_titles_and_colour_bars(goto_state):
    """Point 8: the PNG of the maps explains itself: titles above, colour bars with numbers below."""
    page = goto_state("lab=conv&conv.filters=sobel-x,sobel-y")
    expect(tid(page, "feature-map-1")).to_be_visible()
    map_h = page.evaluate("() => document.querySelector('[data-testid=feature-map-0]').getBoundingClientRect().height")
    with page.expect_download() as info:
        page.locator(".conv-export-maps").click()
    img = np.asarray(Image.open(info.value.path()).convert("RGB")).astype(int)
    height, width, _ = img.shape
    assert height >= map_h + 60, "room for a title and a colour bar"
    dark = (img.sum(axis=2) < 200)
    top = 50  # the maps start under a 40 px title band and a 10 px margin
    assert dark[:top - 2].sum() > 50, "title text above the maps"
    blue = (img[:, :, 2] > 90) & (img[:, :, 0] < 40)   # the diverging map's dark blue end
    rows = np.nonzero(blue.any(axis=1))[0]
    assert rows.size and rows.max() > top + map_h + 2, "a colour bar under the maps"
    assert dark[int(top + map_h + 2):].sum() > 20, "numbers under the colour bar"


def test_held_out_picker_does_not_give_the_answer_away(goto_state):
    page = goto_state("lab=train")
    options = tid(page, "train-digit-select").locator("option")
    expect(options).to_have_count(41, timeout=10_000)
    texts = options.all_inner_texts()
    assert all(re.fullmatch(r"(a held-out digit…|held-out digit #\d+)", t) for t in texts), texts


def test_teacher_link_dialog_names_controls_as_people_read_them(goto_state):
    page = goto_state("lab=conv")
    tid(page, "tool-menu").click()
    tid(page, "tool-teacher").click()
    rows = tid(page, "teacher-controls").locator("tbody th")
    expect(rows.first).to_be_visible()
    names = rows.all_inner_texts()
    for name in ["Camera", "Kernel weights", "Random", "ReLU", "Stride", "Padding mode"]:
        assert name in names, names
    assert not any(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", n) for n in names), names  # no raw test ids
    assert tid(page, "teacher-lock-kernel-grid").count() == 1
    assert tid(page, "teacher-lock-kernel-cell-0-0-0").count() == 0  # one row for the grid, not one per cell
    assert tid(page, "teacher-lock-randomise").get_attribute("aria-label") == "Lock: Random"


def test_activation_memory_is_written_in_mib(goto_state):
    """Point 8: 1,048,576 bytes is "1.0 MiB", never "1.02e+3 KiB"."""
    page = goto_state("lab=conv&image=sample-camera&conv.filters=sobel-x")
    cost = tid(page, "param-count")
    expect(cost).to_contain_text("1.0 MiB →")
    assert "e+" not in cost.inner_text()


def test_camera_error_message_is_whole(sized, live_server):
    page = sized(1280, 720)
    page.add_init_script("""navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(Object.assign(new Error("denied"), { name: "NotAllowedError" }));""")
    page.goto(live_server + "/#lab=conv")
    settle(page)
    tid(page, "camera-toggle").click()
    status = tid(page, "camera-status")
    expect(status).to_contain_text("site settings")
    inside = status.evaluate("""(el) => {
      const r = el.getBoundingClientRect();
      const p = el.closest('.panel').getBoundingClientRect();
      return r.left >= p.left && r.right <= p.right + 0.5 && el.scrollWidth <= el.clientWidth + 1;
    }""")
    assert inside
    assert page.evaluate(CUT_TEXT) == []


def test_the_train_lab_has_a_lesson(goto_state, live_server):
    lessons = [lesson for lesson in LESSONS if lesson.lab == "train"]
    assert lessons
    page = goto_state("lab=train")
    page.goto(live_server + "/lessons")
    expect(page.get_by_test_id(f"lesson-{lessons[0].slug}")).to_be_visible()
    page = goto_state(lessons[0].fragment())
    expect(tid(page, "nav-train")).to_have_attribute("aria-current", "page")
    expect(tid(page, "caption")).to_contain_text("edge")
    expect(tid(page, "train-optimizer")).to_be_disabled()
