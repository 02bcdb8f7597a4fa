// Overlay helpers shared by the Pooling and Backward labs: fit a MapView into a
// box, print numbers in cells, mark cells without relying on colour, colour bars.
// Drawing only; knows nothing about pooling or gradients.

import { drawColorbar, fmt, markNumbers, planCellNumbers, sizeCanvas } from "../../heatmap.js";
import { el } from "../../ui.js";

/** CSS pixels per cell of a view. */
export const cellPx = (view) => (view.w ? view.canvas.getBoundingClientRect().width / view.w || view.scale : 0);

/** Shrink a view whose integer scale would overflow maxW×maxH (big images) to fit it. */
export function fitView(view, maxW, maxH) {
  const k = Math.min(1, maxW / (view.w * view.scale), maxH / (view.h * view.scale));
  const cssW = Math.round(view.w * view.scale * k);
  const cssH = Math.round(view.h * view.scale * k);
  for (const c of [view.canvas, view.overlay]) sizeCanvas(c, cssW, cssH, { sharp: false });
}

/** Overlay context in device pixels, with the size of one cell. */
function pixelContext(view) {
  const ctx = view.overlay.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return { ctx, cw: view.overlay.width / view.w, ch: view.overlay.height / view.h };
}

/**
 * Print data[i] in every cell (black on a white chip: readable on any colour), rounded
 * and sized by heatmap.planCellNumbers (the page's one rule: relative to the map's range,
 * never spilling out of a cell, never under the minimum size — hidden instead). Skips
 * zeros when skipZero. Returns whether numbers were printed.
 */
export function drawNumbers(view, data, { skipZero = false, digits = 2, only = null } = {}) {
  const css = cellPx(view);
  const { ctx, cw, ch } = pixelContext(view);
  const n = view.h * view.w;
  const values = data.length === n ? data : data.slice(0, n);
  const plan = planCellNumbers(ctx, values, {
    cellW: css, cellH: css * (ch / cw), digits, weight: "600",
    only: (i) => !(skipZero && values[i] === 0) && (!only || only(Math.floor(i / view.w), i % view.w)),
  });
  markNumbers(view.overlay, plan);
  if (!plan) return false;
  const k = cw / Math.max(0.01, css); // device px per CSS px
  const size = plan.px * k;
  ctx.font = plan.font.replace(`${plan.px}px`, `${size}px`);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let r = 0; r < view.h; r++) {
    for (let c = 0; c < view.w; c++) {
      const text = plan.text(r * view.w + c);
      if (text === null) continue;
      const x = (c + 0.5) * cw;
      const y = (r + 0.5) * ch;
      // A light chip behind the digits keeps them readable on any colour.
      const tw = Math.min(cw - 1, ctx.measureText(text).width + size * 0.3);
      ctx.fillStyle = "rgba(255,255,255,0.82)";
      ctx.fillRect(x - tw / 2, y - size * 0.55, tw, size * 1.1);
      ctx.fillStyle = "#000";
      ctx.fillText(text, x, y + size * 0.04);
    }
  }
  return true;
}

/** A dark box around cells [r0, c0, r1, c1) of a map, grown to stay visible (≥ ~10 CSS px) on tiny cells. */
export function markRegion(view, [r0, c0, r1, c1]) {
  const px = Math.max(0.01, cellPx(view));
  const grow = Math.max(0, (10 / px - (r1 - r0)) / 2);
  const cssPerDevice = view.canvas.getBoundingClientRect().width / Math.max(1, view.overlay.width);
  const ctx = view.cellContext();
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 2 / cssPerDevice / (view.overlay.width / view.w);
  ctx.strokeRect(c0 - grow, r0 - grow, c1 - c0 + 2 * grow, r1 - r0 + 2 * grow);
}

