// Transposed convolution, two synchronised pictures of the same numbers:
//   A. scatter — each input pixel stamps x[i,j]·w into the output, overlaps summed
//      (stepped through input pixels in raster order; the sums are the page's);
//   B. direct — the zero-inserted, padded input correlated with the flipped kernel
//      (the server's app.labs.family.transposed over app.kernels.conv2d).
// The output itself is the server's app.kernels.conv_transpose2d; the explain
// column prints how far the page's stamps and the direct form are from it.

import { postJSON } from "../../api.js";
import { fmt } from "../../heatmap.js";
import { convTransposeOutputSize, effectiveKernel } from "../../shape.js";
import { clearError, el, reportError, showError } from "../../ui.js";
import { mountCellPicker } from "../../widgets/cell-picker.js";
import { numberControl, panel, selectControl } from "./controls.js";
import { KIND, NumberGrid, figure, flat, maxAbsDiff, seededInts, term } from "./grid.js";

export const FIELDS = [
  { name: "family.t.n", def: 3 },
  { name: "family.t.input", def: "ramp" },
  { name: "family.t.k", def: 3 },
  { name: "family.t.kernel", def: "ones" },
  { name: "family.t.s", def: 2 },
  { name: "family.t.p", def: 0 },
  { name: "family.t.op", def: 0 },
  { name: "family.t.d", def: 1 },
  { name: "family.t.seed", def: 1 },
  { name: "family.t.step", def: -1 }, // input pixels stamped so far; −1 = all
  { name: "family.t.cell", def: [] }, // selected output cell [row, col]
];

const KEYS = FIELDS.map((f) => f.name).concat(["family.view"]);

/** The illustrative input x (n×n) and kernel w (k×k) for the current state. */
export function tensors(s) {
  const n = s["family.t.n"];
  const k = s["family.t.k"];
  const seed = s["family.t.seed"];
  const x = {
    ramp: () => Array.from({ length: n * n }, (_, i) => i + 1),
    ones: () => new Array(n * n).fill(1),
    onehot: () => Array.from({ length: n * n }, (_, i) => (i === Math.floor(n / 2) * n + Math.floor(n / 2) ? 1 : 0)),
    random: () => seededInts(seed, n * n, -2, 3),
  }[s["family.t.input"]]?.() ?? new Array(n * n).fill(1);
  const w = {
    ones: () => new Array(k * k).fill(1),
    ramp: () => Array.from({ length: k * k }, (_, i) => i + 1),
    random: () => seededInts(seed + 7, k * k, -2, 2),
  }[s["family.t.kernel"]]?.() ?? new Array(k * k).fill(1);
  return { n, k, x, w };
}

/** The layer's knobs: stride st, padding p, dilation d, output_padding op. */
export function knobs(s) {
  return { st: s["family.t.s"], p: s["family.t.p"], d: s["family.t.d"], op: s["family.t.op"] };
}

/** Validation a person can act on ([field, message]), or null. */
export function problem(s) {
  const { n, k } = tensors(s);
  const { st, p, d, op } = knobs(s);
  if (op >= Math.max(st, d)) {
    return ["family.t.op", `output_padding ${op} must be smaller than the stride (${st}) or the dilation (${d}); lower it to ${Math.max(st, d) - 1}`];
  }
  const full = convTransposeOutputSize(n, k, st, 0, d, op); // before padding crops it
  if (full - 2 * p < 1) {
    return ["family.t.p", `padding ${p} crops the whole output; lower padding to ≤ ${Math.floor((full - 1) / 2)}`];
  }
  return null;
}

/** The stamps of the first `t` input pixels, summed on the full (uncropped) canvas of side F. */
export function scatterSum(x, w, n, k, st, d, t) {
  const F = convTransposeOutputSize(n, k, st, 0, d, 0); // the full, uncropped canvas
  const out = new Float64Array(F * F);
  for (let idx = 0; idx < t; idx++) {
    const i = Math.floor(idx / n);
    const j = idx % n;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[(i * st + a * d) * F + j * st + b * d] += x[idx] * w[a * k + b];
  }
  return { F, out };
}

/** Input pixels stamped so far: 0 … n²; −1 in the state means all. */
export function stepOf(s) {
  const n = s["family.t.n"];
  const t = s["family.t.step"];
  return t < 0 || t > n * n ? n * n : t;
}

