"""State in the URL is clamped to the server's limits before use, with a message naming the field.

Every state field of every lab is loaded with out-of-range, wrong-type and empty values,
one field at a time (the rest at their defaults), in the lab that owns it; no load may
throw an uncaught error, show a JavaScript error (a RangeError, a TypeError...) in the
error banner, or fail a lab. Out-of-range numbers are clamped with a notice that names
the field.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

OWNER = {"conv": "conv", "pool": "pool", "bw": "backward", "net": "network", "eq": "equivariance",
         "train": "train", "family": "family"}
HOSTILE = ["99999", "-99999", "x", "", "1,2,3,4,5", "1e309", "0.5"]

# Wraps console.error, 'error' and 'unhandledrejection' before the page's own scripts run:
# an Error that is not the server's answer (ApiError carries .status) or a superseded
# request is a bug of the page.
WATCH = """
(() => {
  window.__jsErrors = [];
  const isBug = (e) => e instanceof Error && e.status === undefined && !e.superseded;
  const record = (e) => window.__jsErrors.push(`${e.name}: ${e.message}`);
  const original = console.error.bind(console);
  console.error = (...args) => { for (const a of args) if (isBug(a)) record(a); original(...args); };
  window.addEventListener("error", (ev) => record(ev.error instanceof Error ? ev.error : new Error(String(ev.message))), true);
  window.addEventListener("unhandledrejection", (ev) => { if (isBug(ev.reason)) record(ev.reason); }, true);
  let pending = 0;
  const fetch0 = window.fetch.bind(window);
  window.fetch = (...a) => { pending++; return fetch0(...a).finally(() => { pending--; window.__lastFetch = performance.now(); }); };
  window.__settled = () => pending === 0 && performance.now() - (window.__lastFetch || 0) > 120;
})();
"""


def _owner(field: str) -> str:
    return OWNER.get(field.split(".", 1)[0], "conv")


@pytest.fixture
def hostile_page(page, live_server):
    page.add_init_script(WATCH)
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page


def _fields(page) -> list[str]:
    return page.evaluate("async () => (await import('/static/js/state.js')).fieldNames()")


def _load(page, live_server, fragment: str) -> None:
    page.evaluate("(h) => { window.__jsErrors.length = 0; location.hash = h; }", fragment)
    page.wait_for_timeout(30)  # let hashchange fire before asking whether requests settled
    page.wait_for_function("() => window.__settled()", timeout=20_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_every_state_field_survives_hostile_values(hostile_page, live_server):
    page = hostile_page
    fields = [f for f in _fields(page) if f != "lab"]
    assert len(fields) > 60
    failures = []
    for lab in sorted(set(OWNER.values())):
        page.goto("about:blank")
        page.goto(f"{live_server}/#lab={lab}")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        for field in (f for f in fields if _owner(f) == lab):
            for value in HOSTILE:
                fragment = f"lab={lab}&{field}={value}"
                _load(page, live_server, fragment)
                errors = page.evaluate("() => window.__jsErrors.slice()")
                failed = page.locator(".lab-failed").count()
                if errors or failed:
                    failures.append(f"#{fragment}: {errors or 'lab failed'}")
            _load(page, live_server, f"lab={lab}")  # back to defaults before the next field
    assert not failures, f"{len(failures)} hostile loads broke the page:\n" + "\n".join(failures[:40])


def test_an_out_of_range_padding_is_clamped_with_a_message(page, live_server):
    page.add_init_script(WATCH)
    page.goto(f"{live_server}/#lab=conv&conv.pad=99999")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    expect(page.get_by_test_id("notice")).to_contain_text("conv.pad")
    page.wait_for_function("() => window.__settled()", timeout=20_000)
    assert page.evaluate("() => window.__jsErrors.slice()") == []
    expect(page.get_by_test_id("error")).not_to_contain_text("Invalid typed array length")
    # the size shown is that of the clamped padding, not 200012 × 200012
    expect(page.get_by_test_id("output-size")).not_to_contain_text("200012")
    assert "conv.pad=99999" not in page.evaluate("() => location.hash")
