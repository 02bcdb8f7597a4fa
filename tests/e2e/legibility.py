"""Page audits behind tests/e2e/test_legibility.py: what a back row, a phone and a laptop see.

Each audit is one JavaScript function run in the page; it returns a list of readable
findings (empty when the page passes), so a failure names the element and the number.

* ``TEXT_SIZES``: visible text under the minimum size (16 px, numbers 18 px in
  presentation mode), form controls included, and numbers drawn inside map cells
  (every canvas that prints numbers records their size in ``data-number-px``).
* ``CUT_TEXT``: select boxes too narrow for their chosen label, and text cut off by
  ``overflow: hidden`` (an ellipsis or a clipped line).
* ``COVERED``: controls and kernel weights that something else covers (hit-tested with
  ``elementFromPoint`` at their centre, after scrolling each into view the way a user would).
* ``PAGE_WIDTH``: horizontal scrolling of the whole page.
"""
from __future__ import annotations

MIN_TEXT_PX = 16
MIN_NUMBER_PX = 18

# Shared helpers, prepended to every audit.
_HELPERS = r"""
const shown = (el) => {
  if (!el || !el.isConnected) return false;
  if (el.closest("[hidden], .visually-hidden, #tooltip, template, option, datalist")) return false;
  if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
  const r = el.getBoundingClientRect();
  return r.width >= 2 && r.height >= 2;
};
const describe = (el) => {
  const id = el.dataset?.testid ? `[data-testid=${el.dataset.testid}]` : el.id ? `#${el.id}` : "";
  const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).slice(0, 2).join(".")}` : "";
  const lab = el.closest("[data-lab-section]")?.dataset.labSection;
  return `${lab ? lab + ": " : ""}${el.tagName.toLowerCase()}${id}${cls}`;
};
const fontOf = (el) => {
  const cs = getComputedStyle(el);
  return `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
};
const measurer = document.createElement("canvas").getContext("2d");
const textWidth = (text, el) => {
  measurer.font = fontOf(el);
  return measurer.measureText(text).width;
};
"""

TEXT_SIZES = "([minText, minNumber]) => {" + _HELPERS + r"""
  const NUMBER = /^[\s(≈~]*[−\-+]?\d[\d.,]*(e[−\-+]?\d+)?(\s*[×x·]\s*\d[\d.,]*)*\s*[%)]?\s*$/i;
  const found = [];
  const seen = new Set();
  const check = (el, text, px) => {
    const need = NUMBER.test(text) ? minNumber : minText;
    const key = `${describe(el)}|${text}`;
    if (px + 0.05 < need && !seen.has(key)) {
      seen.add(key);
      found.push(`${describe(el)}: "${text.slice(0, 40)}" at ${px.toFixed(1)} px (needs ${need})`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\s+/g, " ").trim();
    if (!text) continue;
    const el = node.parentElement;
    if (!el || ["SCRIPT", "STYLE", "NOSCRIPT", "OPTION", "TEXTAREA"].includes(el.tagName) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest("svg");
    if (svg && el instanceof SVGElement) {
      const m = el.getScreenCTM();
      if (m) px *= Math.hypot(m.a, m.b);
    }
    check(el, text, px);
  }
  for (const el of document.querySelectorAll("input:not([type=checkbox]):not([type=radio]):not([type=range]):not([type=file]):not([type=hidden]), select, textarea")) {
    if (!shown(el)) continue;
    const text = el.tagName === "SELECT" ? el.selectedOptions[0]?.textContent.trim() || "" : el.value || el.placeholder || "";
    if (text) check(el, text, parseFloat(getComputedStyle(el).fontSize));
  }
  for (const canvas of document.querySelectorAll("canvas[data-number-px]")) {
    if (!shown(canvas)) continue;
    const px = Number(canvas.dataset.numberPx);
    if (px + 0.05 < minNumber) found.push(`${describe(canvas)}: numbers in cells at ${px} px (needs ${minNumber}; hide them instead)`);
  }
  return found;
}"""