/** The (i, j, a, b) of every stamp x[i,j]·w[a,b] that lands on output `cell` (cropped coordinates). */
export function contributors(cell, n, k, st, p, d) {
  const list = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const a = cell[0] + p - i * st;
    const b = cell[1] + p - j * st;
    if (a >= 0 && b >= 0 && a % d === 0 && b % d === 0 && a / d < k && b / d < k) list.push([i, j, a / d, b / d]);
  }
  return list;
}

/** Step through the stamps: ◀ / ▶ one input pixel, All, and Play (one stamp every 700 ms). Returns {stop}. */
function mountStepper(state, { prev, next, all, play }) {
  let timer = null;
  const setStep = (t) => state.set({ "family.t.step": t });
  const count = (s) => s["family.t.n"] ** 2;
  function stop() {
    clearInterval(timer);
    timer = null;
    play.setAttribute("aria-pressed", "false");
    play.textContent = "Play";
  }
  function start() {
    if (stepOf(state.get()) >= count(state.get())) setStep(0);
    play.setAttribute("aria-pressed", "true");
    play.textContent = "Pause";
    timer = setInterval(() => {
      const cur = state.get();
      const t = stepOf(cur);
      if (t >= count(cur)) return stop();
      setStep(t + 1);
    }, 700);
  }
  prev.addEventListener("click", () => setStep(Math.max(0, stepOf(state.get()) - 1)));
  next.addEventListener("click", () => {
    const s = state.get();
    const t = stepOf(s);
    setStep(t >= count(s) ? 1 : t + 1);
  });
  all.addEventListener("click", () => setStep(-1));
  play.addEventListener("click", () => (timer ? stop() : start()));
  return { stop };
}

