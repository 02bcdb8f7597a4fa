"""The page recovers by itself when the server lost the user's image.

A worker that never saw an upload (another worker took it), or whose cache evicted it,
answers 404; the page re-sends the bytes it still holds and carries on, with no error
shown and the same numbers as before.
"""
from __future__ import annotations

from urllib.parse import urlparse

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from app.main import app


def _is_upload(request) -> bool:
    return request.method == "POST" and urlparse(request.url).path == "/api/images"


def test_page_reuploads_an_image_the_server_forgot(goto_state, tmp_path):
    page = goto_state("lab=conv")
    path = tmp_path / "stripes.png"
    arr = np.zeros((20, 30), np.uint8)
    arr[:, ::4] = 255
    Image.fromarray(arr).save(path)

    with page.expect_response(lambda r: _is_upload(r.request)) as upload:
        page.get_by_test_id("image-upload").set_input_files(str(path))
    image_id = upload.value.json()["id"]
    expect(page.get_by_test_id("output-size")).to_contain_text("18 × 28")
    page.wait_for_function("() => { const c = document.querySelector('[data-testid=feature-map-0]');"
                           " return c && c.width === 28 && c.height === 18; }")
    before = page.evaluate(
        "Array.from(document.querySelector('[data-testid=feature-map-0]').getContext('2d').getImageData(0, 0, 28, 18).data)"
    )

    assert app.state.store.discard(image_id)  # the server forgets it, as a fresh worker would
    reuploads = []
    page.on("request", lambda r: reuploads.append(r.url) if _is_upload(r) else None)

    page.get_by_test_id("stride").fill("2")  # a knob change now meets a 404 …
    expect(page.get_by_test_id("output-size")).to_contain_text("9 × 14")
    page.wait_for_function("() => { const c = document.querySelector('[data-testid=feature-map-0]');"
                           " return c && c.width === 14 && c.height === 9; }")
    assert reuploads, "the page should have uploaded the image again"
    assert image_id in app.state.store  # same bytes, same content id
    expect(page.get_by_test_id("error")).to_be_hidden()

    drawn = page.evaluate("Number(document.querySelector('#lab-conv').dataset.rendered || 0)")
    page.get_by_test_id("stride").fill("1")  # and the numbers are the ones from before
    page.wait_for_function("(n) => Number(document.querySelector('#lab-conv').dataset.rendered) > n"
                           " && document.querySelector('[data-testid=feature-map-0]').width === 28", arg=drawn)
    after = page.evaluate(
        "Array.from(document.querySelector('[data-testid=feature-map-0]').getContext('2d').getImageData(0, 0, 28, 18).data)"
    )
    assert after == before
