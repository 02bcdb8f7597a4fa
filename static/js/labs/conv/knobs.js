// The Convolution lab's per-axis knobs: kernel size, stride and dilation as linked
// (h, w) pairs, and padding (a number, "valid" or "same"; a second number when the
// axes are set apart). Each reads the state on render and writes changes back
// through `setSoon` (at most one state change a frame while typing or dragging).

import { formatPadding, kernelSize, padding, parsePadding } from "./model.js";

/** Show a lock button as linked ("=") or not ("≠"). */
function renderLock(lock, linked, title = null) {
  lock.setAttribute("aria-pressed", String(linked));
  lock.textContent = linked ? "=" : "≠";
  if (title) lock.title = title;
}

/** A knob of two integer boxes (h, w) in [min, max] behind a link toggle. Returns {render(s)}. */
export function mountPairKnob(root, { state, setSoon }, knob, field, { min, max, primary, secondary }) {
  const lock = root.querySelector(`[data-knob="${knob}"] .lock`);
  const a = root.querySelector(primary);
  const b = root.querySelector(secondary);
  let linked = true;
  const read = (input) => {
    const v = Number(input.value);
    return Number.isInteger(v) && v >= min && v <= max ? v : null;
  };
  const write = () => {
    const va = read(a);
    const vb = linked ? va : read(b);
    a.classList.toggle("invalid", va === null);
    b.classList.toggle("invalid", vb === null);
    if (va === null || vb === null) return;
    const patch = { [field]: [va, vb] };
    if (field === "conv.k") patch["conv.at"] = [];
    setSoon(patch);
  };
  function render(s) {
    const [h, w] = field === "conv.k" ? kernelSize(s) : s[field];
    if (h !== w) linked = false;
    renderLock(lock, linked, linked ? "Linked: one value for both axes (click to set h and w apart)" : "Separate h and w (click to link)");
    b.hidden = linked;
    if (document.activeElement !== a) a.value = String(h);
    if (document.activeElement !== b) b.value = String(w);
  }
  a.addEventListener("input", write);
  b.addEventListener("input", write);
  lock.addEventListener("click", () => {
    linked = !linked;
    render(state.get());
    if (linked) write();
  });
  return { render };
}

/** Padding: a number, "valid" or "same" in the primary box; a second number when unlinked. */
export function mountPaddingKnob(root, { state, setSoon }) {
  const input = root.querySelector("#conv-pad");
  const inputW = root.querySelector("#conv-pw");
  const lock = root.querySelector('[data-knob="padding"] .lock');
  let linked = true;
  const invalid = (box, title) => {
    box.classList.add("invalid");
    if (title) box.title = title;
  };
  const write = () => {
    const text = input.value.trim().toLowerCase();
    let value;
    if (text === "valid" || text === "same") value = text;
    else {
      const h = parsePadding(text);
      if (h === undefined) return invalid(input, 'Type a number ≥ 0, "valid" or "same"');
      if (linked) value = formatPadding(h);
      else {
        const w = Number(inputW.value);
        if (!Number.isInteger(w) || w < 0) return invalid(inputW);
        value = formatPadding([h[0], w]);
      }
    }
    input.classList.remove("invalid");
    inputW.classList.remove("invalid");
    input.title = "";
    setSoon({ "conv.pad": value });
  };
  function render(s) {
    const p = padding(s);
    if (Array.isArray(p) && p[0] !== p[1]) linked = false;
    renderLock(lock, linked);
    inputW.hidden = linked || typeof p === "string";
    if (document.activeElement !== input) input.value = typeof p === "string" ? p : linked ? formatPadding(p) : String(p[0]);
    if (document.activeElement !== inputW && Array.isArray(p)) inputW.value = String(p[1]);
  }
  input.addEventListener("input", write);
  input.addEventListener("change", write);
  inputW.addEventListener("input", write);
  lock.addEventListener("click", () => {
    linked = !linked;
    render(state.get());
    if (linked) write();
  });
  return { render };
}