export function mount(cols, ctx) {
  const { state } = ctx;
  const controls = panel(cols.controls, "Transposed convolution");
  const ctl = [
    numberControl(state, "family.t.n", "Input n×n", { min: 1, max: 6, testid: "transpose-n" }),
    selectControl(state, "family.t.input", "Input x", [["ramp", "1, 2, 3, …"], ["ones", "all ones"], ["onehot", "one pixel"], ["random", "random (seeded)"]], { testid: "transpose-input" }),
    numberControl(state, "family.t.k", "Kernel k×k", { min: 1, max: 5, testid: "transpose-k" }),
    selectControl(state, "family.t.kernel", "Kernel w", [["ones", "all ones"], ["ramp", "1, 2, 3, …"], ["random", "random (seeded)"]], { testid: "transpose-kernel" }),
    numberControl(state, "family.t.s", "Stride", { min: 1, max: 4, testid: "transpose-stride" }),
    numberControl(state, "family.t.p", "Padding", { min: 0, max: 8, testid: "transpose-padding", title: "cells cropped from each border of the full output" }),
    numberControl(state, "family.t.op", "Output pad", { min: 0, max: 3, testid: "transpose-output-padding", title: "output_padding: extra rows/cols at the bottom/right" }),
    numberControl(state, "family.t.d", "Dilation", { min: 1, max: 3, testid: "transpose-dilation" }),
    numberControl(state, "family.t.seed", "Seed", { min: 0, max: 9999, testid: "transpose-seed" }),
  ];
  controls.append(...ctl.map((c) => c.row));
  const stepRow = el("div", { class: "row fam-step" });
  const prev = el("button", { type: "button", "data-testid": "transpose-prev", "aria-label": "previous input pixel" }, "◀");
  const next = el("button", { type: "button", "data-testid": "transpose-next", "aria-label": "next input pixel" }, "▶");
  const play = el("button", { type: "button", "data-testid": "transpose-play", "aria-pressed": "false" }, "Play");
  const all = el("button", { type: "button", "data-testid": "transpose-all" }, "All");
  const stepText = el("span", { class: "hint", "data-testid": "transpose-step" });
  stepRow.append(el("span", { class: "label" }, "Stamps"), prev, play, next, all, stepText);
  controls.append(stepRow);

  // Pictures: input and kernel, then the two synchronised views.
  const top = el("div", { class: "fam-row" });
  cols.pictures.append(top);
  const fx = figure(top, "Input x (what is scattered)");
  const gx = new NumberGrid(fx.body, { testid: "transpose-input-grid", label: "input x", maxCell: 30, maxW: 180, name: "x" });
  const fw = figure(top, "Kernel w");
  const gw = new NumberGrid(fw.body, { testid: "transpose-kernel-grid", label: "kernel w", maxCell: 30, maxW: 150, name: "w" });
  const pair = el("div", { class: "fam-row" });
  cols.pictures.append(pair);
  const fa = figure(pair, "A · Scatter: each input pixel stamps x[i,j]·w into the output", {
    note: "Hatched: cells the padding crops away. Outlined: the output.",
  });
  const ga = new NumberGrid(fa.body, { testid: "transpose-scatter", label: "scatter of stamped kernels", maxCell: 28, maxW: 250, name: "sum so far" });
  const fb = figure(pair, "B · Direct: zero-inserted, padded input ⋆ flipped kernel", {
    note: "Dotted: inserted zeros. Hatched: border zeros.",
  });
  const gb = new NumberGrid(fb.body, { testid: "transpose-direct", label: "zero-inserted padded input", maxCell: 28, maxW: 250, name: "x_up" });
  const outRow = el("div", { class: "fam-row" });
  cols.pictures.append(outRow);
  const fo = figure(outRow, "Output y = conv_transpose2d(x, w) (server)");
  const go = new NumberGrid(fo.body, { testid: "transpose-output", label: "transposed convolution output", maxCell: 28, maxW: 300, name: "y" });
  const ff = figure(outRow, "Flipped kernel (used by B)");
  const gf = new NumberGrid(ff.body, { testid: "transpose-flipped", label: "flipped kernel", maxCell: 28, maxW: 150, name: "w flipped" });

  // Explanation.
  const sizeBox = panel(cols.explain, "Output size");
  const sizeText = el("div", { class: "formula", "data-testid": "transpose-output-size" });
  const sizeWarn = el("div", { class: "warn", hidden: true });
  sizeBox.append(sizeText, sizeWarn);
  const sumBox = panel(cols.explain, "One output cell");
  const cellHint = el("p", { class: "hint" }, "Click an output cell (A, B's window or y) to see which stamps add up to it, or type its row and column here.");
  const cellText = el("div", { class: "formula", "data-testid": "transpose-cell-sum" });
  sumBox.append(cellHint);
  const picker = mountCellPicker(sumBox, {
    testid: "transpose-cell", label: "Output cell", keys: "or focus y and use the arrow keys",
    onPick: ([row, col]) => selectCell(row, col),
  });
  sumBox.append(cellText);
  const checkBox = panel(cols.explain, "Same numbers?");
  const diffText = el("div", { "data-testid": "transpose-diff" });
  checkBox.append(diffText);

  let data = null; // last good server answer {output, direct, ...} with the request it answered
  const stepper = mountStepper(state, { prev, next, all, play });

  const selectCell = (row, col) => state.set({ "family.t.cell": [row, col] });
  go.onClick((c) => selectCell(c.row, c.col));
  ga.onClick((c) => {
    const p = state.get()["family.t.p"];
    selectCell(c.row - p, c.col - p);
  });
  gb.onClick((c) => selectCell(c.row, c.col)); // the window whose top-left is this cell
  go.keyboard({
    label: "output y",
    get: () => {
      const cell = state.get()["family.t.cell"];
      return cell.length === 2 ? { row: cell[0], col: cell[1] } : null;
    },
    set: ({ row, col }) => selectCell(row, col),
  });

  async function fetchData(s) {
    const { n, k, x, w } = tensors(s);
    const rows = (arr, m) => Array.from({ length: m }, (_, r) => arr.slice(r * m, (r + 1) * m));
    const body = {
      input: [rows(x, n)],
      weight: [[rows(w, k)]],
      stride: s["family.t.s"],
      padding: s["family.t.p"],
      output_padding: s["family.t.op"],
      dilation: s["family.t.d"],
      dtype: "float64",
      explain: true,
    };
    const answer = await postJSON("/api/conv_transpose2d", body, { key: "family-transpose" });
    return { ...answer, req: JSON.stringify(body) };
  }

  function drawGeometry(s) {
    const { n, k, x, w } = tensors(s);
    const { st, p, d, op } = knobs(s);
    const span = effectiveKernel(k, d);
    const Ho = convTransposeOutputSize(n, k, st, p, d, op);
    const t = stepOf(s);
    stepText.textContent = `${t} / ${n * n} input pixels stamped`;
    gx.set(x, n, n, { digits: 3 });
    gw.set(w, k, k);
    const flipped = w.slice().reverse();
    gf.set(flipped, k, k);

    // A: full canvas side max(F, p + Ho); cells outside [p, p + Ho) are cropped by padding.
    const { F, out } = scatterSum(x, w, n, k, st, d, t);
    const side = Math.max(F, p + Ho);
    const vals = new Array(side * side).fill(0);
    const kinds = new Array(side * side).fill(KIND.normal);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        if (r < F && c < F) vals[r * side + c] = out[r * F + c];
        const inside = r >= p && r < p + Ho && c >= p && c < p + Ho;
        if (!inside) kinds[r * side + c] = KIND.padding;
      }
    }
    const full = scatterSum(x, w, n, k, st, d, n * n).out;
    const fullVals = Array.from(full);
    const range = [Math.min(0, ...fullVals), Math.max(1e-9, ...fullVals)];
    const symmetric = range[0] < 0 ? [-Math.max(-range[0], range[1]), Math.max(-range[0], range[1])] : range;
    ga.set(vals, side, side, { kinds, range: symmetric });
    const boxesA = [{ row: p, col: p, h: Ho, w: Ho, color: "#1f5fae", width: 2 }];
    const boxesX = [];
    if (t > 0) {
      const idx = t - 1;
      const i = Math.floor(idx / n);
      const j = idx % n;
      boxesA.push({ row: i * st, col: j * st, h: span, w: span, color: "#ff2d95", fill: "rgba(255,45,149,0.12)" });
      boxesX.push({ row: i, col: j, h: 1, w: 1, color: "#ff2d95" });
    }
    const cell = s["family.t.cell"];
    const hasCell = cell.length === 2 && cell[0] >= 0 && cell[1] >= 0 && cell[0] < Ho && cell[1] < Ho;
    picker.render(hasCell ? cell : null, [Ho, Ho]);
    if (hasCell) {
      boxesA.push({ row: cell[0] + p, col: cell[1] + p, h: 1, w: 1, color: "#111", width: 3 });
      for (const [i, j] of contributors(cell, n, k, st, p, d)) boxesX.push({ row: i, col: j, h: 1, w: 1, color: "#111", width: 2, dash: [4, 3] });
    }
    ga.setBoxes(boxesA);
    gx.setBoxes(boxesX);
    return { n, k, x, w, st, p, d, op, span, Ho, t, F, full, cell: hasCell ? cell : null };
  }

  function drawServer(s, g) {
    if (!data) return;
    const y = flat(data.output);
    const [, Ho, Wo] = data.output_shape;
    go.set(y, Ho, Wo);
    const xu = data.direct.input[0];
    const hu = xu.length;
    const wu = xu[0].length;
    const [top, , left] = data.direct.borders;
    const kinds = [];
    for (let r = 0; r < hu; r++) {
      for (let c = 0; c < wu; c++) {
        const rr = r - Math.max(top, 0) + Math.max(-top, 0);
        const cc = c - Math.max(left, 0) + Math.max(-left, 0);
        const inRows = rr >= 0 && rr <= (g.n - 1) * g.st;
        const inCols = cc >= 0 && cc <= (g.n - 1) * g.st;
        if (!inRows || !inCols) kinds.push(KIND.padding);
        else kinds.push(rr % g.st === 0 && cc % g.st === 0 ? KIND.normal : KIND.inserted);
      }
    }
    gb.set(flat(xu), hu, wu, { kinds });
    const boxesB = [];
    const boxesO = [];
    if (g.t > 0) {
      const idx = g.t - 1;
      const i = Math.floor(idx / g.n);
      const j = idx % g.n;
      boxesB.push({ row: top + i * g.st, col: left + j * g.st, h: 1, w: 1, color: "#ff2d95" });
      const r0 = i * g.st - g.p;
      const c0 = j * g.st - g.p;
      boxesO.push({ row: r0, col: c0, h: g.span, w: g.span, color: "#ff2d95", fill: "rgba(255,45,149,0.12)" });
    }
    if (g.cell) {
      boxesB.push({ row: g.cell[0], col: g.cell[1], h: g.span, w: g.span, color: "#111", width: 3, dash: [5, 3] });
      boxesO.push({ row: g.cell[0], col: g.cell[1], h: 1, w: 1, color: "#111", width: 3 });
    }
    gb.setBoxes(boxesB);
    go.setBoxes(boxesO);

    // Agreement: the page's stamps (all of them) vs the server, the direct form vs the server.
    const page = [];
    for (let r = 0; r < Ho; r++) for (let c = 0; c < Wo; c++) {
      const rr = r + g.p;
      const cc = c + g.p;
      page.push(rr < g.F && cc < g.F ? g.full[rr * g.F + cc] : 0);
    }
    const dPage = maxAbsDiff(page, y);
    const dDirect = data.direct.max_abs_diff;
    diffText.replaceChildren(
      el("div", { class: dPage < 1e-9 ? "ok" : "bad" }, `stamps summed in the page vs server conv_transpose2d: max |diff| = ${fmt(dPage, 3)}`),
      el("div", { class: dDirect < 1e-9 ? "ok" : "bad" }, `direct conv2d over the zero-inserted input vs conv_transpose2d: max |diff| = ${fmt(dDirect, 3)}`),
    );
    diffText.dataset.pageDiff = String(dPage);
    diffText.dataset.directDiff = String(dDirect);
    writeCell(g, y, Wo);
  }

  function writeCell(g, y, Wo) {
    if (!g.cell) {
      cellText.textContent = "";
      return;
    }
    const [r, c] = g.cell;
    const terms = contributors(g.cell, g.n, g.k, g.st, g.p, g.d);
    const names = terms.map(([i, j, a, b]) => `x[${i},${j}]·w[${a},${b}]`);
    const nums = terms.map(([i, j, a, b]) => `${term(g.x[i * g.n + j])}·${term(g.w[a * g.k + b])}`);
    const sum = terms.reduce((acc, [i, j, a, b]) => acc + g.x[i * g.n + j] * g.w[a * g.k + b], 0);
    const xu = data.direct.input[0];
    const wf = flat(data.direct.weight);
    const direct = [];
    for (let a = 0; a < g.k; a++) for (let b = 0; b < g.k; b++) {
      const v = xu[r + a * g.d]?.[c + b * g.d] ?? 0;
      if (v !== 0) direct.push(`${term(v)}·${term(wf[a * g.k + b])}`);
    }
    cellText.replaceChildren(
      el("div", {}, `A: y[${r},${c}] = ${names.join(" + ") || "0 (no stamp reaches it)"}`),
      el("div", {}, `= ${nums.join(" + ") || "0"} = ${fmt(sum, 6)}`),
      el("div", {}, `B: window at (${r},${c}) over x_up, nonzero taps: ${direct.join(" + ") || "0"} = ${fmt(sum, 6)}`),
      el("div", { class: "big" }, `server y[${r},${c}] = ${fmt(y[r * Wo + c], 6)}`),
    );
  }

  function renderSize(s) {
    const { n, k } = tensors(s);
    const { st, p, d, op } = knobs(s);
    const bad = problem(s);
    const out = bad ? null : convTransposeOutputSize(n, k, st, p, d, op);
    sizeText.replaceChildren(
      el("div", {}, "H_out = (n − 1)·s − 2p + d·(k − 1) + output_padding + 1"),
      el("div", {}, `= (${n} − 1)·${st} − 2·${p} + ${d}·(${k} − 1) + ${op} + 1 = ${bad ? "not possible" : out}`),
      el("div", { class: "big" }, bad ? `No output  (input ${n} × ${n})` : `Output: ${out} × ${out}  (input ${n} × ${n})`),
    );
    sizeWarn.hidden = !bad;
    sizeWarn.textContent = bad ? bad[1] : "";
    for (const c of ctl) c.input?.classList.remove("invalid");
    if (bad) ctl.find((c) => c.input?.id === `fam-${bad[0].replace(/\W/g, "-")}`)?.input.classList.add("invalid");
    return bad;
  }

  let lastReq = null;
  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      ctl.forEach((c) => c.render(s));
      const bad = renderSize(s);
      if (bad) {
        cols.pictures.classList.add("stale");
        showError(bad[1]);
        return;
      }
      const g = drawGeometry(s);
      const { n, k, x, w } = tensors(s);
      const key = JSON.stringify([n, k, x, w, s["family.t.s"], s["family.t.p"], s["family.t.op"], s["family.t.d"]]);
      if (key !== lastReq || !data) {
        try {
          data = await fetchData(s);
          lastReq = key;
          clearError();
          cols.pictures.classList.remove("stale");
        } catch (err) {
          if (reportError(err)) cols.pictures.classList.add("stale");
          return;
        }
      }
      if (state.get() !== s) return; // a newer render draws the newer state
      drawServer(s, g);
    },
    deactivate: () => stepper.stop(),
  };
}
