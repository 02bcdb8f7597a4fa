// Two panels beside the transposed-convolution view:
//  - checkerboard artefacts: a constant input upsampled ×2 by kernel 3 (uneven
//    overlap) and kernel 4 (even overlap), both from the server's conv_transpose2d;
//  - the input gradient of a conv layer (eq. 36.10) next to conv_transpose2d(δ):
//    the same numbers, with their max difference printed.

import { postJSON } from "../../api.js";
import { fmt } from "../../heatmap.js";
import { convOutputSize, effectiveKernel } from "../../shape.js";
import { clearError, el, reportError } from "../../ui.js";
import { numberControl, panel } from "./controls.js";
import { NumberGrid, figure, flat, seededInts } from "./grid.js";
import { tensors } from "./transpose.js";

export const FIELDS = [
  { name: "family.cb.n", def: 4 },
  { name: "family.gi.n", def: 6 },
];

const KEYS = ["family.view", "family.cb.n", "family.gi.n", "family.t.k", "family.t.kernel", "family.t.s", "family.t.p", "family.t.d", "family.t.seed"];

const nest = (arr, h, w) => Array.from({ length: h }, (_, r) => arr.slice(r * w, (r + 1) * w));

/** min and max of the cells at least one cell in from the border. */
function interior(values, h, w) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 1; r < h - 1; r++) for (let c = 1; c < w - 1; c++) {
    lo = Math.min(lo, values[r * w + c]);
    hi = Math.max(hi, values[r * w + c]);
  }
  return Number.isFinite(lo) ? [lo, hi] : [NaN, NaN];
}

