"""The Inside lab in Chromium: from a trained run to why it answers what it answers.

One page (one tab, so one training session) for the module: the story trains
the small 8×8 network for a few seconds in the Train lab, pauses it, and every
test then opens the Inside lab on that run.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def trained_page(browser, live_server) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(f"{live_server}/#lab=inside")
    # No run yet: a clear prompt that leads to the Train lab.
    expect(page.get_by_test_id("inside-norun")).to_be_visible()
    page.get_by_test_id("inside-go-train").click()
    expect(page.get_by_test_id("train-start")).to_be_visible()
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-accuracy")).to_have_text(re.compile(r"(8[5-9]|9\d|100)(\.\d)? ?%"), timeout=90_000)
    page.get_by_test_id("train-pause").click()
    yield page
    context.close()


def open_inside(page: Page) -> None:
    page.get_by_test_id("nav-inside").click()
    expect(page.get_by_test_id("confusion-matrix").locator("table")).to_be_visible()


def test_confusion_matrix_then_a_digit_then_its_saliency(trained_page: Page):
    page = trained_page
    open_inside(page)
    matrix = page.get_by_test_id("confusion-matrix")
    expect(matrix.locator("tbody tr")).to_have_count(10)
    expect(page.get_by_test_id("inside-accuracy")).to_have_text(re.compile(r"\d+\.\d % held-out"))
    # A diagonal cell lists right answers; the default list holds the misclassified ones.
    page.get_by_test_id("cm-1-1").click()
    expect(page.get_by_test_id("confusion-cell")).to_contain_text("True 1, answered 1 (right)")
    expect(page).to_have_url(re.compile(r"inside\.cell=1%2C1|inside\.cell=1,1"))
    digits = page.get_by_test_id("confusion-cell").locator("[data-testid^=inside-digit-]")
    expect(digits.first).to_be_visible()
    index = digits.first.get_attribute("data-testid").rsplit("-", 1)[1]
    digits.first.click()
    expect(page).to_have_url(re.compile(rf"inside\.digit={index}"))
    expect(page.get_by_test_id("inside-verdict")).to_contain_text("answers 1 ✓ right")
    expect(page.get_by_test_id("inspect-method")).to_have_value("saliency")
    card = page.get_by_test_id("inspect-map")
    expect(card.get_by_test_id("inside-map-saliency")).to_be_visible()
    expect(card).to_contain_text("∂ logit_1 / ∂ pixels")
    expect(page.locator(".inside-method-note")).to_contain_text("36.10")
    # Explain another class than the predicted one.
    page.get_by_test_id("inside-target").select_option("7")
    expect(card).to_contain_text("∂ logit_7 / ∂ pixels")
    page.get_by_test_id("inside-target").select_option("-1")
    # The link into the Backward lab.
    page.get_by_test_id("inside-backward-link").click()
    expect(page.get_by_test_id("nav-backward")).to_have_attribute("aria-current", "page")


def test_gradcam_and_occlusion_with_the_map_size_of_eq_36_4(trained_page: Page):
    page = trained_page
    open_inside(page)
    page.get_by_test_id("cm-3-3").click()
    page.get_by_test_id("confusion-cell").locator("[data-testid^=inside-digit-]").first.click()
    page.get_by_test_id("inspect-method").select_option("gradcam")
    expect(page.get_by_test_id("inspect-map")).to_contain_text("Grad-CAM over the digit (4×4)")
    page.get_by_test_id("inspect-method").select_option("occlusion")
    page.get_by_test_id("inside-patch").fill("3")
    page.get_by_test_id("inside-patch").press("Enter")
    expect(page.get_by_test_id("inside-formula")).to_contain_text("⌊(8 − 3)/2⌋ + 1 = 3")
    expect(page.get_by_test_id("inspect-map")).to_contain_text("Occlusion, 3×3")
    page.get_by_test_id("inside-stride").fill("1")
    page.get_by_test_id("inside-stride").press("Enter")
    expect(page.get_by_test_id("inside-formula")).to_contain_text("⌊(8 − 3)/1⌋ + 1 = 6")
    expect(page.get_by_test_id("inspect-map")).to_contain_text("Occlusion, 6×6")
    page.get_by_test_id("inspect-method").select_option("compare")
    for testid in ("inside-map-saliency", "inside-map-gradcam", "inside-map-occlusion"):
        expect(page.get_by_test_id(testid)).to_be_visible()


def test_sanity_check_randomises_layer_by_layer(trained_page: Page):
    page = trained_page
    open_inside(page)
    page.get_by_test_id("confusion-cell").locator("[data-testid^=inside-digit-]").first.click()
    panel = page.get_by_test_id("sanity-check")
    expect(panel).to_be_visible()
    panel.click(position={"x": 40, "y": 120})    # anywhere on the panel runs it
    table = panel.locator("table")
    expect(table).to_be_visible(timeout=20_000)
    expect(table.locator("thead th")).to_have_text(["method", "trained", "+ dense2", "+ dense1", "+ conv2", "+ conv1"])
    expect(panel.get_by_test_id("sanity-rho-saliency").first).to_contain_text("ρ 1.00")


def test_fgsm_epsilon_slider_and_the_accuracy_curve(trained_page: Page):
    page = trained_page
    open_inside(page)
    page.get_by_test_id("cm-0-0").click()
    page.get_by_test_id("confusion-cell").locator("[data-testid^=inside-digit-]").first.click()
    slider = page.get_by_test_id("fgsm-epsilon")
    expect(page.get_by_test_id("fgsm-verdict")).to_contain_text("at ε = 0.1")
    slider.fill("0.3")
    expect(page.get_by_test_id("fgsm-verdict")).to_contain_text("at ε = 0.3")
    expect(page).to_have_url(re.compile(r"inside\.eps=0\.3"))
    expect(page.get_by_test_id("fgsm-perturbation")).to_be_visible()
    slider.fill("0")
    expect(page.get_by_test_id("fgsm-verdict")).to_contain_text("at ε = 0: ✓ still right")
    page.get_by_test_id("fgsm-curve-run").click()
    curve = page.get_by_test_id("fgsm-curve")
    expect(curve).to_have_attribute("data-done", "1", timeout=30_000)
    expect(curve.locator("circle")).to_have_count(13)
    expect(curve).to_have_attribute("aria-label", re.compile(r"right at ε = 0, .* at ε = 0\.3"))


def test_feature_visualisation_of_a_filter(trained_page: Page):
    page = trained_page
    open_inside(page)
    panel = page.get_by_test_id("featurevis")
    panel.get_by_test_id("featurevis-layer").select_option("conv1")
    panel.get_by_test_id("featurevis-unit").fill("2")
    panel.get_by_test_id("featurevis-unit").press("Enter")
    panel.get_by_test_id("featurevis-steps").fill("48")
    panel.get_by_test_id("featurevis-steps").press("Enter")
    panel.get_by_test_id("featurevis-run").click()
    views = panel.get_by_test_id("featurevis-views")
    expect(views).to_have_attribute("data-done", "1", timeout=30_000)
    expect(views.locator("canvas")).to_have_count(2)
    expect(panel).to_contain_text("conv1 filter 2")
    expect(panel.get_by_test_id("featurevis-top").locator("button")).to_have_count(9)
    # One of the nine opens as the digit under study.
    panel.get_by_test_id("featurevis-top").locator("button").first.click()
    expect(page.get_by_test_id("inside-verdict")).to_contain_text("answers")


def test_a_drawn_digit_is_explained(trained_page: Page):
    page = trained_page
    open_inside(page)
    pad = page.get_by_test_id("inside-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.85, steps=12)
    page.mouse.up()
    page.get_by_test_id("inside-open-drawing").click()
    expect(page.locator(".inside-digit-title")).to_have_text("Your drawing")
    expect(page.get_by_test_id("inside-verdict")).to_contain_text(re.compile(r"answers \d"))
    expect(page.get_by_test_id("inspect-map").locator("canvas").first).to_be_visible()


def test_the_running_run_is_followed(trained_page: Page):
    """While the run trains, the lab reads its current weights: the step in the run line moves on."""
    page = trained_page
    page.get_by_test_id("nav-train").click()
    page.get_by_test_id("train-resume").click()
    try:
        open_inside(page)
        line = page.get_by_test_id("inside-run")
        expect(line).to_contain_text("running")
        first = line.text_content()
        expect(line).not_to_have_text(first, timeout=15_000)     # refreshed as training goes on
    finally:
        page.get_by_test_id("nav-train").click()
        page.get_by_test_id("train-pause").click()


def test_the_chapter_model_at_28_by_28(browser, live_server):
    """A run of the chapter's classifier (put into the server's sessions directly: the Train lab's page
    starts the small model here) is inspected at its own sizes: Grad-CAM 14×14, occlusion by eq. 36.4."""
    chapter = pytest.importorskip("app.labs.train.chapter")
    from app.api.train import get_sessions
    from app.main import app

    sessions = get_sessions(type("Request", (), {"app": app})(), app.state.settings)
    run = sessions.start("inside-e2e-chapter", lr=0.01, batch_size=32, filters=4)
    sessions.pause("inside-e2e-chapter")
    with run.lock:
        run.trainer = chapter.Trainer(seed=0, epochs=1, batch_norm=True)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script("sessionStorage.setItem('convlab.trainSession', 'inside-e2e-chapter');"
                            "sessionStorage.setItem('convlab.trainRun', '1');")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/#lab=inside&inside.digit=5&inside.method=gradcam")
        expect(page.get_by_test_id("inside-run")).to_contain_text("the chapter's classifier (28×28)")
        expect(page.get_by_test_id("inspect-map")).to_contain_text("Grad-CAM over the digit (14×14)")
        page.get_by_test_id("inspect-method").select_option("occlusion")
        expect(page.get_by_test_id("inside-formula")).to_contain_text("⌊(28 − 4)/2⌋ + 1 = 13")
        expect(page.get_by_test_id("inspect-map")).to_contain_text("Occlusion, 13×13")
        expect(page.locator(".inside-pad-size")).to_contain_text("28×28")
    finally:
        context.close()
        sessions.reset("inside-e2e-chapter")


def test_every_panel_reads_from_the_back_row_and_on_a_phone(trained_page: Page):
    """With every panel filled: presentation mode at 1920×1080 (text ≥ 16 px, numbers ≥ 18 px, nothing
    cut off) and 390 px (no sideways scroll of the page)."""
    from tests.e2e.legibility import CUT_TEXT, MIN_NUMBER_PX, MIN_TEXT_PX, PAGE_WIDTH, TEXT_SIZES

    page = trained_page
    open_inside(page)
    page.get_by_test_id("cm-4-4").click()
    page.get_by_test_id("confusion-cell").locator("[data-testid^=inside-digit-]").first.click()
    page.get_by_test_id("inspect-method").select_option("compare")
    expect(page.get_by_test_id("inside-map-occlusion")).to_be_visible()
    page.get_by_test_id("sanity-run").click()
    expect(page.get_by_test_id("sanity-check").locator("table")).to_be_visible(timeout=20_000)
    page.get_by_test_id("featurevis-run").click()
    expect(page.get_by_test_id("featurevis-views")).to_have_attribute("data-done", "1", timeout=30_000)
    page.get_by_test_id("fgsm-curve-run").click()
    expect(page.get_by_test_id("fgsm-curve")).to_have_attribute("data-done", "1", timeout=30_000)
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.get_by_test_id("present-toggle").click()
        expect(page.locator("html")).to_have_class(re.compile(r"\bpresent\b"))
        found = page.evaluate(TEXT_SIZES, [MIN_TEXT_PX, MIN_NUMBER_PX])
        assert found == [], "\n".join(found)
        assert page.evaluate(CUT_TEXT) == []
        page.get_by_test_id("present-toggle").click()
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate(PAGE_WIDTH) == []
    finally:
        page.set_viewport_size({"width": 1280, "height": 720})
