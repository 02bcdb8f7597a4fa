// 1-D convolution (eq. 36.1) with stride, padding and dilation, and its backward
// pass: δ → ∂L/∂w (36.9) and ∂L/∂x (36.10). Every product and sum is written out
// from the server's padded input and weights, and each page-side sum is checked
// against the server's conv1d / conv1d_backward answer.

import { fmt } from "../../heatmap.js";
import { convOutputSize, effectiveKernel } from "../../shape.js";
import { el, reportError, showError } from "../../ui.js";
import { numberControl, numbersControl, panel, postForView, selectControl } from "./controls.js";
import { KIND, NumberGrid, figure, seededInts, term } from "./grid.js";

export const FIELDS = [
  { name: "family.c1.source", def: "wave" },
  { name: "family.c1.wave", def: "step" },
  { name: "family.c1.len", def: 12 },
  { name: "family.c1.row", def: 8 },
  { name: "family.c1.col", def: 0 },
  { name: "family.c1.typed", def: [0, 1, 2, 3, 4, 3, 2, 1, 0] },
  { name: "family.c1.kernel", def: [1, 0, -1] },
  { name: "family.c1.s", def: 1 },
  { name: "family.c1.p", def: 0 },
  { name: "family.c1.d", def: 1 },
  { name: "family.c1.mode", def: "zeros" },
  { name: "family.c1.i", def: 4 },
  { name: "family.c1.m", def: 0 },
  { name: "family.c1.delta", def: "onehot" },
  { name: "family.c1.seed", def: 1 },
];

const KEYS = FIELDS.map((f) => f.name).concat(["family.view", "image", "maxSide"]);
const MAX_LEN = 64;

function wave(kind, n) {
  const r2 = (v) => Math.round(v * 100) / 100;
  const f = {
    sine: (t) => r2(Math.sin((2 * Math.PI * t) / 8)),
    square: (t) => (t % 8 < 4 ? 1 : -1),
    step: (t) => (t < n / 2 ? 0 : 1),
    spike: (t) => (t === Math.floor(n / 2) ? 1 : 0),
  }[kind] || ((t) => t);
  return Array.from({ length: n }, (_, t) => f(t));
}

/** Index of the input pixel a padded position copies (null: a zero). */
export function sourceOf(j, L, p, mode) {
  const m = j - p;
  if (m >= 0 && m < L) return m;
  if (mode === "zeros") return null;
  if (mode === "replicate") return Math.max(0, Math.min(L - 1, m));
  if (mode === "circular") return ((m % L) + L) % L;
  return m < 0 ? -m : 2 * (L - 1) - m; // reflect
}

