// Kernels of the Backward lab: the shared presets plus "numbered" (1, 2, … kh·kw in
// reading order), whose stamp in the input gradient shows its orientation at a
// glance; the flip; and a small table that prints a kernel with every number.

import { MAPS, cssColor, rangeFor } from "../../colormap.js";
import { fmt } from "../../heatmap.js";
import { PRESETS, presetKernel, rng } from "../../presets.js";
import { el } from "../../ui.js";

export const BW_PRESETS = [
  { id: "numbered", name: "Numbered 1…k²", sized: true },
  ...PRESETS,
  { id: "normal", name: "Normal (seeded)", sized: true },
];

/** `n` seeded standard-normal numbers (Box–Muller on the shared PRNG), as R's rnorm draws them in the chapter's check. */
export function normals(seed, n) {
  const next = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next(); // (0, 1]: log(u) is finite
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** The chapter's input for its gradient check: an 8×8 standard-normal x (seeded), as (1, 8, 8) nested lists. */
export function chapterInput(seed) {
  const v = normals(seed, 64);
  return [Array.from({ length: 8 }, (_, r) => Array.from(v.subarray(r * 8, r * 8 + 8)))];
}

/** Weights (row-major Float64Array of kh·kw) of a preset. */
export function kernelValues(id, kh, kw, seed) {
  if (id === "numbered") return Float64Array.from({ length: kh * kw }, (_, i) => i + 1);
  if (id === "normal") return normals(seed + 1, kh * kw); // another stream than the input's
  return presetKernel(id, kh, kw, seed);
}

/** The kernel reversed on both axes (what eq. 36.10 slides over δ). */
export function flip(values, kh, kw) {
  const out = new Float64Array(kh * kw);
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) out[a * kw + b] = values[(kh - 1 - a) * kw + (kw - 1 - b)];
  return out;
}

/** (C_out = 1, C_in, kh, kw) nested lists: the same kernel on every input channel. */
export function weightFor(values, kh, kw, cIn) {
  const grid = Array.from({ length: kh }, (_, a) => Array.from(values.subarray(a * kw, (a + 1) * kw)));
  return [Array.from({ length: cIn }, () => grid)];
}

/** A table with one cell per weight, coloured on the diverging map, every number printed. */
export function kernelTable(values, kh, kw, { caption = "" } = {}) {
  const map = MAPS.diverging;
  const [lo, hi] = rangeFor(values, map);
  const rows = [];
  for (let a = 0; a < kh; a++) {
    const cells = [];
    for (let b = 0; b < kw; b++) {
      const v = values[a * kw + b];
      if (!Number.isFinite(v)) {
        cells.push(el("td", { class: "off", title: "in the padding" }, "·"));
        continue;
      }
      const { background, text } = cssColor(v, map, lo, hi);
      const td = el("td", { title: `[${a}, ${b}] = ${v}` }, fmt(v, 3));
      td.style.background = background;
      td.style.color = text;
      cells.push(td);
    }
    rows.push(el("tr", {}, ...cells));
  }
  return el("table", { class: "kernel-table", "aria-label": caption }, el("tbody", {}, ...rows));
}
