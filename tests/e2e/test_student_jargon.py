"""Issue 23, point 6: jargon explained where it appears.

- The Convolution lab's multiply-add says what "padded" coordinates and "float64 · server" mean.
- Colour bars say what their tick is.
- The frameworks view: a key to the grid's numbers and hatching right under the grids, and
  one plain answer line per framework (TensorFlow's pads; PyTorch's refusal at stride 2 and
  the padding=p that stands in).
- The share link is shown in a box a student can copy by hand, and it follows the state.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

FIRST_ANSWER = 60_000


def test_multiply_add_and_colour_bars_say_what_their_words_mean(goto_state):
    page = goto_state("lab=conv&conv.at=0,2,3&conv.stride=2")
    window = page.get_by_test_id("explain-window")
    expect(window).to_contain_text("top-left corner in the padded input", timeout=FIRST_ANSWER)
    expect(window).to_contain_text("row 2 × stride 2 = 4, column 3 × stride 2 = 6")
    explain = page.get_by_test_id("explain")
    expect(explain).to_contain_text("added up in this page, in double precision: float64")
    expect(explain).to_contain_text("the server's map (float32) holds")
    expect(explain).to_contain_text("equal to 4 decimals")
    page = goto_state("lab=pool&pool.delta=random")
    expect(page.locator("#lab-pool .colorbar-zero").first).to_have_text("(the tick marks 0)", timeout=FIRST_ANSWER)


def test_frameworks_view_answers_in_one_line_per_framework(goto_state):
    page = goto_state("lab=family&family.view=frameworks")
    legend = page.get_by_test_id("framework-legend")
    expect(legend).to_contain_text("how many windows read that cell", timeout=FIRST_ANSWER)
    expect(legend).to_contain_text("hatched: padding")
    tf = page.get_by_test_id("framework-answer-tf")
    torch = page.get_by_test_id("framework-answer-torch")
    # 8 × 7 input, 3×3 kernel, stride 2: TF "same" gives 4 × 4 with 0 top / 1 bottom, 1 left / 1 right.
    expect(tf).to_contain_text("pads 0 top and 1 bottom, 1 left and 1 right → output 4 × 4")
    expect(torch).to_contain_text("refuses padding='same' at stride 2")
    expect(torch).to_contain_text("padding=1 stands in: the same 4 × 4 output")
    expect(torch).to_contain_text("same size, different numbers at the border")
    # Stride 1: PyTorch's own "same" works, and says its pads.
    page.get_by_test_id("framework-stride").fill("1")
    page.get_by_test_id("framework-stride").press("Enter")
    expect(torch).to_contain_text("padding='same' pads 1 top and 1 bottom, 1 left and 1 right → output 8 × 7")
    expect(tf).to_contain_text("→ output 8 × 7")


def test_the_share_link_is_in_a_box_that_follows_the_state(goto_state):
    page = goto_state("lab=pool&pool.k=3,3")
    expect(page.get_by_test_id("share-box")).to_be_hidden()
    page.get_by_test_id("share-link").click()
    box = page.get_by_test_id("share-url")
    expect(box).to_be_visible()
    expect(box).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/#.*pool\.k=3(%2C|,)3"))
    assert page.evaluate("() => { const b = document.querySelector('#share-url'); return b.selectionStart === 0 && b.selectionEnd === b.value.length; }")
    expect(page.get_by_test_id("share-status")).not_to_be_empty()
    # The link follows a later change, and opens that state.
    page.get_by_test_id("pool-window").fill("4")
    expect(box).to_have_value(re.compile(r"pool\.k=4(%2C|,)3"))
    url = box.input_value()
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("pool-window")).to_have_value("4")
    expect(page.get_by_test_id("pool-window-w")).to_have_value("3")
