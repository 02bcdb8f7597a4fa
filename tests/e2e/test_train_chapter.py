"""User story: the chapter's classifier trained in the Train lab, in Chromium."""
import re

from playwright.sync_api import expect


def test_the_chapter_model_trains_for_an_epoch_and_shows_curves_filters_and_a_prediction(goto_state):
    page = goto_state("lab=train&train.model=chapter&train.epochs=1&train.seed=3&train.augment=1&train.compare=1")
    expect(page.get_by_test_id("train-model")).to_have_value("chapter")
    # The code the run reproduces, with the switches as set.
    code = page.get_by_test_id("train-code")
    expect(code).to_contain_text("epochs = 1, batch_size = 128, validation_split = 0.1")
    expect(code).to_contain_text("layer_random_rotation")
    expect(code).to_contain_text("layer_dropout(rate = 0.5)")
    # What augmentation does to a digit: the stored one and seven fresh draws.
    strip = page.get_by_test_id("train-augment-strip")
    expect(strip).to_be_visible()
    expect(strip.locator("canvas")).to_have_count(8, timeout=30_000)  # the first strip loads the 28×28 set
    page.get_by_test_id("train-dropout").fill("0")
    expect(code).not_to_contain_text("layer_dropout")
    expect(page).to_have_url(re.compile(r"train\.dropout=0\b"))
    # Starting weights: Keras's by default (what the chapter's code gets), PyTorch's one choice away.
    expect(page.get_by_test_id("train-init")).to_have_value("keras")
    expect(code).to_contain_text("Glorot-uniform, zero biases")
    page.get_by_test_id("train-init").select_option("pytorch")
    expect(code).to_contain_text("PyTorch's initialisation")
    expect(page).to_have_url(re.compile(r"train\.init=pytorch"))
    page.get_by_test_id("train-init").select_option("keras")
    expect(code).to_contain_text("Glorot-uniform, zero biases")

    accuracy = page.get_by_test_id("train-accuracy")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=90_000)
    expect(page.get_by_test_id("train-status")).to_contain_text("finished 1 epochs")
    expect(accuracy).to_have_text(re.compile(r"held-out accuracy \d{1,3}\.\d %"))
    # One point before training and one after the epoch: loss, held-out and validation accuracy.
    page.wait_for_function("() => Number(document.querySelector(\"[data-testid='train-curves']\").dataset.points) >= 2")
    for line in ("train-acc-line", "train-val-line", "train-loss-line"):
        expect(page.get_by_test_id(line)).to_have_count(1)
    expect(page.locator("[data-testid^='train-filter-']")).to_have_count(32)

    # A held-out digit, at 28×28: the maps of the chapter's layers and ten probabilities.
    page.get_by_test_id("train-digit-select").select_option("0")
    expect(page.get_by_test_id("train-predicted")).to_have_text(re.compile(r"it's a \d"))
    expect(page.locator("[data-testid^='train-prob-']")).to_have_count(10)
    expect(page.get_by_test_id("train-layers").locator(".train-layer")).to_have_count(5)
    assert page.get_by_test_id("train-input").evaluate("c => c.width") == 28

    # Compare: batch norm on, a second run; the first stays as a faded overlay, named in the legend.
    page.get_by_test_id("train-batch-norm").check()
    expect(code).to_contain_text("layer_batch_normalization")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=90_000)
    legend = page.get_by_test_id("train-compare-legend")
    expect(legend).to_contain_text("batch norm, no dropout, augment, 1 epoch, seed 3")
    expect(page.get_by_test_id("train-curves")).to_contain_text("previous (no batch norm, no dropout, augment")
    page.get_by_test_id("train-reset").click()
    expect(accuracy).to_have_text("held-out accuracy —")
    assert not page.console_errors, page.console_errors
