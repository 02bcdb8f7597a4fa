"""Classroom stories: exercises, teacher links, lessons, comparison, camera, code export, learn-a-filter."""
from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import expect

from app.arithmetic import conv_output_size, pool_output_size, receptive_field
from app.labs.classroom.lessons import LESSONS, by_slug

pytestmark = pytest.mark.e2e


def tid(page, name):
    return page.get_by_test_id(name)


def grid_of(table) -> np.ndarray:
    rows = table.locator("tr").all()
    return np.array([[float(c.inner_text().strip("[]")) for c in r.locator("td").all()] for r in rows])


def set_hash(page, fragment):
    """Navigate within the booted page (hashchange re-reads the state), faster than a reload."""
    page.evaluate("f => { location.hash = f; }", fragment)


def answer_and_expect(page, value, verdict):
    tid(page, "exercise-answer").fill(str(value))
    tid(page, "exercise-check").click()
    expect(tid(page, "exercise-feedback")).to_have_attribute("data-verdict", verdict)


def test_student_predicts_an_output_size_then_sees_the_worked_arithmetic(goto_state):
    page = goto_state("lab=conv&ex=42&exk=size")
    question = tid(page, "exercise-question")
    expect(question).to_contain_text("How many rows")
    text = question.inner_text()
    n = int(re.search(r"A (\d+)×\1 image", text).group(1))
    k = int(re.search(r"a (\d+)×\1 convolution", text).group(1))
    s = int(re.search(r"stride (\d+)", text).group(1))
    p = int(re.search(r"padding (\d+)", text).group(1))
    d = int(m.group(1)) if (m := re.search(r"dilation (\d+)", text)) else 1
    truth = conv_output_size(n, k, s, p, d)

    answer_and_expect(page, truth + 1, "wrong")
    expect(tid(page, "exercise-feedback")).to_contain_text(f"the answer is {truth}")
    expect(tid(page, "exercise-working")).to_contain_text(f"= {truth}")
    answer_and_expect(page, truth, "right")

    # The same link gives everyone the same question; "New exercise" gives another and writes its seed.
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(tid(page, "exercise-question")).to_have_text(text)
    tid(page, "exercise-new").click()
    expect(tid(page, "exercise-question")).not_to_have_text(text)
    expect(page).not_to_have_url(re.compile(r"ex=42(&|$)"))
    expect(page).to_have_url(re.compile(r"ex=\d+"))


def test_pooling_and_network_exercises_have_correct_answers(goto_state):
    page = goto_state("lab=pool&ex=7&exk=cell")
    text = tid(page, "exercise-question").inner_text()
    i, j = map(int, re.search(r"output\[(\d+), (\d+)\]", text).groups())
    x = grid_of(page.locator(".exercise-grid").first)
    window = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
    truth = window.max() if "max pooling" in text else window.mean()
    answer_and_expect(page, truth, "right")

    set_hash(page, "lab=pool&ex=11&exk=size")
    expect(tid(page, "exercise-seed")).to_contain_text("#11")
    text = tid(page, "exercise-question").inner_text()
    n, k = map(int, re.search(r"A (\d+)×\d+ feature map goes through (\d+)×", text).groups())
    s, p = map(int, re.search(r"stride (\d+) and padding (\d+)", text).groups())
    answer_and_expect(page, pool_output_size(n, k, s, p), "right")

    set_hash(page, "lab=network&ex=5&exk=rf")
    expect(tid(page, "exercise-seed")).to_contain_text("#5")
    text = tid(page, "exercise-question").inner_text()
    layers = []
    for kind, size in re.findall(r"(conv|max pool) (\d+)×\d+", text):
        size = int(size)
        layers.append({"type": "conv", "kernel": size, "padding": "same"} if kind == "conv" else
                      {"type": "pool", "kernel": size, "stride": 2})
    answer_and_expect(page, receptive_field(layers)[-1]["size"], "right")
    assert not [e for e in page.console_errors if "classroom" in e]  # other labs may still be landing


def test_exercise_drawer_is_keyboard_operable_and_explains_other_labs(app_page):
    page = app_page
    page.keyboard.press("e")
    expect(tid(page, "exercise-panel")).to_be_visible()
    expect(tid(page, "exercise-answer")).to_be_focused()
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    expect(tid(page, "exercise-feedback")).to_contain_text("Type a number first")
    page.keyboard.press("Escape")
    expect(tid(page, "exercise-panel")).to_be_hidden()
    tid(page, "nav-backward").click()
    tid(page, "tool-exercise").click()
    expect(tid(page, "exercise-panel")).to_contain_text("Exercises are in the Convolution, Pooling and Network labs")


