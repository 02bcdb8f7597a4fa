"""Big feature maps arrive as colour indices; their exact values follow on demand.

On a 512×512 RGB photo the Convolution lab asks POST /api/conv2d for `display`
(one byte a value, the page's colouring rule) and paints from it; the exact float32
maps come in a second request, which this story holds back to see the page wait
for it ("…") and then use it (hover value, the multiply-add's server value).
"""
from __future__ import annotations

import json
import re

import numpy as np
from playwright.sync_api import expect

from app import kernels
from app.imaging.samples import all_samples
from tests.e2e.waits import painted

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)


def test_big_maps_are_drawn_from_indices_and_exact_on_demand(page, live_server):
    held, bodies = [], []

    def conv(route):
        body = json.loads(route.request.post_data)
        bodies.append(body)
        if "display" in body:
            route.continue_()
        else:
            held.append(route)  # the exact maps wait until the story lets them through

    page.route("**/api/conv2d", conv)
    page.goto(f"{live_server}/#lab=conv&image=sample-astronaut&color=rgb&conv.filters=sobel-x,sobel-y")
    page.wait_for_selector("#lab-conv[data-rendered]", timeout=30_000)
    assert bodies[0]["display"] == "auto" and bodies[0]["color"] == "rgb"

    x = next(s.pixels for s in all_samples() if s.id == "sample-astronaut")
    w = np.stack([np.stack([SOBEL_X / 3] * 3), np.stack([SOBEL_X.T / 3] * 3)])
    y = kernels.conv2d(x, w.astype(np.float32), np.zeros(2, np.float32))
    m = float(np.abs(y[0]).max())
    # Colours: app.kernels' value on the map's symmetric range, through the page's table.
    table = page.evaluate("async () => Array.from((await import('/static/js/colormap.js')).MAPS.diverging.table)")
    for row, col in [(200, 300), (10, 500), (480, 40)]:
        t = min(255, max(0, int(np.floor((float(y[0, row, col]) + m) * (255 / (2 * m)) + 0.5))))
        got = page.evaluate("([r, c]) => Array.from(document.querySelector('[data-testid=feature-map-0]')"
                            ".getContext('2d').getImageData(c, r, 1, 1).data.slice(0, 3))", [row, col])
        assert got == table[3 * t: 3 * t + 3], (row, col)
    fmt3 = page.evaluate("async (v) => (await import('/static/js/heatmap.js')).fmt(v, 3)", m)
    card = page.locator(".map-card[data-filter='0']")
    expect(card.locator(".cb-hi")).to_have_text(fmt3)
    expect(card.locator(".cb-zero")).to_be_visible()

    # Hover before the exact maps are here: "…", and the page asks for them at once.
    canvas = page.get_by_test_id("feature-map-0")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    tip = page.locator("#tooltip")
    expect(tip).to_contain_text("value …")
    row, col = map(int, re.search(r"row (\d+), col (\d+)", tip.text_content()).groups())
    for _ in range(300):  # until the page has asked (each call lets the route handler run)
        if held:
            break
        painted(page)
    assert len(held) == 1 and "display" not in bodies[-1] and bodies[-1]["weight"] == bodies[0]["weight"]
    canvas.click(position={"x": box["width"] * 0.6, "y": box["height"] * 0.4})
    expect(page.locator(".madd-result")).to_contain_text("the server's map: on its way …")
    expect(page.get_by_test_id("explain-server")).to_have_count(0)

    held.pop().continue_()
    exact = page.evaluate("async (v) => (await import('/static/js/heatmap.js')).fmt(v, 7)", float(y[0, row, col]))
    expect(tip).to_contain_text(f"value {exact}")
    where = page.locator(".conv-explain-where")
    r2, c2 = map(int, re.search(r"row (\d+), col (\d+)", where.text_content()).groups())
    expect(page.get_by_test_id("explain-server")).to_have_text(f"{float(y[0, r2, c2]):.4f}")
    assert float(page.get_by_test_id("explain-server").get_attribute("data-value")) == float(y[0, r2, c2])

    # With the exact maps in hand, a colour change is drawn here: no new request.
    count = len(bodies)
    page.get_by_test_id("colormap").select_option("viridis")
    expect(card).to_have_attribute("data-map", "viridis")
    painted(page, 4)  # a request for the change would have left by now
    assert len(bodies) == count
