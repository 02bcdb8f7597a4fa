// im2col + GEMM: the convolution frameworks actually run. On a small input (at most
// 16×16) with the user's stride, padding, dilation and channels, every output
// pixel's window becomes one column of a patch matrix (C_in·kh·kw rows), every filter
// one row of a weight matrix; their product, reshaped, is the feature maps — checked
// against the direct conv2d. Hovering (or clicking) a column highlights its window
// on the padded input and its output pixel. The patch matrix's memory against the
// input's, with the user's numbers.
//
// Server: POST /api/family/im2col (app/labs/family/im2col.py). The index map that
// drives the highlighting comes from the server too; page-side geometry (is this
// combination possible?) only from shape.js.

import { postJSON } from "../../api.js";
import { presetKernel, PRESET_IDS } from "../../presets.js";
import { convGeometry, formatBytes as bytes } from "../../shape.js";
import { clearError, el, reportError, showError } from "../../ui.js";
import { numberControl, panel, selectControl } from "./controls.js";
import { KIND, NumberGrid, figure, seededInts } from "./grid.js";
import { KEYS as KERNEL_KEYS, SEED, kernelControls, num, presentScale } from "./kernel-choice.js";

export const FIELDS = [
  { name: "family.i2c.source", def: "image" },
  { name: "family.i2c.size", def: 6 },
  { name: "family.i2c.cin", def: 1 },
  { name: "family.i2c.cout", def: 2 },
  { name: "family.i2c.s", def: 1 },
  { name: "family.i2c.p", def: 1 },
  { name: "family.i2c.d", def: 1 },
  { name: "family.i2c.mode", def: "zeros" },
  { name: "family.i2c.col", def: 0 },
];

const KEYS = ["image", "family.view", ...KERNEL_KEYS, ...FIELDS.map((f) => f.name)];
const SIZES = [1, 2, 3, 4, 5, 6, 7];
// Filters after the first (the shared kernel): a fixed cycle of presets at the same size.
const OTHERS = ["sobel-y", "laplacian", "gaussian", "sharpen", "emboss", "prewitt-x", "outline"];
const HIGHLIGHT = "#ff2d95";

/** The weight tensor (C_out, C_in, k, k): filter 0 the shared preset, then OTHERS; every channel slice alike. */
export function weights(s, k) {
  const first = PRESET_IDS.has(s["family.v.kernel"]) ? s["family.v.kernel"] : "sobel-x";
  const ids = [first, ...OTHERS.filter((id) => id !== first)];
  const cin = s["family.i2c.cin"];
  return Array.from({ length: s["family.i2c.cout"] }, (_, o) => {
    const flat = presetKernel(ids[o % ids.length], k, k, SEED);
    const slice = Array.from({ length: k }, (_, a) => Array.from(flat.subarray(a * k, (a + 1) * k)));
    return Array.from({ length: cin }, () => slice);
  });
}

