"""The Network lab in Chromium: the canonical stack's table, a deep unit's two fields, VGG-16, an invalid layer."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def rows(page):
    return page.locator("[data-testid='network-summary'] tbody tr")


def test_canonical_table_and_a_deep_units_fields(goto_state):
    page = goto_state("lab=network")
    table = page.get_by_test_id("network-summary")
    expect(rows(page)).to_have_count(7)
    expect(rows(page).nth(0).locator("[data-col='params']")).to_have_text("320")
    expect(rows(page).nth(0).locator("[data-col='output']")).to_have_text("28×28×32")
    expect(rows(page).nth(3).locator("[data-col='output']")).to_have_text("7×7×64")
    expect(rows(page).nth(3).locator("[data-col='rf']")).to_have_text("10")
    expect(rows(page).nth(3).locator("[data-col='jump']")).to_have_text("4")
    expect(page.get_by_test_id("net-total-params")).to_have_text("421,642")
    expect(page.get_by_test_id("net-summary-text")).to_contain_text("conv 32 3×3 same, ReLU")
    # the same numbers as the API
    api = page.evaluate(
        """async () => (await (await fetch('/api/network/summary', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({input_shape: [1, 28, 28], layers: (await (await fetch('/api/network/presets')).json()).canonical.layers})})).json())"""
    )
    assert [r["params"] for r in api["layers"]] == [int(t.replace(",", "")) for t in rows(page).locator("[data-col='params']").all_text_contents()]

    # chart: one dot per layer
    expect(page.get_by_test_id("net-rf-chart").locator("circle")).to_have_count(7)

    # click a deep unit: the second pool's map, near its top-left corner, so the field reaches into padding
    deep = page.get_by_test_id("net-map-3-1")
    expect(deep).to_be_visible()
    box = deep.bounding_box()
    deep.click(position={"x": box["width"] * 0.5 / 7, "y": box["height"] * 0.5 / 7})  # unit (0, 0)
    expect(page.get_by_test_id("net-unit-caption")).to_contain_text("Layer 4")
    expect(page.get_by_test_id("net-unit-caption")).to_contain_text("10×10 px, rows -3…6")
    expect(page.get_by_test_id("net-erf-fraction")).to_contain_text(re.compile(r"gradient (mass|is zero)"))
    expect(page).to_have_url(re.compile(r"net\.unit=3(%2C|,)1(%2C|,)0(%2C|,)0"))
    # both fields drawn: the theoretical view holds the image plus hatched padding, the effective one a heat map
    size = page.evaluate(
        """() => ['net-rf-theory', 'net-rf-effective'].map(id => {
            const c = document.querySelector(`[data-testid='${id}']`); return [c.width, c.height]; })"""
    )
    assert size == [[31, 31], [31, 31]]  # 28 + the 3 padding rows/columns the field reaches
    pixels = page.evaluate(
        """() => { const ctx = document.querySelector("[data-testid='net-rf-theory']").getContext('2d');
            const d = ctx.getImageData(0, 0, 31, 31).data; return [d[0], d[1], d[2], d[4 * (31 * 20 + 20)]]; }"""
    )
    assert pixels[:3] == [226, 228, 232]  # the padding cell at the top-left corner
    overlay = page.evaluate(
        """() => { const c = document.querySelector("[data-view='effective'] .net-field-overlay");
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert overlay > 100  # the field's outline and hatching are drawn over the heat map
    # keyboard: the maps region takes arrow keys and moves the chosen unit
    page.get_by_test_id("net-maps").focus()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"net\.unit=3(%2C|,)1(%2C|,)0(%2C|,)1"))
    expect(page.get_by_test_id("net-unit-caption")).to_contain_text("(0, 1)")
    assert not page.console_errors


def test_small_field_is_zoomed_and_its_95_percent_region_outlined(goto_state):
    page = goto_state("lab=network&net.stack=c4.k3.same&net.input=1x64x64&net.unit=0,0,30,30&net.weights=ones")
    expect(page.get_by_test_id("net-zoom-note")).to_contain_text("rows 27…33, columns 27…33 of the 64×64 input")
    expect(page.get_by_test_id("net-erf-fraction")).to_contain_text("gradient mass")
    # the views show the 3×3 field with a 2-pixel margin, not the whole 64×64 input
    assert page.evaluate("() => document.querySelector(\"[data-testid='net-rf-effective']\").width") == 7
    page.get_by_test_id("net-zoom").uncheck()
    expect(page.get_by_test_id("net-zoom-note")).to_be_hidden()
    assert page.evaluate("() => document.querySelector(\"[data-testid='net-rf-theory']\").width") == 64


def test_vgg16_preset_and_invalid_layer(goto_state):
    page = goto_state("lab=network")
    page.get_by_test_id("net-preset").select_option("vgg16")
    expect(rows(page)).to_have_count(22)
    expect(page.get_by_test_id("net-total-params")).to_have_text("138,357,544")
    expect(rows(page).nth(17).locator("[data-col='rf']")).to_have_text("212")
    expect(rows(page).nth(17).locator("[data-col='jump']")).to_have_text("32")
    expect(page.get_by_test_id("net-map-17-0")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"net\.stack=c64.*net\.input=3x224x224"))

    # shrink the input so the deep layers no longer fit: those layers are marked, the rest stays
    page.get_by_test_id("net-input-h").fill("20")
    expect(page.get_by_test_id("net-layer-error-17")).to_be_visible()
    expect(page.get_by_test_id("net-layer-error-17")).to_contain_text("larger than the padded input")
    expect(rows(page).nth(17)).to_have_class(re.compile("net-row-invalid"))
    expect(rows(page).nth(0).locator("[data-col='output']")).to_have_text("20×224×64")
    expect(page.get_by_test_id("error")).to_contain_text("Layer")
    # back to a valid size: the error clears
    page.get_by_test_id("net-input-h").fill("64")
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_builder_edits_live_in_the_url(goto_state):
    page = goto_state("lab=network&net.stack=c8.k3_max2&net.input=1x16x16")
    expect(rows(page)).to_have_count(2)
    page.get_by_test_id("net-layer-0").locator(".net-layer-name").click()
    page.get_by_test_id("net-edit-filters").fill("12")
    expect(rows(page).nth(0).locator("[data-col='params']")).to_have_text("120")
    page.get_by_test_id("net-add-type").select_option("conv")
    page.get_by_test_id("net-add").click()
    expect(rows(page)).to_have_count(3)
    # the new conv went in after the selected layer 1, as a copy of it (the conv above);
    # moving layer 3 (the pool) up swaps the two
    expect(page).to_have_url(re.compile(r"net\.stack=c12\.k3_c12\.k3_max2"))
    page.get_by_test_id("net-layer-2").get_by_role("button", name="Move layer 3 up").click()
    expect(page).to_have_url(re.compile(r"net\.stack=c12\.k3_max2_c12\.k3(&|$)"))
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(rows(page).nth(2)).to_contain_text("conv 12 3×3")
