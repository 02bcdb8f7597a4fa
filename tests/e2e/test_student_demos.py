"""Issue 23, point 4: demos ask the obvious question.

- Equivariance: the "exactly 0" demo shifts by one pixel and says so on its button;
  each shift has a number box; zeros padding is "interior only"; the pooled
  percentage says it was compared in place.
- Network: the chapter's comparison of one 5×5 with two 3×3 at equal channel counts
  is one click, with the numbers and the note on why input depth 1 misleads.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

FIRST_ANSWER = 60_000


def test_equivariance_demos_say_their_shift_and_boxes_take_one(goto_state):
    page = goto_state("lab=equivariance")
    diff = page.get_by_test_id("equivariance-diff")
    expect(diff).to_contain_text("interior 0", timeout=FIRST_ANSWER)
    circular = page.get_by_test_id("eq-demo-circular")
    expect(circular).to_have_text("Circular padding, shift (0, +1) px: exactly 0")
    expect(page.get_by_test_id("eq-demo-stride-odd")).to_have_text("Stride 2, shift (0, +1) px: breaks")
    expect(page.get_by_test_id("eq-demo-stride-even")).to_have_text("Stride 2, shift (0, +2) px: holds")
    circular.click()
    expect(circular).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("eq-dx-box")).to_have_value("1")
    expect(page.get_by_test_id("eq-dy-box")).to_have_value("0")
    expect(diff).to_have_text("max |difference|: interior 0 · whole map 0")

    # A number box: type −5 (the slider follows), then back to 1 with the slider's arrow keys.
    page.get_by_test_id("eq-dx-box").fill("-5")
    expect(page).to_have_url(re.compile(r"eq\.dx=-5"))
    expect(page.get_by_test_id("eq-dx")).to_have_value("-5")
    expect(circular).to_have_attribute("aria-pressed", "false")
    page.get_by_test_id("eq-dx").focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("eq-dx-box")).to_have_value("1")
    page.get_by_test_id("eq-dx-box").fill("99")
    expect(page.get_by_test_id("eq-dx-box")).to_have_class(re.compile(r"\binvalid\b"))
    expect(page).to_have_url(re.compile(r"eq\.dx=1(&|$)"))

    # Zeros padding: exact inside, not at the border, and the verdict says "only".
    page.get_by_test_id("eq-padding-mode").select_option("zeros")
    verdict = page.locator("#lab-equivariance .eq-verdict")
    expect(verdict).to_contain_text("Equivariant in the interior only")
    expect(verdict).to_have_class(re.compile(r"\bwarn\b"))
    expect(verdict).not_to_have_class(re.compile(r"\bok\b"))
    # Stride 2, shift 1 breaks; the pooled cells may still be unchanged: compared in place.
    page.get_by_test_id("eq-demo-stride-odd").click()
    expect(verdict).to_contain_text("Not equivariant")
    expect(page.get_by_test_id("eq-pool-result")).to_contain_text(re.compile(r"\d+ % of the pooled cells did not change, compared in place"))


def test_network_compares_one_5x5_with_two_3x3_at_equal_channels(goto_state):
    page = goto_state("lab=network")
    expect(page.get_by_test_id("net-total-params")).to_have_text("421,642", timeout=FIRST_ANSWER)
    expect(page.get_by_test_id("net-compare-note")).to_have_count(0)
    page.get_by_test_id("net-preset").select_option("pair-3x3")
    expect(page.get_by_test_id("net-total-params")).to_have_text("18,496")
    expect(page.get_by_test_id("net-input-c")).to_have_value("32")
    note = page.get_by_test_id("net-compare-note")
    expect(note).to_contain_text("one 5×5 conv 25,632 parameters")
    expect(note).to_contain_text("two 3×3 convs 18,496")
    expect(note).to_contain_text("28 % fewer")
    expect(note).to_contain_text("Why input depth 1 misleads")
    expect(note).to_contain_text("11.5× more")
    page.get_by_test_id("net-preset").select_option("single-5x5")
    expect(page.get_by_test_id("net-total-params")).to_have_text("25,632")
    expect(page.get_by_test_id("net-preset")).to_have_value("single-5x5")
    expect(note).to_contain_text("two 3×3 convs 18,496")
    # A shared link names the preset again.
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(page.get_by_test_id("net-preset")).to_have_value("single-5x5")
