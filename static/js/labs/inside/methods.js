// The opened digit and its explanations: probabilities, the saliency / SmoothGrad /
// Grad-CAM / occlusion maps (hover any cell for its value), and the formulas behind them.

import { MAPS, colorOf, rangeFor } from "../../colormap.js";
import { MapView, drawColorbar, fmt } from "../../heatmap.js";
import { convOutputSize } from "../../shape.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { paintInk } from "./digit.js";

export const METHOD_NAMES = {
  saliency: "Saliency ∂ logit / ∂ pixels",
  smoothgrad: "SmoothGrad",
  gradcam: "Grad-CAM",
  occlusion: "Occlusion",
};

/** Ten bars; the predicted class marked ▶ and bold, the true label marked ✓ (not by colour alone). */
export function renderProbabilities(root, probs, predicted, label = null) {
  root.replaceChildren(
    ...probs.map((p, k) => {
      const marks = `${k === predicted ? "▶" : ""}${k === label ? "✓" : ""}`;
      const row = el(
        "div",
        { class: `inside-prob${k === predicted ? " top" : ""}` },
        el("span", { class: "digit" }, `${marks} ${k}`.trim()),
        el("span", { class: "bar" }, el("span", { class: "fill" })),
        el("span", { class: "pct" }, `${(p * 100).toFixed(1)} %`),
      );
      row.querySelector(".fill").style.width = `${p * 100}%`;
      return row;
    }),
  );
}

/** A map card: title, the map (MapView, hover read-out), a colour bar with its range. */
export function mapCard(root, { title, values, h, w, map = MAPS.diverging, range = null, maxW = 224, testid = null,
  caption = "", describe = null }) {
  const fig = el("figure", { class: "map-card inside-card" });
  fig.append(el("figcaption", { class: "inside-card-title" }, title));
  const view = new MapView(fig, { label: title, maxW, maxH: maxW, testid });
  const flat = Float32Array.from(values.flat ? values.flat() : values);
  const [lo, hi] = view.setData(flat, h, w, { map, range: range || rangeFor(flat, map) });
  view.onHover((cell, event) => {
    if (!cell) return hideTooltip();
    const v = flat[cell.row * w + cell.col];
    showTooltip(event, describe ? describe(cell, v) : [`row ${cell.row}, column ${cell.col}`, `value ${fmt(v)}`]);
  });
  const bar = el("span", { class: "colorbar" }, el("span", {}, fmt(lo, 3)), el("canvas", { "aria-hidden": "true" }),
    el("span", {}, fmt(hi, 3)));
  drawColorbar(bar.querySelector("canvas"), map, lo, hi);
  fig.append(bar);
  if (caption) fig.append(el("figcaption", {}, caption));
  root.append(fig);
  return view;
}