def test_teacher_link_locks_hides_and_captions_then_the_builder_composes_one(goto_state, live_server):
    caption = "<b>Look</b> at stride 2: every other position"
    page = goto_state(f"lab=conv&conv.stride=2&lock=stride,padding&hide=kernel-preset&caption={quote(caption)}")
    expect(tid(page, "stride")).to_be_disabled()
    expect(tid(page, "padding")).to_be_disabled()
    expect(tid(page, "kernel-preset")).to_be_hidden()
    expect(tid(page, "dilation")).to_be_enabled()
    expect(tid(page, "caption")).to_contain_text(caption)  # shown as text, never parsed as HTML
    assert tid(page, "caption").locator("b").count() == 0
    expect(tid(page, "output-size")).to_contain_text("7 × 7")
    page.screenshot(path="/tmp/convlab-teacher-lock.png")

    tid(page, "tool-menu").click()
    tid(page, "tool-teacher").click()
    dialog = tid(page, "teacher-dialog")
    expect(dialog).to_be_visible()
    expect(tid(page, "teacher-lock-stride")).to_be_checked()
    tid(page, "teacher-lock-dilation").check()
    tid(page, "teacher-hide-kernel-preset").uncheck()
    tid(page, "teacher-caption").fill("Dilation spreads the taps")
    url = tid(page, "teacher-url").input_value()
    assert "dilation" in re.search(r"lock=([^&]*)", url).group(1)
    assert "hide=" not in url and "conv.stride=2" in url
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    expect(tid(page, "dilation")).to_be_disabled()
    expect(tid(page, "kernel-preset")).to_be_visible()
    expect(tid(page, "caption")).to_contain_text("Dilation spreads the taps")


def test_lesson_gallery_opens_why_14x14_with_its_caption(page, live_server):
    page.goto(f"{live_server}/lessons")
    lesson = by_slug("why-14x14")
    card = page.get_by_test_id(f"lesson-{lesson.slug}")
    expect(page.get_by_test_id("lesson-list").locator("li")).to_have_count(len(LESSONS))
    card.get_by_test_id("lesson-open").click()
    page.wait_for_selector("body[data-ready='1']")
    expect(tid(page, "output-size")).to_contain_text("14 × 14")
    expect(tid(page, "caption")).to_contain_text("14 places")
    expect(tid(page, "kernel-size")).to_be_disabled()


def test_comparison_shows_two_strides_on_the_same_image_and_follows_knobs(page, live_server):
    page.goto(live_server + by_slug("stride-and-padding").compare_href())
    row = tid(page, "diff-conv.stride")
    expect(row).to_contain_text("1")
    expect(row).to_contain_text("2")
    a = page.frame_locator("[data-testid=compare-a]")
    b = page.frame_locator("[data-testid=compare-b]")
    expect(a.get_by_test_id("output-size")).to_contain_text("14 × 14", timeout=15_000)
    expect(b.get_by_test_id("output-size")).to_contain_text("7 × 7", timeout=15_000)
    expect(b.get_by_test_id("stride")).to_have_class(re.compile("compare-marked"))
    page.screenshot(path="/tmp/convlab-compare.png")

    # Side A picks another image: side B follows, so the difference stays the stride only.
    a.get_by_test_id("sample-select").select_option("sample-checkerboard")
    expect(b.get_by_test_id("image-meta")).to_contain_text("32 × 32", timeout=10_000)
    a.get_by_test_id("stride").fill("3")
    a.get_by_test_id("stride").press("Enter")
    expect(row).to_contain_text("3")
    expect(page).to_have_url(re.compile(r"conv\.stride%3D3"))
    expect(page.locator("[data-testid^=diff-]")).to_have_count(1)


FAKE_CAMERA = """
navigator.mediaDevices.getUserMedia = async () => {
  const c = document.createElement('canvas'); c.width = 320; c.height = 240;
  const g = c.getContext('2d'); let t = 0;
  setInterval(() => { g.fillStyle = '#222'; g.fillRect(0, 0, 320, 240); g.fillStyle = '#eee';
                      g.fillRect(40 + (t++ % 100), 60, 120, 120); }, 50);
  return c.captureStream(20);
};
"""
REFUSED_CAMERA = """
navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('denied', 'NotAllowedError'); };
"""