export function mount(cols, ctx) {
  const { state } = ctx;

  // --- controls ---------------------------------------------------------------------------------
  const controls = panel(cols.controls, "A small convolution layer");
  const source = selectControl(state, "family.i2c.source", "Input", [["image", "the image, shrunk"], ["numbers", "small integers"]], { testid: "i2c-source" });
  const size = numberControl(state, "family.i2c.size", "Side (≤ 16)", { min: 2, max: 16, testid: "i2c-size" });
  const cin = numberControl(state, "family.i2c.cin", "C_in", { min: 1, max: 4, testid: "i2c-cin" });
  const cout = numberControl(state, "family.i2c.cout", "Filters C_out", { min: 1, max: 4, testid: "i2c-cout" });
  const kernel = kernelControls(state, "i2c", SIZES);
  const stride = numberControl(state, "family.i2c.s", "Stride", { min: 1, max: 4, testid: "i2c-stride" });
  const pad = numberControl(state, "family.i2c.p", "Padding", { min: 0, max: 4, testid: "i2c-padding" });
  const dil = numberControl(state, "family.i2c.d", "Dilation", { min: 1, max: 4, testid: "i2c-dilation" });
  const mode = selectControl(state, "family.i2c.mode", "Pad mode", [["zeros", "zeros"], ["reflect", "reflect"], ["replicate", "replicate"], ["circular", "circular"]], { testid: "i2c-padding-mode" });
  const ctl = [source, size, cin, cout, stride, pad, dil, mode];
  const cinHint = el("p", { class: "hint" });
  controls.append(source.row, size.row, cin.row, cinHint, cout.row, ...kernel.rows, stride.row, pad.row, dil.row, mode.row,
    el("p", { class: "hint" }, "Filter 1 is the shared kernel; the others are Sobel y, Laplacian, Gaussian… at the same size, the same slice on every channel."));

  // --- pictures -----------------------------------------------------------------------------------
  const inputPanel = panel(cols.pictures, "Padded input (padding hatched)", { "data-testid": "i2c-input-panel" });
  const inputRow = el("div", { class: "fam-row" });
  inputPanel.append(inputRow);
  const patchPanel = panel(cols.pictures, "Patch matrix: one column per output pixel, C_in·kh·kw rows", { "data-testid": "i2c-patch-panel" });
  const patchCaption = el("p", { class: "formula", "data-testid": "i2c-patch-shape" });
  const patchScroll = el("div", { class: "fam-scroll fam-scroll-x", tabindex: 0, role: "region",
    "aria-label": "patch matrix; the left and right arrow keys choose a column" });
  // Keyboard: the arrows move the chosen column (what hovering shows with a mouse).
  patchScroll.addEventListener("keydown", (e) => {
    if (!last) return;
    const L = last.answer.arrays.patches.shape[1];
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -L, End: L }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const col = Math.max(0, Math.min(L - 1, state.get()["family.i2c.col"] + step));
    state.set({ "family.i2c.col": col });
    patchScroll.scrollLeft = Math.max(0, col * patches.cellSize() - patchScroll.clientWidth / 2);
  });
  patchPanel.append(patchCaption, patchScroll, el("p", { class: "hint" }, "Hover or click a column (or focus the matrix and use ← →): its window lights up on the padded input and its pixel on every output map."));
  const patches = new NumberGrid(patchScroll, { testid: "i2c-patches", label: "patch matrix", maxCell: 26, minCell: 6, maxW: 1e6, maxH: 1e6, name: "patch" });
  const hoverText = el("p", { class: "formula", "data-testid": "i2c-hover", "aria-live": "polite" });
  patchPanel.append(hoverText);

  const gemmPanel = panel(cols.pictures, "Weights (a row per filter) × patches = feature maps", { "data-testid": "i2c-gemm-panel" });
  const weightCaption = el("p", { class: "formula", "data-testid": "i2c-weight-shape" });
  const weightScroll = el("div", { class: "fam-scroll fam-scroll-x", tabindex: 0, role: "region", "aria-label": "weight matrix" });
  gemmPanel.append(weightCaption, weightScroll);
  const weightGrid = new NumberGrid(weightScroll, { testid: "i2c-weights", label: "weight matrix", maxCell: 26, minCell: 6, maxW: 1e6, maxH: 1e6, name: "w" });
  const outRow = el("div", { class: "fam-row" });
  gemmPanel.append(outRow);
  const check = el("p", { class: "big", "data-testid": "i2c-check", "aria-live": "polite" });
  gemmPanel.append(check);

  // --- explain -------------------------------------------------------------------------------------
  const sizePanel = panel(cols.explain, "Shapes");
  const sizes = el("div", { class: "formula", "data-testid": "i2c-sizes" });
  const gemm = el("div", { class: "formula", "data-testid": "i2c-gemm" });
  sizePanel.append(sizes, gemm);
  const memPanel = panel(cols.explain, "Memory: why frameworks tile it");
  const memory = el("div", { class: "formula", "data-testid": "i2c-memory" });
  memPanel.append(memory);

  let inputGrids = [];
  let outputGrids = [];
  let last = null; // {answer, s}

  function ensureGrids(list, n, parent, make) {
    while (list.length > n) list.pop().fig.figure.remove();
    while (list.length < n) list.push(make(list.length, parent));
    return list;
  }

  /** Highlight column j everywhere (or clear with null). */
  function highlight(j) {
    if (!last) return;
    const { answer } = last;
    const L = answer.arrays.patches.shape[1];
    const [, hp, wp] = answer.arrays.padded.shape;
    const [, oh, ow] = answer.output_shape;
    if (j === null || j < 0 || j >= L) {
      patches.setBoxes([]);
      inputGrids.forEach((g) => g.grid.setBoxes([]));
      outputGrids.forEach((g) => g.grid.setBoxes([]));
      hoverText.textContent = "";
      return;
    }
    const rows = answer.arrays.patches.shape[0];
    patches.setBoxes([{ row: 0, col: j, h: rows, w: 1, color: HIGHLIGHT, width: 3 }]);
    const index = answer.arrays.index;
    const perChannel = inputGrids.map(() => []);
    for (let r = 0; r < rows; r++) {
      const flatIndex = index[r * L + j];
      const c = Math.floor(flatIndex / (hp * wp));
      const rest = flatIndex % (hp * wp);
      perChannel[c]?.push({ row: Math.floor(rest / wp), col: rest % wp, h: 1, w: 1, color: HIGHLIGHT, width: 2, fill: "rgba(255,45,149,0.18)" });
    }
    inputGrids.forEach((g, c) => g.grid.setBoxes(perChannel[c]));
    const i = Math.floor(j / ow);
    const q = j % ow;
    outputGrids.forEach((g) => g.grid.setBoxes([{ row: i, col: q, h: 1, w: 1, color: HIGHLIGHT, width: 3 }]));
    const taps = perChannel[0];
    const rowsUsed = [...new Set(taps.map((t) => t.row))];
    const colsUsed = [...new Set(taps.map((t) => t.col))];
    hoverText.textContent = `column ${j} = output pixel (${i}, ${q}) of ${oh}×${ow}: padded rows ${rowsUsed.join(", ")} × columns ${colsUsed.join(", ")}` +
      `${answer.arrays.padded.shape[0] > 1 ? `, on each of the ${answer.arrays.padded.shape[0]} channels` : ""}; y[:, ${i}, ${q}] = weights · column ${j}`;
  }

  patches.onHover((cell) => highlight(cell ? cell.col : state.get()["family.i2c.col"]));
  patches.onClick((cell) => state.set({ "family.i2c.col": cell.col }));
  patches.describe = (cell) => {
    if (!last) return [];
    const k = last.k;
    const c = Math.floor(cell.row / (k * k));
    const a = Math.floor((cell.row % (k * k)) / k);
    return [`row ${cell.row} = channel ${c}, tap (${a}, ${cell.row % k}); column ${cell.col} = output pixel ${cell.col}`];
  };

  function draw(answer, s, k) {
    last = { answer, s, k };
    const { arrays } = answer;
    const [cIn, hp, wp] = arrays.padded.shape;
    const [, h, w] = answer.input_shape;
    const [ph, pw] = [answer.sizes[0].padding, answer.sizes[1].padding];
    const kinds = new Uint8Array(hp * wp);
    for (let r = 0; r < hp; r++) {
      for (let q = 0; q < wp; q++) kinds[r * wp + q] = r < ph || r >= ph + h || q < pw || q >= pw + w ? KIND.padding : KIND.normal;
    }
    ensureGrids(inputGrids, cIn, inputRow, (c, parent) => {
      const fig = figure(parent, `channel ${c}`);
      return { fig, grid: new NumberGrid(fig.body, { testid: `i2c-input-${c}`, label: `padded input channel ${c}`, maxCell: 28, maxW: 420, maxH: 420, name: "x̃" }) };
    });
    const zoom = presentScale();
    inputGrids.forEach((g) => { g.grid.maxCell = Math.round(28 * zoom); g.grid.maxW = g.grid.maxH = 420 * zoom; });
    const plane = hp * wp;
    inputGrids.forEach((g, c) => g.grid.set(Array.from(arrays.padded.subarray(c * plane, (c + 1) * plane)), hp, wp, { kinds, digits: 2 }));

    const [rows, L] = arrays.patches.shape;
    const cell = rows * L <= 6000 ? Math.round(26 * zoom) : 8;
    patches.maxCell = cell;
    patches.minCell = Math.min(cell, 20);
    patches.set(arrays.patches, rows, L, { digits: 2 });
    patchCaption.textContent = `(C_in·kh·kw) × (H_out·W_out) = (${cIn}·${k}·${k}) × (${answer.output_shape[1]}·${answer.output_shape[2]}) = ${rows} × ${L}` +
      (cell < 20 ? " — too many cells to print; hover for values" : "");
    const cOut = arrays.weights.shape[0];
    weightGrid.maxCell = rows <= 60 ? Math.round(26 * zoom) : 8;
    weightGrid.minCell = Math.min(weightGrid.maxCell, 20);
    weightGrid.set(arrays.weights, cOut, rows, { digits: 2 });
    weightCaption.textContent = `weights C_out × (C_in·kh·kw) = ${cOut} × ${rows}, · patches ${rows} × ${L} = product ${cOut} × ${L}, reshaped to ${cOut} × ${answer.output_shape[1]} × ${answer.output_shape[2]}:`;

    const [, oh, ow] = answer.output_shape;
    ensureGrids(outputGrids, cOut, outRow, (o, parent) => {
      const fig = figure(parent, `filter ${o + 1}: product row ${o}, reshaped`);
      const grid = new NumberGrid(fig.body, { testid: `i2c-output-${o}`, label: `output map ${o}`, maxCell: 30, maxW: 300, maxH: 300, name: "y" });
      grid.onHover((c) => highlight(c ? c.row * last.answer.output_shape[2] + c.col : state.get()["family.i2c.col"]));
      grid.onClick((c) => state.set({ "family.i2c.col": c.row * last.answer.output_shape[2] + c.col }));
      return { fig, grid };
    });
    outputGrids.forEach((g) => { g.grid.maxCell = Math.round(30 * zoom); g.grid.maxW = g.grid.maxH = 300 * zoom; });
    outputGrids.forEach((g, o) => g.grid.set(Array.from(arrays.output.subarray(o * oh * ow, (o + 1) * oh * ow)), oh, ow, { digits: 2 }));
    check.textContent = `GEMM reshaped vs conv2d (direct): max |diff| = ${answer.max_abs_diff === 0 ? "0" : answer.max_abs_diff.toExponential(1)}`;

    sizes.replaceChildren(...answer.sizes.map((z, axis) => {
      const [N, O] = axis === 0 ? ["H", "H_out"] : ["W", "W_out"];
      return el("div", {}, `${O} = ⌊(${N} + 2p − d·(k − 1) − 1)/s⌋ + 1 = ⌊(${z.n} + 2·${z.padding} − ${z.dilation}·(${z.kernel} − 1) − 1)/${z.stride}⌋ + 1 = `,
        el("span", { class: "big" }, String(z.out)));
    }), el("div", { class: "hint" }, "eq. 36.4, with dilation d spreading the k taps over d·(k − 1) + 1 pixels"));
    gemm.replaceChildren(
      el("div", {}, `GEMM: (${cOut} × ${rows}) · (${rows} × ${L})`),
      el("div", {}, `multiply-adds = C_out·C_in·kh·kw·H_out·W_out = ${cOut}·${cIn}·${k}·${k}·${oh}·${ow} = `, el("span", { class: "big" }, num(answer.macs))),
      el("div", { class: "hint" }, "exactly eq. 36.11: lowering changes where the numbers sit, not how many products are made"),
    );
    const m = answer.memory;
    const lines = [
      el("div", {}, `patch matrix ${m.patch_shape[0]} × ${m.patch_shape[1]} floats = `, el("span", { class: "big" }, bytes(m.patch_bytes))),
      el("div", {}, `input ${m.input_shape.join(" × ")} floats = ${bytes(m.input_bytes)}`),
      el("div", {}, `ratio ${fmt2(m.ratio)}× (at most kh·kw = ${m.copies_per_pixel}×: each pixel is copied into up to ${m.copies_per_pixel} columns)`),
    ];
    const big = answer.memory_image;
    if (big) {
      lines.push(el("div", { "data-testid": "i2c-memory-image" }, `the same layer on your whole ${big.input_shape[1]}×${big.input_shape[2]} image: `,
        el("span", { class: "big" }, bytes(big.patch_bytes)), ` of patches for ${bytes(big.input_bytes)} of input (${fmt2(big.ratio)}×)`));
    }
    lines.push(el("p", { class: "hint" }, "Frameworks build the patch matrix a tile of columns at a time (or skip it with direct or Winograd kernels) so this copy never sits in memory whole."));
    memory.replaceChildren(...lines);
    const j = Math.min(s["family.i2c.col"], L - 1);
    highlight(j);
    patchScroll.scrollLeft = Math.max(0, j * patches.cellSize() - patchScroll.clientWidth / 2);
  }
  const fmt2 = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

  function showControls(s) {
    size.row.querySelector("label").textContent = s["family.i2c.source"] === "image" ? "Shrink to ≤" : "Side (≤ 16)";
    cinHint.textContent = s["family.i2c.source"] === "image"
      ? "From the image: C_in 1 = gray, 3 = RGB (2 and 4 need small integers)."
      : "Small integers (seeded), any C_in from 1 to 4.";
    const slot = cols.controls.querySelector("[data-input-slot]");
    if (slot) slot.hidden = s["family.i2c.source"] !== "image";
  }

  return {
    async render(s, changed) {
      if (!changed.some((key) => KEYS.includes(key))) return;
      ctl.forEach((c) => c.render(s));
      if (last && changed.every((key) => key === "family.i2c.col" || !KEYS.includes(key))) {
        highlight(Math.min(s["family.i2c.col"], last.answer.arrays.patches.shape[1] - 1)); // a click: nothing to recompute
        return;
      }
      kernel.render(s);
      showControls(s);
      const k = kernel.size(s);
      const n = s["family.i2c.size"];
      const fromImage = s["family.i2c.source"] === "image";
      const c = s["family.i2c.cin"];
      if (fromImage && c !== 1 && c !== 3) {
        showError(`From the image the input has 1 channel (gray) or 3 (RGB), not ${c}: choose C_in 1 or 3, or switch the input to small integers.`);
        cols.pictures.classList.add("stale");
        return;
      }
      // Page-side geometry only from shape.js: refuse impossible knobs before asking.
      const geo = convGeometry({ h: n, w: n, kernel: k, stride: s["family.i2c.s"], padding: s["family.i2c.p"], dilation: s["family.i2c.d"], mode: s["family.i2c.mode"] });
      if (!geo.ok) {
        showError(geo.error);
        cols.pictures.classList.add("stale");
        return;
      }
      const body = {
        weight: weights(s, k),
        stride: s["family.i2c.s"],
        padding: s["family.i2c.p"],
        dilation: s["family.i2c.d"],
        padding_mode: s["family.i2c.mode"],
      };
      let answer;
      try {
        if (fromImage) {
          answer = await ctx.image.withImage(s.image, (id) =>
            postJSON("/api/family/im2col", { ...body, image_id: id, size: n }, { binary: true, key: "family-im2col" }));
        } else {
          const vals = seededInts(SEED + c, c * n * n, 0, 9);
          const input = Array.from({ length: c }, (_, ch) => Array.from({ length: n }, (_, r) => vals.slice((ch * n + r) * n, (ch * n + r + 1) * n)));
          answer = await postJSON("/api/family/im2col", { ...body, input }, { binary: true, key: "family-im2col" });
        }
      } catch (err) {
        if (reportError(err)) cols.pictures.classList.add("stale");
        return;
      }
      // A later change other than the pinned column makes this answer stale (its own request follows).
      const now = state.get();
      if (KEYS.some((key) => key !== "family.i2c.col" && JSON.stringify(now[key]) !== JSON.stringify(s[key]))) return;
      clearError();
      cols.pictures.classList.remove("stale");
      draw(answer, now, k);
    },
  };
}
