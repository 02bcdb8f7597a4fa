"""Issue 23, point 1: readouts never go stale.

A student moves the selection every way the page allows (a click, the arrow keys, a
typed row and column) and changes the knobs under it; each time the line under the
maps (and the tooltip) is read back and must name the cell and the numbers now on
screen, never the ones before.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.waits import quiet, track_requests

FIRST_ANSWER = 60_000  # a fresh server may still be loading its kernels


def click_cell(page, testid, row, col, rows, cols):
    """Click the centre of cell (row, col) of a rows×cols map canvas."""
    canvas = page.get_by_test_id(testid)
    box = canvas.bounding_box()
    canvas.click(position={"x": (col + 0.5) * box["width"] / cols, "y": (row + 0.5) * box["height"] / rows})


def focus_map(page, testid):
    """Focus a map for the arrow keys (the focusable element is the canvas's wrapper)."""
    page.get_by_test_id(testid).locator("xpath=..").focus()


def hover_cell(page, testid, row, col, rows, cols):
    canvas = page.get_by_test_id(testid)
    box = canvas.bounding_box()
    canvas.hover(position={"x": (col + 0.5) * box["width"] / cols, "y": (row + 0.5) * box["height"] / rows})


def test_pooling_readout_follows_click_keys_box_and_knob(goto_state):
    page = goto_state("lab=pool")
    inflight = track_requests(page)
    readout = page.get_by_test_id("pool-readout")
    expect(page.get_by_test_id("pool-winners").locator("li")).to_have_count(64, timeout=FIRST_ANSWER)

    # Click: output (1, 1) of the 8×8 pooled square reads window rows 2–3, cols 2–3.
    click_cell(page, "pool-output", 1, 1, 8, 8)
    page.mouse.move(0, 0)  # the mouse leaves: the line shows the chosen cell, not a hovered one
    expect(readout).to_contain_text("Chosen: y[1, 1] = 0.15")
    expect(readout).to_contain_text("window rows 2–3, cols 2–3")
    expect(readout).to_contain_text("winner x[2, 2]")

    # Keys: up and left from (1, 1) reach (0, 0); the line follows (it used to keep "y[1, 1] … x[2, 3]").
    focus_map(page, "pool-output")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    expect(readout).to_contain_text("Chosen: y[0, 0]")
    expect(readout).to_contain_text("winner x[0, 0]")
    expect(readout).not_to_contain_text("y[1, 1]")
    expect(page).to_have_url(re.compile(r"pool\.at=0(%2C|,)0"))
    expect(page.get_by_test_id("pool-cell-row")).to_have_value("0")
    expect(page.get_by_test_id("pool-cell-col")).to_have_value("0")

    # Typed: row 3, column 4 in the box under the maps.
    page.get_by_test_id("pool-cell-row").fill("3")
    page.get_by_test_id("pool-cell-col").fill("4")
    expect(readout).to_contain_text("Chosen: y[3, 4] = 0.85")
    expect(readout).to_contain_text("window rows 6–7, cols 8–9")

    # Knob: a 4×4 window (the stride follows): the output is 4×4 now and (3, 4) is outside it,
    # so nothing may be shown for it any more.
    page.get_by_test_id("pool-window").fill("4")
    page.get_by_test_id("pool-window-w").fill("4")
    expect(page.get_by_test_id("pool-output-size")).to_contain_text("16 × 16 → 4 × 4")
    quiet(page, inflight)
    expect(readout).not_to_contain_text("y[3, 4]")
    page.get_by_test_id("pool-cell-row").fill("1")
    page.get_by_test_id("pool-cell-col").fill("2")
    expect(readout).to_contain_text("Chosen: y[1, 2]")
    expect(readout).to_contain_text("window rows 4–7, cols 8–11")
    # Average pooling has no winner: the line says nothing about one.
    page.get_by_test_id("pool-kind-avg").locator("xpath=..").click()  # the segmented label
    expect(readout).to_contain_text("y[1, 2]")
    expect(readout).not_to_contain_text("winner")


def test_backward_caption_and_tooltip_follow_kernel_padding_and_delta(goto_state):
    # The numbered kernel (1 … 9) on the bright square (0.15 outside): with padding 1, y[0, 0]
    # reads the weights 5, 6, 8, 9 on 0.15 pixels, 0.15 · 28 = 4.2; with padding 0, all nine: 6.75.
    page = goto_state("lab=backward&bw.at=0,0")
    inflight = track_requests(page)
    readout = page.get_by_test_id("backward-readout")
    expect(readout).to_contain_text("Chosen: δ = 1 at y[0, 0] only", timeout=FIRST_ANSWER)
    expect(readout).to_contain_text("y[0, 0] = 4.2")

    # Knob: padding 0 (typed over a select-all), the same chosen pixel now reads 6.75.
    pad = page.get_by_test_id("backward-padding")
    pad.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    expect(readout).to_contain_text("y[0, 0] = 6.75")
    expect(readout).not_to_contain_text("4.2")

    # Kernel size 1×1 (weight 1): y[0, 0] is the pixel itself.
    page.get_by_test_id("backward-kernel-size").fill("1")
    page.get_by_test_id("backward-kernel-size-w").fill("1")
    expect(readout).to_contain_text("y[0, 0] = 0.15")
    page.get_by_test_id("backward-kernel-size").fill("3")
    page.get_by_test_id("backward-kernel-size-w").fill("3")
    expect(readout).to_contain_text("y[0, 0] = 6.75")

    # δ: all ones. No one-hot any more, so no "δ = 1 at y[0, 0] only".
    page.get_by_test_id("backward-delta-kind").select_option("ones")
    quiet(page, inflight)
    expect(readout).not_to_contain_text("only")
    # Back to one-hot with the keys: from (0, 0), one step right.
    page.get_by_test_id("backward-delta-kind").select_option("one_hot")
    expect(readout).to_contain_text("δ = 1 at y[0, 0] only")
    focus_map(page, "backward-output")
    page.keyboard.press("ArrowRight")
    expect(readout).to_contain_text("δ = 1 at y[0, 1] only")
    expect(page.get_by_test_id("backward-cell-col")).to_have_value("1")

    # Click a pixel and keep the mouse on it: once the answer is in, its tooltip says δ = 1
    # (it used to keep the δ = 0 of the map before the click).
    hover_cell(page, "backward-output", 5, 7, 14, 14)
    tooltip = page.locator("#tooltip")
    expect(tooltip).to_contain_text("y[5, 7]")
    click_cell(page, "backward-output", 5, 7, 14, 14)
    expect(page).to_have_url(re.compile(r"bw\.at=5(%2C|,)7"))
    quiet(page, inflight)
    expect(tooltip).to_contain_text("δ = 1")
    # The mouse leaves: the line is the chosen pixel's again.
    page.mouse.move(0, 0)
    expect(readout).to_contain_text("Chosen: δ = 1 at y[5, 7] only")