def test_live_camera_frames_become_the_input_at_a_bounded_rate(page, live_server):
    page.add_init_script(FAKE_CAMERA)
    page.goto(live_server + "/#lab=conv")
    page.wait_for_selector("body[data-ready='1']")
    tid(page, "camera-toggle").click()
    expect(tid(page, "camera-toggle")).to_have_attribute("aria-pressed", "true")
    expect(tid(page, "camera-preview")).to_be_visible()
    expect(tid(page, "camera-status")).to_have_attribute("data-frames", re.compile(r"^[2-9]"), timeout=10_000)
    expect(page).to_have_url(re.compile(r"image=[0-9a-f]{16,}"))
    expect(tid(page, "image-meta")).to_contain_text("120 × 160")  # H × W, as every lab writes it
    # Rate bound: one frame per 500 ms tick, one in flight. Of the next four frames the
    # first may have left before t0; the fourth left three ticks after it, so ≥ 1 s after t0.
    first = int(tid(page, "camera-status").get_attribute("data-frames"))
    t0 = page.evaluate("performance.now()")
    page.wait_for_function("(n) => Number(document.querySelector(\"[data-testid='camera-status']\").dataset.frames) >= n",
                           arg=first + 4, timeout=20_000)
    took = page.evaluate("performance.now()") - t0
    assert took >= 950, f"4 frames in {took:.0f} ms: the rate bound is 2 per second"
    expect(tid(page, "error")).to_be_hidden()
    tid(page, "camera-toggle").click()
    expect(tid(page, "camera-status")).to_contain_text("Camera off")


def test_refused_camera_says_why_and_the_page_keeps_working(page, live_server):
    page.add_init_script(REFUSED_CAMERA)
    page.goto(live_server + "/#lab=conv")
    page.wait_for_selector("body[data-ready='1']")
    tid(page, "camera-toggle").click()
    expect(tid(page, "camera-status")).to_contain_text("permission was refused")
    expect(tid(page, "camera-toggle")).to_have_attribute("aria-pressed", "false")
    tid(page, "stride").fill("2")
    tid(page, "stride").press("Enter")
    expect(tid(page, "output-size")).to_contain_text("7 × 7")


def test_exported_numpy_code_reproduces_the_lab_and_parity_is_float32_close(goto_state, live_server):
    state = "lab=conv&conv.filters=sobel-x,laplacian&conv.bias=0.5,-1&conv.pad=1&conv.mode=reflect&conv.flip=1&conv.relu=1&conv.stride=2"
    page = goto_state(state)
    tid(page, "tool-menu").click()
    tid(page, "tool-code").click()
    expect(tid(page, "parity-ref")).to_contain_text("max |difference|")
    expect(tid(page, "parity-ref")).to_have_class("ok")
    page.screenshot(path="/tmp/convlab-code.png")
    numpy_code = tid(page, "code-numpy").inner_text()
    torch_code = tid(page, "code-torch").inner_text()
    assert 'mode="reflect"' in numpy_code and "::-1, ::-1" in numpy_code and "np.maximum" in numpy_code
    assert "F.conv2d" in torch_code and "torch.flip" in torch_code

    # Run the snippet: its numbers are the lab's (the server's /api/conv2d with the same body).
    scope: dict = {}
    exec(compile(numpy_code.replace("print(", "(lambda *a: None)("), "snippet", "exec"), scope)
    body = page.evaluate("""async () => {
        const { convRequestBody } = await import('/static/js/classroom/code.js');
        const { get } = await import('/static/js/state.js');
        return convRequestBody(get());
    }""")
    req = urllib.request.Request(live_server + "/api/conv2d", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    served = np.array(json.load(urllib.request.urlopen(req))["output"])
    assert scope["y"].shape == served.shape == (2, 8, 8)
    assert np.max(np.abs(scope["y"] - served)) < 1e-5


def test_learn_a_filter_recovers_sobel_x(app_page, goto_state):
    app_page.emulate_media(reduced_motion="reduce")  # no animation: the final estimate at once
    page = goto_state("lab=conv&tool=learn&learn.steps=40&learn.lr=0.1")
    expect(tid(page, "learn-dialog")).to_be_visible()
    expect(tid(page, "learn-status")).to_contain_text("Done", timeout=15_000)
    estimate = grid_of(tid(page, "learn-estimate"))
    truth = grid_of(tid(page, "learn-truth"))
    assert truth.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert np.max(np.abs(estimate - truth)) < 0.01
    inked = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=learn-loss]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 80) n++; return n; }""")
    assert inked > 50  # the blue loss curve is drawn
    tid(page, "learn-hidden").select_option("laplacian")
    tid(page, "learn-run").click()
    expect(tid(page, "learn-truth")).to_contain_text("-14-1")  # the chapter's Laplacian: 4 in the middle row
    expect(page).to_have_url(re.compile(r"learn\.k=laplacian"))