export function mount(cols, ctx) {
  const { state } = ctx;
  const controls = panel(cols.controls, "1-D convolution");
  const src = selectControl(state, "family.c1.source", "Signal", [["wave", "synthetic waveform"], ["row", "a row of the image"], ["typed", "typed numbers"]], { testid: "conv1d-source" });
  const wav = selectControl(state, "family.c1.wave", "Waveform", [["step", "step"], ["sine", "sine"], ["square", "square"], ["spike", "spike"]], { testid: "conv1d-wave" });
  const len = numberControl(state, "family.c1.len", "Length", { min: 1, max: MAX_LEN, testid: "conv1d-length" });
  const row = numberControl(state, "family.c1.row", "Image row", { min: 0, max: 1023, testid: "conv1d-row" });
  const col = numberControl(state, "family.c1.col", "From col", { min: 0, max: 1023, testid: "conv1d-col" });
  const typed = numbersControl(state, "family.c1.typed", "Numbers", { testid: "conv1d-typed", placeholder: "0, 1, 2, 3" });
  const kernel = numbersControl(state, "family.c1.kernel", "Kernel w", { testid: "conv1d-kernel", placeholder: "1, 0, -1" });
  const stride = numberControl(state, "family.c1.s", "Stride", { min: 1, max: 8, testid: "conv1d-stride" });
  const pad = numberControl(state, "family.c1.p", "Padding", { min: 0, max: 16, testid: "conv1d-padding" });
  const dil = numberControl(state, "family.c1.d", "Dilation", { min: 1, max: 8, testid: "conv1d-dilation" });
  const mode = selectControl(state, "family.c1.mode", "Pad mode", [["zeros", "zeros"], ["reflect", "reflect"], ["replicate", "replicate"], ["circular", "circular"]], { testid: "conv1d-padding-mode" });
  const delta = selectControl(state, "family.c1.delta", "δ", [["onehot", "one-hot at an output"], ["ones", "all ones"], ["random", "random (seeded)"]], { testid: "conv1d-delta" });
  const ctl = [src, wav, len, row, col, typed, kernel, stride, pad, dil, mode, delta];
  controls.append(...ctl.map((c) => c.row));
  // What the page changed about the asked-for signal (clamped row, column, length; cut typed list).
  const clampNote = el("p", { class: "fam-note", "data-testid": "conv1d-clamp-note", role: "status", hidden: true });
  controls.append(clampNote);

  const fs = figure(cols.pictures, "Input x̃: the signal with its padding (hatched); the window of the chosen output outlined", { wide: true });
  const gs = new NumberGrid(fs.body, { testid: "conv1d-signal", label: "padded signal", maxCell: 34, maxW: 560, maxH: 40, name: "x̃" });
  const fk = figure(cols.pictures, "Kernel w", { wide: true });
  const gk = new NumberGrid(fk.body, { testid: "conv1d-kernel-grid", label: "kernel", maxCell: 34, maxW: 400, maxH: 40, name: "w" });
  const fo = figure(cols.pictures, "Output s (server) — click a cell to write out its sum", { wide: true });
  const go = new NumberGrid(fo.body, { testid: "conv1d-output", label: "output", maxCell: 34, maxW: 560, maxH: 40, name: "s" });
  const tableWrap = el("div", { class: "fam-scroll", "data-testid": "conv1d-products" });
  const fp = figure(cols.pictures, "Every product and sum (eq. 36.1)", { wide: true });
  fp.body.append(tableWrap);
  const back = panel(cols.pictures, "Backward pass");
  const fd = figure(back, "δ = ∂L/∂s", { wide: true });
  const gd = new NumberGrid(fd.body, { testid: "conv1d-delta-grid", label: "upstream gradient", maxCell: 34, maxW: 560, maxH: 40, name: "δ" });
  const fgw = figure(back, "∂L/∂w (eq. 36.9): correlate the input with δ", { wide: true });
  const ggw = new NumberGrid(fgw.body, { testid: "conv1d-grad-w", label: "weight gradient", maxCell: 34, maxW: 400, maxH: 40, name: "∂L/∂w" });
  const fgx = figure(back, "∂L/∂x (eq. 36.10): δ scattered through the kernel — click a cell", { wide: true });
  const ggx = new NumberGrid(fgx.body, { testid: "conv1d-grad-x", label: "input gradient", maxCell: 34, maxW: 560, maxH: 40, name: "∂L/∂x" });

  const sumPanel = panel(cols.explain, "The chosen output");
  const sumText = el("div", { class: "formula", "data-testid": "conv1d-sum" });
  const sizeText = el("div", { class: "formula", "data-testid": "conv1d-output-size" });
  sumPanel.append(sumText, sizeText);
  const gradPanel = panel(cols.explain, "Gradients, term by term");
  const gwText = el("div", { class: "formula", "data-testid": "conv1d-grad-w-terms" });
  const gxText = el("div", { class: "formula", "data-testid": "conv1d-grad-x-terms" });
  const checkText = el("div", { "data-testid": "conv1d-check" });
  gradPanel.append(gwText, gxText, checkText);

  go.onClick((c) => state.set({ "family.c1.i": c.col }));
  gs.onClick((c) => {
    const s = state.get();
    const m = c.col - s["family.c1.p"];
    if (m >= 0) state.set({ "family.c1.m": m });
  });
  ggx.onClick((c) => state.set({ "family.c1.m": c.col }));

  async function signal(s) {
    const source = s["family.c1.source"];
    const notes = [];
    const say = () => {
      clampNote.hidden = !notes.length;
      clampNote.textContent = notes.join(" ");
    };
    if (source === "typed") {
      const typedIn = s["family.c1.typed"];
      if (typedIn.length > MAX_LEN) notes.push(`Only the first ${MAX_LEN} of your ${typedIn.length} numbers are used.`);
      say();
      return typedIn.slice(0, MAX_LEN);
    }
    if (source === "wave") {
      say();
      return wave(s["family.c1.wave"], s["family.c1.len"]);
    }
    const px = await ctx.image.getPixels(s.image, "gray");
    const [, h, w] = px.shape;
    const r = Math.min(s["family.c1.row"], h - 1);
    const c0 = Math.min(s["family.c1.col"], w - 1);
    const n = Math.min(s["family.c1.len"], w - c0);
    if (r !== s["family.c1.row"]) notes.push(`The image has ${h} rows (0–${h - 1}): row ${r} is used.`);
    if (c0 !== s["family.c1.col"]) notes.push(`The image has ${w} columns (0–${w - 1}): the row starts at column ${c0}.`);
    if (n !== s["family.c1.len"]) notes.push(`Only ${n} pixels remain from column ${c0} of a ${w}-wide row: length ${n}, not ${s["family.c1.len"]}.`);
    say();
    return Array.from(px.subarray(r * w + c0, r * w + c0 + n));
  }

  function showControls(s) {
    const source = s["family.c1.source"];
    wav.row.hidden = source !== "wave";
    len.row.hidden = source === "typed";
    row.row.hidden = col.row.hidden = source !== "row";
    typed.row.hidden = source !== "typed";
    const slot = cols.controls.querySelector("[data-input-slot]");
    if (slot) slot.hidden = source !== "row";
  }


  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      ctl.forEach((c) => c.render(s));
      showControls(s);
      let x;
      try {
        x = await signal(s);
      } catch (err) {
        if (reportError(err)) cols.pictures.classList.add("stale");
        return;
      }
      const w = s["family.c1.kernel"];
      const L = x.length;
      const k = w.length;
      const st = s["family.c1.s"];
      const p = s["family.c1.p"];
      const d = s["family.c1.d"];
      const span = effectiveKernel(k, d);
      const fits = L + 2 * p >= span;
      const Lout = fits ? convOutputSize(L, k, st, p, d) : "empty";
      sizeText.textContent = `L_out = ⌊(L + 2p − d·(k − 1) − 1)/s⌋ + 1 = ⌊(${L} + 2·${p} − ${d}·(${k} − 1) − 1)/${st}⌋ + 1 = ${Lout}`;
      if (!fits) {
        showError(`The dilated kernel (${span} taps wide) is longer than the padded signal (${L + 2 * p}): add padding ≥ ${Math.ceil((span - L) / 2)} or use a shorter kernel.`);
        cols.pictures.classList.add("stale");
        return;
      }
      const i = Math.min(s["family.c1.i"], Lout - 1);
      const deltaKind = s["family.c1.delta"];
      const dvals = deltaKind === "ones" ? new Array(Lout).fill(1)
        : deltaKind === "random" ? seededInts(s["family.c1.seed"], Lout, -2, 2)
        : Array.from({ length: Lout }, (_, j) => (j === i ? 1 : 0));
      const answer = await postForView({ state, pictures: cols.pictures }, s, "/api/conv1d", {
        input: [x], weight: [[w]], stride: st, padding: p, dilation: d, padding_mode: s["family.c1.mode"],
        dtype: "float64", grad_output: [dvals],
      }, "family-conv1d");
      if (!answer) return;

      draw(s, { x, w, L, k, st, p, d, span, Lout, i, dvals, answer });
    },
  };

  function draw(s, g) {
    const { w, L, k, st, p, d, span, Lout, i, dvals, answer } = g;
    const xp = answer.padded_input[0];
    const y = answer.output[0];
    const kinds = xp.map((_, j) => (j < p || j >= p + L ? KIND.padding : KIND.normal));
    gs.set(xp, 1, xp.length, { kinds });
    gs.describe = (c) => (c.col < p || c.col >= p + L ? `padding (${s["family.c1.mode"]})` : `x[${c.col - p}]`);
    const taps = Array.from({ length: k }, (_, a) => ({ row: 0, col: i * st + a * d, h: 1, w: 1, color: "#ff2d95", width: 3 }));
    gs.setBoxes([{ row: 0, col: i * st, h: 1, w: span, color: "#1f5fae", width: 2, dash: [5, 3] }, ...taps]);
    gk.set(w, 1, k);
    go.set(y, 1, Lout);
    go.setBoxes([{ row: 0, col: i, h: 1, w: 1, color: "#111", width: 3 }]);

    // Every product and sum, and the chosen one large.
    const table = el("table", { class: "numbers fam-products" },
      el("thead", {}, el("tr", {}, el("th", {}, "i"), el("th", {}, "products x̃[i·s + a·d]·w[a]"), el("th", {}, "sum"), el("th", {}, "server"))));
    const body = el("tbody");
    let worst = 0;
    const sums = [];
    for (let o = 0; o < Lout; o++) {
      const prods = [];
      let sum = 0;
      for (let a = 0; a < k; a++) {
        const v = xp[o * st + a * d];
        prods.push(`${term(v, 3)}·${term(w[a], 3)}`);
        sum += v * w[a];
      }
      sums.push(sum);
      worst = Math.max(worst, Math.abs(sum - y[o]));
      body.append(el("tr", { class: o === i ? "fam-current" : null, "data-index": o },
        el("td", {}, String(o)), el("td", {}, prods.join(" + ")), el("td", {}, fmt(sum, 5)), el("td", {}, fmt(y[o], 5))));
    }
    table.append(body);
    tableWrap.replaceChildren(table);
    const chosen = Array.from({ length: k }, (_, a) => `x̃[${i * st + a * d}]·w[${a}]`).join(" + ");
    const chosenNums = Array.from({ length: k }, (_, a) => `${term(xp[i * st + a * d], 4)}·${term(w[a], 4)}`).join(" + ");
    sumText.replaceChildren(
      el("div", {}, `s[${i}] = ${chosen}`),
      el("div", {}, `= ${chosenNums}`),
      el("div", { class: "big" }, `= ${fmt(sums[i], 6)}`),
      el("div", { class: "hint" }, `server: ${fmt(y[i], 6)}`),
    );

    // Backward: 36.9 and 36.10 term by term.
    gd.set(dvals, 1, Lout);
    const gw = answer.grad_weight[0][0];
    const gx = answer.grad_input[0];
    ggw.set(gw, 1, k);
    ggx.set(gx, 1, L);
    const m = Math.min(s["family.c1.m"], L - 1);
    ggx.setBoxes([{ row: 0, col: m, h: 1, w: 1, color: "#111", width: 3 }]);
    const gwLines = [];
    let worstGrad = 0;
    for (let a = 0; a < k; a++) {
      let sum = 0;
      const parts = [];
      for (let o = 0; o < Lout; o++) {
        const v = xp[o * st + a * d];
        sum += dvals[o] * v;
        if (dvals[o] !== 0 && v !== 0) parts.push(`${term(dvals[o], 3)}·${term(v, 3)}`);
      }
      worstGrad = Math.max(worstGrad, Math.abs(sum - gw[a]));
      gwLines.push(el("div", {}, `∂L/∂w[${a}] = Σᵢ δ[i]·x̃[i·${st} + ${a}·${d}] = ${parts.join(" + ") || "0"} = ${fmt(sum, 5)}`));
    }
    gwText.replaceChildren(...gwLines);
    // ∂L/∂x[m]: every (i, a) whose tap reads x[m] directly or through a padded copy.
    const parts = [];
    const gxPage = new Array(L).fill(0);
    for (let o = 0; o < Lout; o++) for (let a = 0; a < k; a++) {
      const j = o * st + a * d;
      const srcIdx = sourceOf(j, L, p, s["family.c1.mode"]);
      if (srcIdx === null) continue;
      gxPage[srcIdx] += dvals[o] * w[a];
      if (srcIdx === m && dvals[o] !== 0 && w[a] !== 0) {
        parts.push(`δ[${o}]·w[${a}]${j - p !== m ? " (padded copy)" : ""} = ${term(dvals[o], 3)}·${term(w[a], 3)}`);
      }
    }
    for (let q = 0; q < L; q++) worstGrad = Math.max(worstGrad, Math.abs(gxPage[q] - gx[q]));
    gxText.replaceChildren(
      el("div", {}, `∂L/∂x[${m}] = Σ δ[i]·w[a] over i·s + a·d − p = ${m}`),
      el("div", {}, `= ${parts.join(" + ") || "0"} = ${fmt(gxPage[m], 5)}`),
    );
    const ok = worst < 1e-9 && worstGrad < 1e-9;
    checkText.className = ok ? "ok" : "bad";
    checkText.dataset.forwardDiff = String(worst);
    checkText.dataset.gradDiff = String(worstGrad);
    checkText.textContent = `sums written out here vs the server's conv1d and conv1d_backward: max |diff| = ${fmt(Math.max(worst, worstGrad), 3)}`;
  }
}
