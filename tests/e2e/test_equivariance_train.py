"""User stories of the Equivariance and Train labs in Chromium."""
import re

from playwright.sync_api import expect


def canvas_pixel(page, testid, x, y):
    return page.evaluate(
        "([id, x, y]) => Array.from(document.querySelector(`[data-testid='${id}']`)"
        ".getContext('2d').getImageData(x, y, 1, 1).data)",
        [testid, x, y],
    )


def test_equivariance_diff_is_zero_with_circular_padding_and_broken_by_stride(goto_state):
    page = goto_state("lab=equivariance&eq.dy=2&eq.dx=3&eq.mode=zeros")
    diff = page.get_by_test_id("equivariance-diff")
    # Zero padding: exact in the interior, not on the whole map.
    expect(diff).to_have_text(re.compile(r"interior 0 · whole map 0\.\d+"), timeout=30_000)  # cold JIT
    page.get_by_test_id("eq-padding-mode").select_option("circular")
    expect(diff).to_have_text("max |difference|: interior 0 · whole map 0")
    # The difference map is drawn white (zero on the diverging scale) where it used to be coloured.
    assert min(canvas_pixel(page, "eq-map-diff", 0, 5)[:3]) >= 240
    # Stride 2 with an odd shift breaks it; an even shift restores it.
    page.get_by_test_id("eq-demo-stride-odd").click()
    expect(diff).not_to_have_text(re.compile(r"whole map 0$"))
    expect(page.locator("#lab-equivariance .eq-verdict")).to_contain_text("not a multiple of the stride")
    page.get_by_test_id("eq-demo-stride-even").click()
    expect(diff).to_have_text("max |difference|: interior 0 · whole map 0")
    expect(page.get_by_test_id("eq-sweep").locator("tbody tr")).to_have_count(5)
    expect(page.get_by_test_id("eq-pool-result")).to_contain_text("% of the pooled cells did not change")
    expect(page).to_have_url(re.compile(r"eq\.stride=2.*eq\.mode=circular|eq\.mode=circular.*eq\.stride=2"))
    # Max pool, shift 1 on the square: the changed cells are black in the mask, the rest white,
    # and the mask agrees with the percentage printed beside it.
    page.get_by_test_id("eq-demo-pool").click()
    result = page.get_by_test_id("eq-pool-result")
    expect(result).to_contain_text("84 % of the pooled cells did not change")
    mask = page.evaluate(
        "() => { const c = document.querySelector(\"[data-testid='eq-pool-changed']\");"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let black = 0;"
        " for (let i = 0; i < d.length; i += 4) black += d[i] < 128; return [black, c.width * c.height]; }"
    )
    assert round(100 * (1 - mask[0] / mask[1])) == 84
    assert not page.console_errors or all("404" in e or "failed to load" in e for e in page.console_errors)


def test_short_training_run_updates_curves_accuracy_and_prediction(goto_state):
    page = goto_state("lab=train&train.filters=4")
    accuracy = page.get_by_test_id("train-accuracy")
    expect(accuracy).to_have_text("held-out accuracy —")
    page.get_by_test_id("train-start").click()
    # Streamed progress: the curve grows and the accuracy passes 80 % within a few seconds.
    expect(accuracy).to_have_text(re.compile(r"held-out accuracy (8\d|9\d|100)\.\d %"), timeout=30_000)
    page.wait_for_function("() => Number(document.querySelector(\"[data-testid='train-curves']\").dataset.points) >= 3")
    expect(page.get_by_test_id("train-acc-line")).to_have_count(1)
    expect(page.locator("[data-testid^='train-filter-']")).to_have_count(4)
    page.get_by_test_id("train-pause").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Paused")
    expect(page.get_by_test_id("train-status")).to_contain_text(re.compile(r"epoch [\d.]+ of 40"))
    page.get_by_test_id("train-resume").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Training")
    page.get_by_test_id("train-pause").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Paused")
    # Pick a held-out digit: ten probabilities, a prediction and every layer's maps.
    page.get_by_test_id("train-digit-select").select_option("0")
    expect(page.get_by_test_id("train-predicted")).to_have_text(re.compile(r"it's a \d"))
    expect(page.locator("[data-testid^='train-prob-']")).to_have_count(10)
    expect(page.get_by_test_id("train-layers").locator(".train-layer")).to_have_count(7)
    # Draw on the pad: the 8×8 input gets ink and a new prediction comes back.
    page.get_by_test_id("train-clear").click()
    box = page.get_by_test_id("train-draw").bounding_box()
    page.mouse.move(box["x"] + 80, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 80, box["y"] + 140, steps=8)
    page.mouse.up()
    assert canvas_pixel(page, "train-input", 4, 3)[0] < 200  # dark ink in the middle column
    expect(page.get_by_test_id("train-predicted")).to_have_text(re.compile(r"it's a \d"))
    page.get_by_test_id("train-reset").click()
    expect(accuracy).to_have_text("held-out accuracy —")
    # No network any more: the old filters go, and the page never asked for a missing run.
    expect(page.locator("[data-testid^='train-filter-']")).to_have_count(0)
    assert not page.console_errors


def test_reset_while_a_prediction_is_on_its_way_asks_nothing_of_the_reset_run(goto_state):
    """The race behind a 404 after Reset: a prediction sent before the click reaches the server after it.

    The page must forget the run at the click: the held prediction is aborted, so its
    answer (a 404 for the reset run) is never asked for by the page nor drawn.
    """
    page = goto_state("lab=train&train.filters=4")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-pause")).to_be_enabled(timeout=30_000)
    page.get_by_test_id("train-pause").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Paused")
    held = []
    page.route("**/api/train/predict", lambda route: held.append(route))
    page.get_by_test_id("train-digit-select").select_option("0")
    for _ in range(600):  # until the page has sent it (each call lets Playwright run the handler)
        if held:
            break
        page.evaluate("() => new Promise((r) => requestAnimationFrame(r))")
    assert held, "the page sent a prediction"
    page.get_by_test_id("train-reset").click()
    expect(page.get_by_test_id("train-accuracy")).to_have_text("held-out accuracy —")
    for route in held:
        try:
            route.continue_()  # the server now answers 404: no run
        except Exception:
            pass  # aborted by the page: nothing to deliver
    page.unroute("**/api/train/predict")
    expect(page.locator("#lab-train .train-predict-note")).to_contain_text("Press Start")
    expect(page.get_by_test_id("train-predicted")).to_have_text("")
    assert not page.console_errors