/** The digit with a coarse h×w heat map laid over it (each cell covers side/h pixels; not resampled). */
export function overlayCard(root, { title, digit, side, cam, h, w, maxW = 224, caption = "", testid = null }) {
  const fig = el("figure", { class: "map-card inside-card" });
  fig.append(el("figcaption", { class: "inside-card-title" }, title));
  const canvas = el("canvas", { class: "map-canvas inside-overlay", role: "img", "data-testid": testid,
    "aria-label": `${title}: the ${h}×${w} map drawn over the ${side}×${side} digit` });
  const flat = Float32Array.from(cam.flat());
  const peak = Math.max(...flat) || 1;
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const ink = digit[r * side + c];
      const base = 255 - Math.round(Math.max(0, Math.min(1, ink)) * 200);
      const v = flat[Math.min(h - 1, Math.floor((r * h) / side)) * w + Math.min(w - 1, Math.floor((c * w) / side))];
      const a = 0.75 * (v / peak);
      const [cr, cg, cb] = colorOf(v, MAPS.viridis, 0, peak);
      const k = 4 * (r * side + c);
      img.data[k] = Math.round(base * (1 - a) + cr * a);
      img.data[k + 1] = Math.round(base * (1 - a) + cg * a);
      img.data[k + 2] = Math.round(base * (1 - a) + cb * a);
      img.data[k + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  const scale = Math.max(1, Math.floor(maxW / side));
  canvas.style.width = `${side * scale}px`;
  canvas.style.height = `${side * scale}px`;
  canvas.addEventListener("mousemove", (e) => {
    const rect = canvas.getBoundingClientRect();
    const i = Math.floor(((e.clientY - rect.top) / rect.height) * h);
    const j = Math.floor(((e.clientX - rect.left) / rect.width) * w);
    if (i < 0 || j < 0 || i >= h || j >= w) return hideTooltip();
    showTooltip(e, [`Grad-CAM cell (${i}, ${j}) of ${h}×${w}`, `value ${fmt(flat[i * w + j])}`]);
  });
  canvas.addEventListener("mouseleave", hideTooltip);
  fig.append(canvas);
  const bar = el("span", { class: "colorbar" }, el("span", {}, "0"), el("canvas", { "aria-hidden": "true" }),
    el("span", {}, fmt(peak, 3)));
  drawColorbar(bar.querySelector("canvas"), MAPS.viridis, 0, peak);
  fig.append(bar);
  if (caption) fig.append(el("figcaption", {}, caption));
  root.append(fig);
}

/** The opened digit, large. */
export function digitCard(root, values, side, title = "input", size = 168) {
  const fig = el("figure", { class: "map-card inside-card" });
  fig.append(el("figcaption", { class: "inside-card-title" }, title));
  const canvas = el("canvas", { class: "map-canvas", role: "img", "aria-label": `${title}, ${side}×${side} pixels` });
  paintInk(canvas, values, side);
  const scale = Math.max(1, Math.floor(size / side));
  canvas.style.width = `${side * scale}px`;
  canvas.style.height = `${side * scale}px`;
  fig.append(canvas);
  root.append(fig);
  return canvas;
}

/** eq. 36.4 with the user's numbers: n = ⌊(side − p)/s⌋ + 1 (no padding), from shape.js. */
export function occlusionFormula(side, patch, stride) {
  if (patch > side) return `a ${patch}×${patch} patch does not fit in the ${side}×${side} digit`;
  const n = convOutputSize(side, patch, stride, 0, 1);
  return `map size n = ⌊(${side} − p)/s⌋ + 1 = ⌊(${side} − ${patch})/${stride}⌋ + 1 = ${n}, so ${n}×${n} = ${n * n} ` +
    "occluded copies (eq. 36.4: the patch slides like a kernel with no padding)";
}

/** Draw one method's answer into `root` (which is emptied); returns the note to show under it. */
export function renderAnswer(root, answer, { digit, side, method, knobs, compact = false }) {
  const classWord = `class ${answer.target}`;
  const maxW = compact ? 168 : 224;
  if (method === "saliency" || method === "smoothgrad") {
    const title = method === "saliency" ? `∂ logit_${answer.target} / ∂ pixels` :
      `SmoothGrad, n = ${knobs.samples}, σ = ${knobs.noise}`;
    mapCard(root, { title, values: answer.map, h: side, w: side, testid: `inside-map-${method}`, maxW,
      describe: (c, v) => [`pixel (${c.row}, ${c.col})`, `∂ logit_${answer.target} / ∂ pixel = ${fmt(v)}`,
        v > 0 ? "more ink here raises the score" : v < 0 ? "more ink here lowers the score" : "no effect"] });
    return method === "saliency" ?
      `Orange: more ink there would raise the ${classWord} score; blue: lower it. This is the Backward lab's input ` +
      "gradient (eq. 36.10, the full convolution of δ with the flipped kernel) run through every layer back to the pixels." :
      "The mean saliency over noisy copies of the digit: what stays when the gradient's jumps at ReLU switches average out.";
  }
  if (method === "gradcam") {
    const h = answer.map.length;
    overlayCard(root, { title: compact ? `Grad-CAM (${h}×${h})` : `Grad-CAM over the digit (${h}×${h})`, digit, side, cam: answer.map, h, w: h, maxW,
      testid: compact ? "inside-map-gradcam" : null });
    if (!compact) {
      mapCard(root, { title: `ReLU(Σ α_k A_k), ${h}×${h}`, values: answer.map, h, w: h, map: MAPS.viridis,
        testid: "inside-map-gradcam", maxW: 168 });
    }
    return `A = ${answer.layer}'s ${answer.weights.length} maps of ${h}×${h} (after the ReLU, before pooling); ` +
      `α_k = mean of ∂ logit_${answer.target} / ∂ A_k. Coarse by design: this layer sees the digit at half resolution.`;
  }
  if (method === "occlusion") {
    const n = answer.map_size;
    mapCard(root, { title: `Occlusion, ${n}×${n}`, values: answer.map, h: n, w: n, testid: "inside-map-occlusion", maxW,
      describe: (c, v) => [`patch at row ${c.row * knobs.stride}, column ${c.col * knobs.stride}`,
        `p_${answer.target} drops by ${fmt(v)}`] });
    return `Cell (i, j): p_${answer.target}(digit) − p_${answer.target}(digit with the ${knobs.patch}×${knobs.patch} ` +
      `square at row i·${knobs.stride}, column j·${knobs.stride} set to ${knobs.fill}). Orange: covering it costs the class.`;
  }
  return "";
}
