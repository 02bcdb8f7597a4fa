"""Automated accessibility audit (axe-core, served from the axe-playwright-python wheel) and keyboard stories.

The shell (header, status bar, input picker, classroom tools) must have no serious or
critical violations on any lab. Findings inside a lab's own section are reported (as
warnings, for the lab's owner) rather than failed here.
"""
from __future__ import annotations

import re
import warnings

import pytest
from playwright.sync_api import expect

from tests.e2e.waits import quiet, track_requests

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.e2e
LABS = ["conv", "pool", "backward", "network", "equivariance", "train", "inside", "family"]
SEVERE = {"serious", "critical"}
AXE = axe_module.Axe()

# Which part of the page a violating node belongs to: "lab" (a lab's own markup) or "shell".
WHERE = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return "shell";
  return node.closest("[data-lab-section]") && !node.closest("#image-picker") ? "lab" : "shell";
}"""


def severe_violations(page) -> dict[str, list[str]]:
    """{"shell": [...], "lab": [...]} of serious/critical axe findings, as readable lines."""
    found: dict[str, list[str]] = {"shell": [], "lab": []}
    for v in AXE.run(page).response["violations"]:
        if v["impact"] not in SEVERE:
            continue
        for node in v["nodes"]:
            target = node["target"][0] if isinstance(node["target"][0], str) else node["target"][0][0]
            found[page.evaluate(WHERE, target)].append(f'{v["id"]} ({v["impact"]}) at {target}: {v["help"]}')
    return found


def set_hash(page, fragment):
    page.evaluate("f => { location.hash = f; }", fragment)


def test_every_lab_has_an_accessible_shell(app_page):
    page = app_page
    inflight = track_requests(page)
    lab_reports = []
    for lab in LABS:
        set_hash(page, f"lab={lab}")
        expect(page.get_by_test_id(f"nav-{lab}")).to_have_attribute("aria-current", "page")
        quiet(page, inflight)  # the lab's first pictures are drawn
        found = severe_violations(page)
        assert not found["shell"], f"{lab} lab: {found['shell']}"
        lab_reports += [f"{lab}: {line}" for line in found["lab"]]
    if lab_reports:
        warnings.warn("accessibility findings inside labs (for their owners):\n" + "\n".join(lab_reports[:40]))


@pytest.mark.parametrize("fragment, visible", [
    ("lab=conv&ex=3", "exercise-panel"),
    ("lab=conv&tool=code", "code-dialog"),
    ("lab=conv&tool=learn", "learn-dialog"),
    ("lab=conv&tool=teacher", "teacher-dialog"),
    ("lab=conv&lock=stride&hide=padding&caption=Look", "caption"),
])
def test_classroom_views_have_no_serious_violations(app_page, goto_state, fragment, visible):
    inflight = track_requests(app_page)
    page = goto_state(fragment)
    expect(page.get_by_test_id(visible)).to_be_visible()
    quiet(page, inflight)
    found = severe_violations(page)
    assert not found["shell"], found["shell"]


def test_lessons_and_compare_pages_have_no_serious_violations(page, live_server):
    page.goto(f"{live_server}/lessons")
    assert not severe_violations(page)["shell"]
    page.goto(f"{live_server}/compare#a=lab%3Dconv&b=lab%3Dconv%26conv.stride%3D2")
    expect(page.get_by_test_id("diff-conv.stride")).to_be_visible()
    assert not severe_violations(page)["shell"]


def test_classroom_menu_and_dialogs_work_from_the_keyboard(app_page):
    page = app_page
    menu = page.get_by_test_id("tool-menu")
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("tool-code")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("tool-learn")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowUp")  # wraps to the last item
    expect(page.get_by_test_id("nav-lessons")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("tool-teacher")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("teacher-dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"tool=teacher"))
