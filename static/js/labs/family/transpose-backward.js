// The backward pass of the transposed convolution shown above (same x, w and knobs):
//   δ = ∂L/∂y is drawn padded by p, the border the forward crop removed (zeros);
//   ∂L/∂x[i,j] reads back the window that x[i,j]'s stamp wrote, so ∂L/∂x is an
//   ordinary strided convolution of δ with the same, unflipped kernel;
//   ∂L/∂w[a,b] pairs every x[i,j] with the δ its tap (a, b) reached.
// The gradients are the server's app.kernels.conv_transpose2d_backward; the page sums
// the clicked cell itself, and POST /api/conv2d on δ checks the duality.

import { postJSON } from "../../api.js";
import { fmt } from "../../heatmap.js";
import { convTransposeOutputSize, effectiveKernel } from "../../shape.js";
import { el, reportError } from "../../ui.js";
import { panel, selectControl } from "./controls.js";
import { KIND, NumberGrid, figure, flat, maxAbsDiff, seededInts, term } from "./grid.js";
import { knobs, problem, tensors } from "./transpose.js";

export const FIELDS = [
  { name: "family.tb.delta", def: "random" }, // random (seeded) | ones | onehot (at the selected output cell)
  { name: "family.tb.x", def: [] }, // selected cell [i, j] of ∂L/∂x
  { name: "family.tb.w", def: [] }, // selected weight [a, b] of ∂L/∂w
];

const KEYS = FIELDS.map((f) => f.name).concat(
  ["view", "t.n", "t.input", "t.k", "t.kernel", "t.s", "t.p", "t.op", "t.d", "t.seed", "t.cell"].map((k) => `family.${k}`),
);

const rows = (arr, m) => Array.from({ length: m }, (_, r) => arr.slice(r * m, (r + 1) * m));
const inside = (cell, m) => cell.length === 2 && cell[0] >= 0 && cell[1] >= 0 && cell[0] < m && cell[1] < m;

/** The output cell a one-hot δ sits on: the cell selected in the forward view, else the centre. */
function oneHotCell(s, Ho) {
  const cell = s["family.t.cell"];
  return inside(cell, Ho) ? cell : [Math.floor(Ho / 2), Math.floor(Ho / 2)];
}

/** δ (Ho×Ho, flat) for the chosen kind: small integers, so every sum below is exact. */
function deltaOf(s, Ho) {
  const kind = s["family.tb.delta"];
  if (kind === "ones") return new Array(Ho * Ho).fill(1);
  if (kind === "onehot") {
    const [r, c] = oneHotCell(s, Ho);
    return Array.from({ length: Ho * Ho }, (_, i) => (i === r * Ho + c ? 1 : 0));
  }
  return seededInts(s["family.t.seed"] + 31, Ho * Ho, -2, 2);
}

/**
 * Gradients of y = conv_transpose2d(x, w) by their definition. Tap (a, b) of input
 * pixel (i, j) wrote into output cell (i·s − p + a·d, j·s − p + b·d), so that cell's
 * δ flows back into ∂L/∂x[i,j] (times w[a,b]) and into ∂L/∂w[a,b] (times x[i,j]).
 * Cells the padding cropped carry no δ. Returns {gx (n·n), gw (k·k), taps(i, j, a, b)}.
 */
export function transposeBackward(x, w, delta, n, k, Ho, st, p, d) {
  const reach = (i, j, a, b) => [i * st - p + a * d, j * st - p + b * d];
  const at = (r, c) => (r >= 0 && c >= 0 && r < Ho && c < Ho ? delta[r * Ho + c] : 0);
  const gx = new Float64Array(n * n);
  const gw = new Float64Array(k * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const v = at(...reach(i, j, a, b));
      gx[i * n + j] += w[a * k + b] * v;
      gw[a * k + b] += x[i * n + j] * v;
    }
  }
  return { gx, gw, reach };
}