/** A ring (dark outer, white inner) on each cell of `cells` = [[r, c], …]: visible on any colour. */
export function ringCells(view, cells) {
  const { ctx, cw, ch } = pixelContext(view);
  const small = Math.min(cw, ch) < 7;
  for (const [r, c] of cells) {
    if (small) {
      ctx.fillStyle = "#ff2d95";
      ctx.fillRect(c * cw, r * ch, Math.max(1, cw), Math.max(1, ch));
      continue;
    }
    const x = (c + 0.5) * cw;
    const y = (r + 0.5) * ch;
    const rad = Math.min(cw, ch) * 0.36;
    ctx.beginPath();
    ctx.arc(x, y, rad, 0, 2 * Math.PI);
    ctx.lineWidth = Math.max(3, rad * 0.45);
    ctx.strokeStyle = "#111";
    ctx.stroke();
    ctx.lineWidth = Math.max(1.5, rad * 0.2);
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
}

/** A diagonal cross on each cell (used for "changed"); black with a white edge. */
export function crossCells(view, cells) {
  const { ctx, cw, ch } = pixelContext(view);
  if (Math.min(cw, ch) < 6 * (window.devicePixelRatio || 1)) {
    // Too small for a cross: fill the changed cells (the bars carry the numbers).
    ctx.fillStyle = "rgba(255,45,149,0.85)";
    for (const [r, c] of cells) ctx.fillRect(c * cw, r * ch, Math.max(1, cw), Math.max(1, ch));
    return;
  }
  for (const [r, c] of cells) {
    const m = Math.min(cw, ch) * 0.22;
    const x0 = c * cw + m;
    const y0 = r * ch + m;
    const x1 = (c + 1) * cw - m;
    const y1 = (r + 1) * ch - m;
    for (const [style, width] of [["#fff", Math.max(3, cw * 0.18)], ["#111", Math.max(1.5, cw * 0.08)]]) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.moveTo(x1, y0);
      ctx.lineTo(x0, y1);
      ctx.stroke();
    }
  }
}

/** Dashed lines every `step` cells from `offset` (window boundaries), in both axes. */
export function gridEvery(view, [sh, sw], [oh, ow]) {
  const { ctx, cw, ch } = pixelContext(view);
  ctx.strokeStyle = "rgba(20,20,20,0.55)";
  ctx.lineWidth = 1;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  for (let r = oh; r <= view.h; r += sh) {
    if (r <= 0) continue;
    ctx.moveTo(0, r * ch);
    ctx.lineTo(view.overlay.width, r * ch);
  }
  for (let c = ow; c <= view.w; c += sw) {
    if (c <= 0) continue;
    ctx.moveTo(c * cw, 0);
    ctx.lineTo(c * cw, view.overlay.height);
  }
  ctx.stroke();
  ctx.setLineDash([]);
}

/** A colour bar with its min, zero (when inside) and max written out. */
export function colorbar(map, lo, hi) {
  const canvas = document.createElement("canvas");
  drawColorbar(canvas, map, lo, hi, { width: 140, height: 12 });
  canvas.setAttribute("aria-hidden", "true");
  const parts = [el("span", {}, fmt(lo, 3)), canvas, el("span", {}, fmt(hi, 3))];
  if (lo < 0 && hi > 0) parts.push(el("span", { class: "hint colorbar-zero", title: "The small mark on the colour bar is where the value 0 sits" }, "(the tick marks 0)"));
  return el("div", { class: "colorbar", "aria-label": `colour scale from ${fmt(lo, 3)} to ${fmt(hi, 3)}` }, ...parts);
}

/**
 * Keyboard choice of a cell: the view becomes focusable and the arrow keys move the
 * chosen cell (get() -> {row, col} | null, set({row, col})). The mouse's click, for keyboards.
 */
export function keyboardCells(view, { get, set, label }) {
  view.wrap.tabIndex = 0;
  view.wrap.setAttribute("aria-label", `${label}: arrow keys move the chosen pixel`);
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  view.wrap.addEventListener("keydown", (event) => {
    const move = moves[event.key];
    if (!move || !view.h) return;
    event.preventDefault();
    const at = get() ?? { row: Math.floor(view.h / 2), col: Math.floor(view.w / 2) };
    const row = Math.min(view.h - 1, Math.max(0, at.row + move[0]));
    const col = Math.min(view.w - 1, Math.max(0, at.col + move[1]));
    set({ row, col });
  });
}
