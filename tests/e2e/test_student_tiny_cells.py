"""Issue 23, point 2: tiny cells are reachable, the arrow keys are offered, ties are said.

- On a 512 → 256 pooled photo each output cell is under one screen pixel: the student
  types row 0, column 0 and gets that cell, its window and the magnifier on it.
- Every map with a selection has the row/column box and, beside it, the arrow-key hint.
- Four equal values in a max-pool window get one ring: the page says it is a tie and
  that the first in reading order wins, and marks the others.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

FIRST_ANSWER = 60_000


def test_a_sub_pixel_pooled_cell_is_chosen_by_typing_its_row_and_column(goto_state):
    page = goto_state("lab=pool&image=sample-camera&pool.delta=one_hot")
    expect(page.get_by_test_id("pool-output-size")).to_contain_text("512 × 512 → 256 × 256", timeout=FIRST_ANSWER)
    box = page.get_by_test_id("pool-output").bounding_box()
    assert box["width"] / 256 < 1, "each pooled cell is under one CSS pixel: too small to click"
    expect(page.get_by_test_id("pool-cell-range")).to_have_text("(row 0–255, col 0–255)")
    page.get_by_test_id("pool-cell-row").fill("0")
    page.get_by_test_id("pool-cell-col").fill("0")
    expect(page).to_have_url(re.compile(r"pool\.at=0(%2C|,)0"))
    expect(page.get_by_test_id("pool-readout")).to_contain_text("Chosen: y[0, 0]")
    expect(page.get_by_test_id("pool-readout")).to_contain_text("window rows 0–1, cols 0–1")
    # The magnifier moves to the top-left corner, where the one-hot δ now sits.
    expect(page.get_by_test_id("pool-zoom-input").locator("xpath=..")).to_have_attribute("data-crop", re.compile(r"^0,0,"))
    # Out of range: the box is marked and nothing moves.
    page.get_by_test_id("pool-cell-row").fill("256")
    expect(page.get_by_test_id("pool-cell-row")).to_have_class(re.compile(r"\binvalid\b"))
    expect(page).to_have_url(re.compile(r"pool\.at=0(%2C|,)0"))


def test_every_lab_with_a_selection_offers_the_box_and_the_arrow_keys(goto_state):
    labs = [
        ("lab=conv", "conv-cell"),
        ("lab=pool", "pool-cell"),
        ("lab=backward", "backward-cell"),
        ("lab=network", "net-cell"),
        ("lab=family&family.view=transpose", "transpose-cell"),
    ]
    for fragment, testid in labs:
        page = goto_state(fragment)
        expect(page.get_by_test_id(testid)).to_be_visible(timeout=FIRST_ANSWER)
        expect(page.get_by_test_id(f"{testid}-keys")).to_contain_text("arrow keys")
        expect(page.get_by_test_id(f"{testid}-row")).to_be_visible()
    # The Equivariance lab's selection is the shift: its boxes and the slider's arrow keys.
    page = goto_state("lab=equivariance")
    expect(page.locator("#lab-equivariance .eq-shift")).to_contain_text("arrow keys")
    expect(page.get_by_test_id("eq-dx-box")).to_be_visible()

    # The transposed convolution's y takes the arrow keys and the box follows.
    page = goto_state("lab=family&family.view=transpose&family.t.cell=2,2")
    expect(page.get_by_test_id("transpose-cell-row")).to_have_value("2", timeout=FIRST_ANSWER)
    page.get_by_test_id("transpose-output").focus()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"family\.t\.cell=2(%2C|,)3"))
    expect(page.get_by_test_id("transpose-cell-col")).to_have_value("3")
    page.get_by_test_id("transpose-cell-col").fill("4")
    expect(page).to_have_url(re.compile(r"family\.t\.cell=2(%2C|,)4"))
    expect(page.get_by_test_id("transpose-cell-sum")).to_contain_text("y[2,4]")


def test_a_tie_in_a_max_pool_window_is_said_and_marked(goto_state):
    page = goto_state("lab=pool&pool.at=0,0")
    readout = page.get_by_test_id("pool-readout")
    # The square's top-left window holds four 0.15s: x[0, 0] wins as the first in reading order.
    expect(readout).to_contain_text("winner x[0, 0]: a tie, 4 cells hold 0.15", timeout=FIRST_ANSWER)
    expect(readout).to_contain_text("the first in reading order (left to right, top to bottom) wins")
    expect(page.get_by_test_id("pool-input")).to_have_attribute("data-ties", "0,1 1,0 1,1")
    # The Sobel magnitude has distinct values in the window at (2, 1): no tie there.
    page.get_by_test_id("pool-source").select_option("sobel_mag")
    page.get_by_test_id("pool-cell-row").fill("2")
    page.get_by_test_id("pool-cell-col").fill("1")
    expect(readout).to_contain_text("Chosen: y[2, 1]")
    expect(readout).not_to_contain_text("a tie")
    expect(page.get_by_test_id("pool-input")).to_have_attribute("data-ties", "")
