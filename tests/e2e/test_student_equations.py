"""Issue 23, point 3: every number names its equation.

- The gradient check's rows say which gradient they check (eq. 36.9 weights, the bias,
  eq. 36.10 input) and show analytic and numeric values side by side.
- "The chapter's setup" is one click: 8×8 standard-normal input, a random 3×3 kernel,
  no padding; eq. 36.9's difference lands near the chapter's 1.48e-09, and the weights'
  analytic column is x ⋆ δ computed here from the request by plain loops.
- flip(K) carries its one-line reason.
"""
from __future__ import annotations

import json
import re

import numpy as np
from playwright.sync_api import expect

FIRST_ANSWER = 60_000


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def table_rows(page, testid):
    rows = page.get_by_test_id(testid).locator("tbody tr")
    return [[number(t) if i else t for i, t in enumerate(r.locator("td").all_inner_texts())] for r in rows.all()]


def test_gradient_check_rows_name_their_equations(goto_state):
    page = goto_state("lab=backward")
    result = page.get_by_test_id("gradcheck-result")
    expect(page.get_by_test_id("gradcheck-weights")).to_contain_text("eq. 36.9: ∂L/∂K = x ⋆ δ", timeout=FIRST_ANSWER)
    expect(page.get_by_test_id("gradcheck-weights")).to_contain_text("all 9 weights")
    expect(page.get_by_test_id("gradcheck-bias")).to_contain_text("∂L/∂b = Σ δ")
    expect(page.get_by_test_id("gradcheck-input")).to_contain_text("eq. 36.10: ∂L/∂x = pad(δ) ⋆ flip(K)")
    expect(result).to_contain_text("largest of the three")
    # The weights' table is open: nine rows, analytic beside numeric, and their largest gap is the row's number.
    weights = table_rows(page, "gradcheck-weights-table")
    assert len(weights) == 9
    assert [w[0] for w in weights] == [f"[{a},{b}]" for a in range(3) for b in range(3)]
    for _, analytic, numeric, _ in weights:
        assert abs(analytic - numeric) < 1e-6
    row_diff = float(page.get_by_test_id("gradcheck-weights").locator(".bw-check-diff").get_attribute("data-value"))
    assert row_diff < 1e-6
    # The input's pairs: as many as sampled pixels.
    page.get_by_test_id("gradcheck-input-table").locator("summary").click()
    assert len(table_rows(page, "gradcheck-input-table")) == 32
    expect(page.get_by_test_id("backward-flip-why")).to_contain_text("sliding flip(K) over a lone 1")


def test_the_chapters_setup_reproduces_its_check_in_one_click(goto_state):
    page = goto_state("lab=backward")
    expect(page.get_by_test_id("gradcheck-weights")).to_be_visible(timeout=FIRST_ANSWER)
    sent = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/backward") else None)
    page.get_by_test_id("backward-chapter-setup").click()
    expect(page).to_have_url(re.compile(r"bw\.src=chapter"))
    expect(page.get_by_test_id("backward-chapter-setup")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("backward-source-note")).to_be_visible()
    note = page.get_by_test_id("gradcheck-chapter")
    expect(note).to_contain_text("reports a max difference of 1.48e−9")
    expect(page.locator("#lab-backward .bw-x-caption")).to_contain_text("1 × 8 × 8")

    body = sent[-1]
    x = np.array(body["input"], dtype=np.float64)[0]
    w = np.array(body["weight"], dtype=np.float64)[0, 0]
    assert x.shape == (8, 8) and w.shape == (3, 3)
    assert body["padding"] == 0 and body["stride"] == [1, 1] and body["delta"]["kind"] == "random"
    assert body["gradcheck"]["step"] == 1e-6
    # Standard normal, roughly: 64 + 9 draws are centred and spread like N(0, 1).
    draws = np.concatenate([x.ravel(), w.ravel()])
    assert abs(draws.mean()) < 0.5 and 0.6 < draws.std() < 1.4

    # The analytic column is eq. 36.9, x ⋆ δ: checked against plain loops on the δ the server used.
    answer = page.evaluate("async (b) => (await fetch('/api/backward', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(b)})).json()", body)
    delta = np.array(answer["grad_output"], dtype=np.float64)[0]
    assert delta.shape == (6, 6)
    loops = np.array([[sum(x[i + a, j + b] * delta[i, j] for i in range(6) for j in range(6)) for b in range(3)] for a in range(3)])
    weights = table_rows(page, "gradcheck-weights-table")
    analytic = np.array([r[1] for r in weights]).reshape(3, 3)
    numeric = np.array([r[2] for r in weights]).reshape(3, 3)
    np.testing.assert_allclose(analytic, loops, rtol=1e-6, atol=1e-6)  # the table prints 8 significant digits
    np.testing.assert_allclose(numeric, loops, rtol=1e-6, atol=1e-6)
    diff = float(page.get_by_test_id("gradcheck-weights").locator(".bw-check-diff").get_attribute("data-value"))
    assert 0 < diff < 1e-7  # the chapter's 1.48e-09 is of this order: rounding, not a wrong formula
    expect(note).to_contain_text(re.compile(r"here eq\. 36\.9's row gives \d\.\de−(9|10|11)"))

    # Back to the image: the note goes, the check stays labelled.
    page.get_by_test_id("backward-source").select_option("image")
    expect(page.get_by_test_id("backward-source-note")).to_be_hidden()
    expect(note).to_have_count(0)
    expect(page.get_by_test_id("gradcheck-weights")).to_contain_text("eq. 36.9")
