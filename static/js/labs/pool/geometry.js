// Pooling geometry in the page (pure, no DOM): windows, winners, the output-size
// formula with the user's numbers. Mirrors app.kernels.pool's rules.

import { droppedByFloor, poolOutputSize } from "../../shape.js";

/** Per-axis check and sizes; {ok, error?, knob?, oh, ow, dropped: [rows, cols]}. */
export function poolGeometry(h, w, [kh, kw], [sh, sw], [ph, pw]) {
  const fail = (knob, error) => ({ ok: false, knob, error });
  if (!(kh >= 1 && kw >= 1)) return fail("k", "the window must be at least 1×1");
  if (!(sh >= 1 && sw >= 1)) return fail("s", "the stride must be at least 1");
  if (!(ph >= 0 && pw >= 0)) return fail("p", "padding must be at least 0");
  if (2 * ph > kh || 2 * pw > kw) {
    return fail("p", `padding ${ph}×${pw} must be at most half the pool window ${kh}×${kw}: lower padding to ≤ ${Math.floor(kh / 2)}×${Math.floor(kw / 2)}`);
  }
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    return fail("k", `pool window ${kh}×${kw} is larger than the padded input ${h + 2 * ph}×${w + 2 * pw}: use a smaller window`);
  }
  const oh = poolOutputSize(h, kh, sh, ph);
  const ow = poolOutputSize(w, kw, sw, pw);
  const dropped = [droppedByFloor(h, kh, sh, ph), droppedByFloor(w, kw, sw, pw)];
  return { ok: true, oh, ow, dropped };
}

/** Input rows/cols [r0, c0, r1, c1) covered by output (i, j), clipped to the image. */
export function windowOf(i, j, h, w, [kh, kw], [sh, sw], [ph, pw]) {
  const r0 = i * sh - ph;
  const c0 = j * sw - pw;
  return [Math.max(0, r0), Math.max(0, c0), Math.min(h, r0 + kh), Math.min(w, c0 + kw)];
}

/** The formula of one axis with the numbers substituted, e.g. "⌊(16 + 2·0 − 2) / 2⌋ + 1 = 8". */
export function sizeFormula(n, k, s, p) {
  const out = poolOutputSize(n, k, s, p);
  return `⌊(${n} + 2·${p} − ${k}) / ${s}⌋ + 1 = ${out}`;
}

/** Winner cells of channel `c`: [[r, col, count], …] and a Map flat -> count. */
export function winners(argmax, c, oh, ow, w) {
  const counts = new Map();
  const base = c * oh * ow;
  for (let t = 0; t < oh * ow; t++) {
    const flat = argmax[base + t];
    counts.set(flat, (counts.get(flat) || 0) + 1);
  }
  return [...counts].map(([flat, n]) => [Math.floor(flat / w), flat % w, n]);
}