export function mount(cols, ctx) {
  const { state } = ctx;
  const box = panel(cols.pictures, "Backward: the input gradient of a transposed convolution is a strided convolution of δ");
  const kind = selectControl(state, "family.tb.delta", "δ = ∂L/∂y", [
    ["random", "random (seeded)"],
    ["ones", "all ones"],
    ["onehot", "one-hot at an output cell"],
  ], { testid: "transpose-delta-kind" });
  const formula = el("div", { class: "formula", "data-testid": "transpose-backward-formula" });
  box.append(kind.row, formula);
  const row = el("div", { class: "fam-row" });
  box.append(row);
  const fd = figure(row, "δ, padded by p", { note: "Hatched: the border the forward crop removed (zeros). Click a cell to send back a single 1 from there." });
  const gd = new NumberGrid(fd.body, { testid: "transpose-grad-delta", label: "upstream gradient delta, padded", maxCell: 24, maxW: 250, name: "δ" });
  const fx = figure(row, "∂L/∂x (server)");
  const gx = new NumberGrid(fx.body, { testid: "transpose-grad-input", label: "input gradient", maxCell: 28, maxW: 170, name: "∂L/∂x" });
  const fw = figure(row, "∂L/∂w (server)");
  const gw = new NumberGrid(fw.body, { testid: "transpose-grad-weight", label: "weight gradient", maxCell: 28, maxW: 150, name: "∂L/∂w" });
  const sumText = el("div", { class: "formula", "data-testid": "transpose-backward-sum" });
  const diffText = el("div", { "data-testid": "transpose-backward-diff" });
  box.append(sumText, diffText);

  let data = null; // the server's answers for `lastKey`
  let lastKey = null;
  let geom = null; // what the current picture was drawn from

  gx.onClick((c) => state.set({ "family.tb.x": [c.row, c.col], "family.tb.w": [] }));
  gw.onClick((c) => state.set({ "family.tb.w": [c.row, c.col], "family.tb.x": [] }));
  gd.onClick((c) => {
    if (!geom) return;
    const cell = [c.row - geom.p, c.col - geom.p];
    if (inside(cell, geom.Ho)) state.set({ "family.t.cell": cell, "family.tb.delta": "onehot" });
  });
  gd.describe = (c) => {
    if (!geom) return null;
    const [r, q] = [c.row - geom.p, c.col - geom.p];
    return inside([r, q], geom.Ho) ? `δ at y[${r},${q}]` : "cropped by the padding: no δ";
  };

  async function fetchGradients(g) {
    const { n, k, x, w, Ho, st, p, op, d, delta } = g;
    const weight = [[rows(w, k)]];
    const [t, c] = await Promise.all([
      postJSON("/api/conv_transpose2d", {
        input: [rows(x, n)], weight, stride: st, padding: p, output_padding: op, dilation: d, dtype: "float64",
        grad_output: [rows(delta, Ho)],
      }, { key: "family-tb" }),
      // The duality, computed by the plain convolution endpoint: conv2d(δ, w) with the same knobs.
      postJSON("/api/conv2d", { input: [rows(delta, Ho)], weight, stride: st, padding: p, dilation: d, dtype: "float64" }, { key: "family-tb-conv" }),
    ]);
    return { gx: flat(t.grad_input), gw: flat(t.grad_weight), conv: flat(c.output), convSide: c.output_shape[1] };
  }

  function geometry(s) {
    const { n, k, x, w } = tensors(s);
    const { st, p, d, op } = knobs(s);
    const Ho = convTransposeOutputSize(n, k, st, p, d, op);
    return { n, k, x, w, st, p, d, op, Ho, delta: deltaOf(s, Ho) };
  }

  function draw(s, g) {
    const { n, k, x, w, st, p, d, op, Ho, delta } = g;
    const P = Ho + 2 * p;
    const vals = new Array(P * P).fill(0);
    const kinds = new Array(P * P).fill(KIND.padding);
    for (let r = 0; r < Ho; r++) for (let c = 0; c < Ho; c++) {
      vals[(r + p) * P + c + p] = delta[r * Ho + c];
      kinds[(r + p) * P + c + p] = KIND.normal;
    }
    gd.set(vals, P, P, { kinds, digits: 6 });
    gx.set(data.gx, n, n, { digits: 6 });
    gw.set(data.gw, k, k, { digits: 6 });
    const kindName = { random: "random (seeded)", ones: "all ones" }[s["family.tb.delta"]];
    const hot = s["family.tb.delta"] === "onehot" ? oneHotCell(s, Ho) : null;
    fd.caption.textContent = `δ = ∂L/∂y, ${kindName ?? `one-hot at y[${hot[0]},${hot[1]}]`}, padded by p = ${p}`;
    formula.replaceChildren(
      el("div", {}, `Forward: y = conv_transpose2d(x, w, stride=${st}, padding=${p}, output_padding=${op}, dilation=${d}): ${n}×${n} → ${Ho}×${Ho}.`),
      el("div", {}, `Backward: ∂L/∂x = conv2d(δ, w, stride=${st}, padding=${p}, dilation=${d}): ${Ho}×${Ho} → ${n}×${n}, the same kernel, not flipped.`),
    );

    const page = transposeBackward(x, w, delta, n, k, Ho, st, p, d);
    const boxesD = [];
    const boxesX = [];
    const boxesW = [];
    const dash = (r, c) => boxesD.push({ row: r + p, col: c + p, h: 1, w: 1, color: "#111", width: 2, dash: [4, 3] });
    const selX = s["family.tb.x"];
    const selW = s["family.tb.w"];
    const lines = [];
    if (inside(selX, n)) {
      const [i, j] = selX;
      boxesX.push({ row: i, col: j, h: 1, w: 1, color: "#111", width: 3 });
      const span = effectiveKernel(k, d);
      boxesD.push({ row: i * st, col: j * st, h: span, w: span, color: "#ff2d95", fill: "rgba(255,45,149,0.12)" });
      const names = [];
      const nums = [];
      let cropped = 0;
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
        const [r, c] = page.reach(i, j, a, b);
        if (!inside([r, c], Ho)) {
          cropped += 1;
          continue;
        }
        if (d > 1) dash(r, c); // the taps, between the dilation's holes
        names.push(`δ[${r},${c}]·w[${a},${b}]`);
        nums.push(`${term(delta[r * Ho + c])}·${term(w[a * k + b])}`);
      }
      lines.push(
        `∂L/∂x[${i},${j}] = Σ δ[${i}·${st} − ${p} + a·${d}, ${j}·${st} − ${p} + b·${d}]·w[a,b]: the window x[${i},${j}]'s stamp wrote (pink)`,
        `= ${names.join(" + ") || "0"}${cropped ? `  (${cropped} tap${cropped > 1 ? "s" : ""} fell in the crop: no δ)` : ""}`,
        `= ${nums.join(" + ") || "0"} = ${fmt(page.gx[i * n + j], 6)}`,
      );
      lines.push(["big", `server ∂L/∂x[${i},${j}] = ${fmt(data.gx[i * n + j], 6)}`]);
    } else if (inside(selW, k)) {
      const [a, b] = selW;
      boxesW.push({ row: a, col: b, h: 1, w: 1, color: "#111", width: 3 });
      const names = [];
      const nums = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const [r, c] = page.reach(i, j, a, b);
        if (!inside([r, c], Ho)) continue;
        dash(r, c);
        names.push(`x[${i},${j}]·δ[${r},${c}]`);
        nums.push(`${term(x[i * n + j])}·${term(delta[r * Ho + c])}`);
      }
      lines.push(
        `∂L/∂w[${a},${b}] = Σ x[i,j]·δ[i·${st} − ${p} + ${a}·${d}, j·${st} − ${p} + ${b}·${d}]: every pixel's tap (${a},${b})`,
        `= ${names.join(" + ") || "0 (every such tap fell in the crop)"}`,
        `= ${nums.join(" + ") || "0"} = ${fmt(page.gw[a * k + b], 6)}`,
      );
      lines.push(["big", `server ∂L/∂w[${a},${b}] = ${fmt(data.gw[a * k + b], 6)}`]);
    } else {
      lines.push("Click a cell of ∂L/∂x or a weight of ∂L/∂w to see which cells of δ flow into it.");
    }
    if (hot) boxesD.push({ row: hot[0] + p, col: hot[1] + p, h: 1, w: 1, color: "#111", width: 3 });
    gd.setBoxes(boxesD);
    gx.setBoxes(boxesX);
    gw.setBoxes(boxesW);
    sumText.replaceChildren(...lines.map((l) => (Array.isArray(l) ? el("div", { class: l[0] }, l[1]) : el("div", {}, l))));

    // conv2d(δ) may run past n when output_padding ≥ stride: those rows belong to no input pixel.
    const m = data.convSide;
    const conv = [];
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) conv.push(data.conv[r * m + c]);
    const dConv = maxAbsDiff(conv, data.gx);
    const dPage = Math.max(maxAbsDiff(page.gx, data.gx), maxAbsDiff(page.gw, data.gw));
    const extra = m > n ? ` (conv2d gives ${m}×${m}; its cells past ${n} belong to no input pixel)` : "";
    diffText.replaceChildren(
      el("div", { class: dConv < 1e-9 ? "ok" : "bad" }, `conv2d(δ, w) on the server vs ∂L/∂x of conv_transpose2d: max |diff| = ${fmt(dConv, 3)}${extra}`),
      el("div", { class: dPage < 1e-9 ? "ok" : "bad" }, `the page's sums vs the server's ∂L/∂x and ∂L/∂w: max |diff| = ${fmt(dPage, 3)}`),
    );
    diffText.dataset.convDiff = String(dConv);
    diffText.dataset.pageDiff = String(dPage);
  }

  return {
    async render(s, changed) {
      if (!changed.some((key) => KEYS.includes(key))) return;
      kind.render(s);
      if (problem(s)) return; // the forward view says what is wrong and dims the pictures
      const g = geometry(s);
      const key = JSON.stringify([g.n, g.k, g.x, g.w, g.st, g.p, g.op, g.d, g.delta]);
      if (key !== lastKey || !data) {
        try {
          data = await fetchGradients(g);
          lastKey = key;
        } catch (err) {
          reportError(err);
          return;
        }
      }
      if (state.get() !== s) return; // a newer render draws the newer state
      geom = g;
      draw(s, g);
    },
  };
}