CUT_TEXT = "() => {" + _HELPERS + r"""
  const found = [];
  for (const el of document.querySelectorAll("select")) {
    if (!shown(el)) continue;
    const text = el.selectedOptions[0]?.textContent.trim() || "";
    if (!text) continue;
    const cs = getComputedStyle(el);
    // Chromium draws the drop-down arrow in about 20 px at the right of the box.
    const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
    const need = textWidth(text, el);
    if (need > room + 0.5) found.push(`${describe(el)}: "${text}" needs ${need.toFixed(0)} px, the box leaves ${room.toFixed(0)}`);
  }
  for (const el of document.querySelectorAll("main :is(input, select, button, textarea)")) {
    const panel = el.closest(".panel");
    if (!panel || !shown(el)) continue;
    // A control sticking out of its panel is cut off by the panel's edge or runs into the next column.
    const p = panel.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    const edge = p.right - parseFloat(getComputedStyle(panel).borderRightWidth);
    if (r.right > edge + 1 && !(panel.scrollWidth > panel.clientWidth && getComputedStyle(panel).overflowX !== "visible")) {
      found.push(`${describe(el)} sticks out of its panel by ${(r.right - edge).toFixed(0)} px`);
    }
  }
  for (const el of document.querySelectorAll("input[type=text], input[type=number], input:not([type])")) {
    if (!shown(el) || !el.value) continue;
    // A typed value wider than its box shows only its end ("ne" for "same").
    const cs = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - (el.type === "number" ? 14 : 0);
    const need = textWidth(el.value, el);
    if (need > room + 1) found.push(`${describe(el)}: "${el.value}" needs ${need.toFixed(0)} px, the box leaves ${room.toFixed(0)}`);
  }
  for (const el of document.querySelectorAll("main :is(label, .label, th, td, figcaption, h2, h3, button)")) {
    // A label squeezed narrower than its own text ("Padding" shown as "P", the rest under the next box).
    const cs = getComputedStyle(el);
    if (!shown(el) || cs.display === "inline" || !["visible", "clip", "hidden"].includes(cs.overflowX)) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (el.scrollWidth > el.clientWidth + 1) found.push(`${describe(el)}: "${el.textContent.trim().slice(0, 40)}" is wider than its box (${el.scrollWidth} px in ${el.clientWidth})`);
  }
  for (const el of document.querySelectorAll("body *")) {
    if (["CANVAS", "svg", "VIDEO", "IMG", "SELECT", "INPUT", "TEXTAREA", "OPTION"].includes(el.tagName)) continue;
    const cs = getComputedStyle(el);
    if (!["hidden", "clip"].includes(cs.overflowX) || cs.textOverflow !== "ellipsis") continue;
    if (!shown(el) || el.scrollWidth <= el.clientWidth + 1) continue;
    found.push(`${describe(el)}: "${el.textContent.trim().slice(0, 50)}" is cut off (${el.scrollWidth} px in ${el.clientWidth})`);
  }
  return found;
}"""

COVERED = "(scope) => {" + _HELPERS + r"""
  const found = [];
  const root = document.querySelector(scope) || document.body;
  const targets = root.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button, [data-testid=kernel-grid] .kcell, .kernel-table td");
  for (const el of targets) {
    if (!shown(el)) continue;
    // A radio or checkbox drawn by its label is hit-tested through the label.
    const cs = getComputedStyle(el);
    const probe = cs.opacity === "0" || cs.position === "absolute" && (el.type === "radio" || el.type === "checkbox") ? el.closest("label") || el : el;
    if (!shown(probe)) continue;
    probe.scrollIntoView({ block: "nearest", inline: "nearest" });
    const r = probe.getBoundingClientRect();
    const x = Math.min(innerWidth - 1, Math.max(0, r.left + r.width / 2));
    const y = Math.min(innerHeight - 1, Math.max(0, r.top + r.height / 2));
    const hit = document.elementFromPoint(x, y);
    if (!hit) continue;
    const label = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
    if (probe.contains(hit) || hit.contains(probe) && hit.tagName === "LABEL" || label?.contains(hit) || el.closest("label")?.contains(hit)) continue;
    found.push(`${describe(el)} is covered by ${describe(hit)} at (${Math.round(x)}, ${Math.round(y)})`);
  }
  window.scrollTo(0, 0);
  for (const el of document.querySelectorAll(".col-controls")) el.scrollTop = 0;
  return found;
}"""

# The kernel weights are what a teacher shows first: at the page's first position (nothing
# scrolled) every weight, the bias and the flags under the grid are on screen and on top.
KERNEL_IN_VIEW = "() => {" + _HELPERS + r"""
  const found = [];
  const grid = document.querySelector("[data-testid=kernel-grid]");
  const parts = [...grid.querySelectorAll(".kcell"), ...document.querySelectorAll("[data-testid=bias], [data-testid=relu], [data-testid=flip], [data-testid=randomise]")];
  for (const el of parts) {
    if (!shown(el)) continue;
    const probe = getComputedStyle(el).opacity === "0" ? el.closest("label") : el;
    const r = probe.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) {
      found.push(`${describe(el)} is off screen at (${Math.round(x)}, ${Math.round(y)})`);
      continue;
    }
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(probe.contains(hit) || el.closest("label")?.contains(hit))) found.push(`${describe(el)} is covered by ${hit ? describe(hit) : "nothing"}`);
  }
  return found;
}"""

PAGE_WIDTH = """() => {
  const doc = document.documentElement;
  if (doc.scrollWidth <= innerWidth) return [];
  // Name the widest culprits: elements whose right edge passes the viewport.
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && el.checkVisibility())
    .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > innerWidth + 1))
    .slice(0, 6)
    .map((el) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/)[0] : ""}${el.dataset.testid ? "[" + el.dataset.testid + "]" : ""} → ${Math.round(el.getBoundingClientRect().right)}`);
  return [`page is ${doc.scrollWidth} px wide in a ${innerWidth} px window: ${wide.join(", ")}`];
}"""
