"""Issue 23, point 5: editing is forgiving.

- Settings of one task do not leak silently into the next sample: the page says which
  came along and one click puts them back (Reset this lab, in every lab; Back or Undo
  restores them).
- The Padding box takes a typed value however it was selected.
- The Network lab: a ✕ leaves an Undo where the layer was (the lines below do not slide
  under the pointer) and the editor stays with its layer; Clear stack; Add layer copies
  the layer above; kernel height and width are linked.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

FIRST_ANSWER = 60_000
LABS = ["conv", "pool", "backward", "network", "equivariance", "train", "family"]


def type_over(page, testid, text):
    """Select all of a box's text, type over it, press Enter (as a student does)."""
    page.get_by_test_id(testid).click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_settings_kept_across_samples_are_named_and_one_click_resets_them(goto_state):
    page = goto_state("lab=conv")
    expect(page.get_by_test_id("output-size")).to_contain_text("14 × 14", timeout=FIRST_ANSWER)
    # The padding that keeps 28×28-style sizes with a 5×5 kernel: typed over a select-all.
    type_over(page, "kernel-size", "5")
    type_over(page, "padding", "2")
    expect(page).to_have_url(re.compile(r"conv\.pad=2"))
    expect(page.get_by_test_id("padding")).to_have_value("2")
    expect(page.get_by_test_id("output-size")).to_contain_text("16 × 16")

    # Next task, next sample: the page says what came along.
    page.get_by_test_id("sample-select").select_option("sample-circle")
    note = page.get_by_test_id("reset-conv-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Kept from before: kernel 5 × 5, padding 2.")
    page.get_by_test_id("reset-conv-kept").click()
    expect(page.get_by_test_id("kernel-size")).to_have_value("3")
    expect(page.get_by_test_id("padding")).to_have_value("0")
    expect(page).not_to_have_url(re.compile(r"conv\.(k|pad)="))
    expect(page).to_have_url(re.compile(r"image=sample-circle"))  # the input is not the lab's to reset
    expect(note).to_contain_text("Reset: 2 settings back to the defaults.")
    # Undo restores them; so would Back.
    page.get_by_test_id("reset-conv-undo").click()
    expect(page.get_by_test_id("padding")).to_have_value("2")
    expect(page.get_by_test_id("kernel-size")).to_have_value("5")
    page.get_by_test_id("reset-conv").click()
    expect(page.get_by_test_id("kernel-size")).to_have_value("3")
    page.go_back()
    expect(page.get_by_test_id("kernel-size")).to_have_value("5")

    # Every lab has its own Reset this lab.
    for lab in LABS:
        page.get_by_test_id(f"nav-{lab}").click()
        expect(page.get_by_test_id(f"reset-{lab}")).to_be_visible()


def test_pool_and_equivariance_reset_only_their_own_fields(goto_state):
    page = goto_state("lab=pool&pool.k=3,3&pool.s=3,3&conv.k=5,5")
    expect(page.get_by_test_id("pool-window")).to_have_value("3", timeout=FIRST_ANSWER)
    page.get_by_test_id("reset-pool").click()
    expect(page.get_by_test_id("pool-window")).to_have_value("2")
    expect(page).to_have_url(re.compile(r"conv\.k=5"))  # another lab's setting stays


def test_network_stack_editing_forgives(goto_state):
    page = goto_state("lab=network")
    layers = page.locator(".net-layers li[data-index]")
    expect(layers).to_have_count(7, timeout=FIRST_ANSWER)
    # Open layer 3 (conv 64) and remove layer 1 above it: an Undo line takes layer 1's place,
    # the editor stays open on conv 64 (now layer 2).
    page.get_by_test_id("net-layer-2").locator("[data-act=select]").click()
    expect(page.get_by_test_id("net-edit-filters")).to_have_value("64")
    y_before = page.get_by_test_id("net-layer-1").bounding_box()["y"]
    page.get_by_test_id("net-layer-0").locator("[data-act=remove]").click()
    expect(layers).to_have_count(6)
    removed = page.get_by_test_id("net-removed")
    expect(removed).to_contain_text("Removed layer 1 (conv 32 3×3 same, ReLU).")
    expect(page.get_by_test_id("net-edit-filters")).to_have_value("64")
    expect(page.get_by_test_id("net-layer-1")).to_have_class(re.compile(r"\bselected\b"))
    # The line that was under the pointer did not move up into the ✕'s place.
    assert page.get_by_test_id("net-layer-0").bounding_box()["y"] >= y_before - 1
    page.get_by_test_id("net-undo").click()
    expect(layers).to_have_count(7)
    expect(page.get_by_test_id("net-total-params")).to_have_text("421,642")
    expect(removed).to_have_count(0)

    # Undo brought the editor back where it was (conv 64). Add after it: the new layer copies it.
    expect(page.get_by_test_id("net-layer-2")).to_have_class(re.compile(r"\bselected\b"))
    page.get_by_test_id("net-add-type").select_option("conv")
    page.get_by_test_id("net-add").click()
    expect(layers).to_have_count(8)
    expect(page.get_by_test_id("net-layer-3")).to_contain_text("conv 64 3×3 same, ReLU")

    # Linked kernel: one value sets both; unlinked, each its own.
    page.get_by_test_id("net-edit-kernel-h").fill("5")
    expect(page.get_by_test_id("net-layer-3")).to_contain_text("conv 64 5×5 same")
    expect(page.get_by_test_id("net-edit-kernel-w")).to_have_value("5")
    page.get_by_test_id("net-edit-kernel-link").click()
    expect(page.get_by_test_id("net-edit-kernel-link")).to_have_attribute("aria-pressed", "false")
    page.get_by_test_id("net-edit-kernel-h").fill("7")
    expect(page.get_by_test_id("net-layer-3")).to_contain_text("conv 64 7×5 same")
    page.get_by_test_id("net-edit-kernel-link").click()  # linking takes the rows value for both
    expect(page.get_by_test_id("net-layer-3")).to_contain_text("conv 64 7×7 same")

    # Clear stack, and back.
    page.get_by_test_id("net-clear").click()
    expect(layers).to_have_count(0)
    expect(page.get_by_test_id("net-removed")).to_contain_text("Removed all 8 layers.")
    page.get_by_test_id("net-undo").click()
    expect(layers).to_have_count(8)


def test_the_more_labs_reset_keeps_the_open_view(goto_state):
    page = goto_state("lab=family&family.view=frameworks&family.f.s=1")
    expect(page.get_by_test_id("framework-stride")).to_have_value("1", timeout=FIRST_ANSWER)
    page.get_by_test_id("reset-family").click()
    expect(page.get_by_test_id("framework-stride")).to_have_value("2")
    expect(page).to_have_url(re.compile(r"family\.view=frameworks"))
    expect(page.get_by_test_id("family-panel-frameworks")).to_be_visible()