export function mount(cols, ctx) {
  const { state } = ctx;
  // Checkerboard artefacts.
  const cb = panel(cols.pictures, "Checkerboard artefacts: stride 2 on a constant input");
  const cbN = numberControl(state, "family.cb.n", "Input n×n (all ones)", { min: 2, max: 12, testid: "checkerboard-n" });
  cb.append(cbN.row);
  const cbRow = el("div", { class: "fam-row" });
  cb.append(cbRow);
  const f3 = figure(cbRow, "kernel 3, stride 2, padding 1, output_padding 1");
  const g3 = new NumberGrid(f3.body, { testid: "checkerboard-3", label: "kernel 3 upsampling", maxCell: 24, maxW: 260, name: "y" });
  const f4 = figure(cbRow, "kernel 4, stride 2, padding 1");
  const g4 = new NumberGrid(f4.body, { testid: "checkerboard-4", label: "kernel 4 upsampling", maxCell: 24, maxW: 260, name: "y" });
  const cbStats = el("div", { "data-testid": "checkerboard-stats" });
  cb.append(cbStats, el("p", { class: "hint" }, "Both double the size. With k = 3 the stamps overlap on every other row and column, so a flat input comes out striped; with k = 4 (divisible by the stride) every interior cell gets the same number of stamps."));

  // Input gradient = transposed convolution of δ.
  const gi = panel(cols.pictures, "The input gradient of a conv layer is a transposed convolution (eq. 36.10)");
  const giN = numberControl(state, "family.gi.n", "Forward input n×n", { min: 2, max: 12, testid: "gradient-n" });
  const giText = el("p", { class: "formula", "data-testid": "grad-transpose-formula" });
  gi.append(giN.row, giText);
  const giRow = el("div", { class: "fam-row" });
  gi.append(giRow);
  const fd = figure(giRow, "δ = ∂L/∂y (seeded)");
  const gd = new NumberGrid(fd.body, { testid: "grad-delta", label: "upstream gradient", maxCell: 24, maxW: 170, name: "δ" });
  const fgx = figure(giRow, "∂L/∂x from conv2d_backward");
  const ggx = new NumberGrid(fgx.body, { testid: "grad-input", label: "input gradient", maxCell: 24, maxW: 200, name: "∂L/∂x" });
  const fgt = figure(giRow, "conv_transpose2d(δ, w)");
  const ggt = new NumberGrid(fgt.body, { testid: "grad-transposed", label: "transposed convolution of delta", maxCell: 24, maxW: 200, name: "value" });
  const giDiff = el("div", { "data-testid": "grad-transpose-diff" });
  gi.append(giDiff);

  let lastCb = null;
  let lastGi = null;

  async function renderCheckerboard(s) {
    const n = s["family.cb.n"];
    if (n === lastCb) return;
    const input = [nest(new Array(n * n).fill(1), n, n)];
    const ones = (k) => [[nest(new Array(k * k).fill(1), k, k)]];
    const [a, b] = await Promise.all([
      postJSON("/api/conv_transpose2d", { input, weight: ones(3), stride: 2, padding: 1, output_padding: 1, dtype: "float64" }, { key: "family-cb3" }),
      postJSON("/api/conv_transpose2d", { input, weight: ones(4), stride: 2, padding: 1, dtype: "float64" }, { key: "family-cb4" }),
    ]);
    const range = [0, 4];
    const y3 = flat(a.output);
    const y4 = flat(b.output);
    g3.set(y3, a.output_shape[1], a.output_shape[2], { range });
    g4.set(y4, b.output_shape[1], b.output_shape[2], { range });
    const [lo3, hi3] = interior(y3, a.output_shape[1], a.output_shape[2]);
    const [lo4, hi4] = interior(y4, b.output_shape[1], b.output_shape[2]);
    cbStats.replaceChildren(
      el("div", { "data-testid": "checkerboard-stats-3" }, `k = 3: interior values ${fmt(lo3)} … ${fmt(hi3)} — ${lo3 === hi3 ? "flat" : "▦ checkerboard (uneven overlap)"}`),
      el("div", { "data-testid": "checkerboard-stats-4" }, `k = 4: interior values ${fmt(lo4)} … ${fmt(hi4)} — ${lo4 === hi4 ? "flat (even overlap)" : "▦ checkerboard"}`),
    );
    lastCb = n;
  }

  async function renderGradient(s) {
    const { k, w } = tensors(s);
    const n = s["family.gi.n"];
    const st = s["family.t.s"];
    const p = s["family.t.p"];
    const d = s["family.t.d"];
    const key = JSON.stringify([n, k, w, st, p, d, s["family.t.seed"]]);
    if (key === lastGi) return;
    const span = effectiveKernel(k, d);
    if (n + 2 * p < span) {
      giText.textContent = `The forward convolution needs n + 2p ≥ d(k − 1) + 1 = ${span}: raise the forward input size.`;
      return;
    }
    const out = convOutputSize(n, k, st, p, d);
    const x = seededInts(s["family.t.seed"] + 11, n * n, -2, 3);
    const delta = seededInts(s["family.t.seed"] + 23, out * out, -2, 2);
    const answer = await postJSON(
      "/api/conv_transpose2d/input-gradient",
      { input: [nest(x, n, n)], weight: [[nest(w, k, k)]], grad_output: [nest(delta, out, out)], stride: st, padding: p, dilation: d },
      { key: "family-gi" },
    );
    const op = answer.output_padding[0];
    giText.textContent = `Forward: y = conv2d(x, w, stride=${st}, padding=${p}, dilation=${d}) maps ${n}×${n} → ${out}×${out}. ` +
      `Backward: ∂L/∂x = conv_transpose2d(δ, w, stride=${st}, padding=${p}, output_padding=${op}, dilation=${d}) — ` +
      `output_padding ${op} gives back the ${op} row(s) the forward floor dropped.`;
    gd.set(delta, out, out);
    const range = (() => {
      const all = flat(answer.grad_input).concat(flat(answer.transposed)).map(Math.abs);
      const m = Math.max(1e-9, ...all);
      return [-m, m];
    })();
    ggx.set(flat(answer.grad_input), n, n, { range });
    ggt.set(flat(answer.transposed), n, n, { range });
    const diff = answer.max_abs_diff;
    giDiff.className = diff < 1e-9 ? "ok" : "bad";
    giDiff.dataset.diff = String(diff);
    giDiff.textContent = `max |conv2d_backward input gradient − conv_transpose2d(δ)| = ${diff === 0 ? "0" : diff.toExponential(2)}`;
    lastGi = key;
  }

  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      cbN.render(s);
      giN.render(s);
      try {
        await Promise.all([renderCheckerboard(s), renderGradient(s)]);
      } catch (err) {
        reportError(err);
        return;
      }
    },
    invalidate() {
      lastCb = null;
      lastGi = null;
    },
  };
}
