// A small grid of numbers drawn on a canvas: every cell coloured by its value and,
// when the cells are big enough, labelled with it. Cells can be marked as padding
// (hatched), inserted zeros (dotted), dropped (crossed) or "beyond" (dashed), and
// boxes can be drawn over them. Knows nothing about convolutions.

import { MAPS, colorOf, rangeFor } from "../../colormap.js";
import { cellUnder, fmt, markNumbers, planCellNumbers, sizeCanvas } from "../../heatmap.js";
import { hideTooltip, showTooltip } from "../../ui.js";

export const KIND = { normal: 0, padding: 1, inserted: 2, dropped: 3, beyond: 4, skipped: 5, empty: 6 };

export class NumberGrid {
  /**
   * @param {HTMLElement} parent
   * @param {{testid?: string, label?: string, maxCell?: number, maxW?: number, maxH?: number, name?: string}} opts
   */
  constructor(parent, { testid = null, label = "", maxCell = 30, minCell = 4, maxW = 520, maxH = 300, name = "value" } = {}) {
    this.maxCell = maxCell;
    this.minCell = minCell;
    this.maxW = maxW;
    this.maxH = maxH;
    this.name = name;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "number-grid";
    this.canvas.setAttribute("role", "img");
    if (label) this.canvas.setAttribute("aria-label", label);
    if (testid) this.canvas.dataset.testid = testid;
    parent.append(this.canvas);
    this.h = 0;
    this.w = 0;
    this.values = [];
    this.kinds = null;
    this.boxes = [];
    this.clickFns = [];
    this.hoverFns = [];
    this.describe = null;
    this.canvas.addEventListener("mousemove", (e) => {
      const cell = this.cellAt(e);
      this.hoverFns.forEach((fn) => fn(cell));
      if (!cell) return hideTooltip();
      const v = this.values[cell.row * this.w + cell.col];
      const lines = [`(${cell.row}, ${cell.col}): ${this.name} = ${fmt(v, 6)}`];
      if (this.describe) lines.push(...[].concat(this.describe(cell) || []));
      showTooltip(e, lines);
    });
    this.canvas.addEventListener("mouseleave", () => {
      hideTooltip();
      this.hoverFns.forEach((fn) => fn(null));
    });
    this.canvas.addEventListener("click", (e) => {
      const cell = this.cellAt(e);
      if (cell) this.clickFns.forEach((fn) => fn(cell));
    });
  }

  onClick(fn) {
    this.clickFns.push(fn);
    this.canvas.style.cursor = "pointer";
  }

  onHover(fn) {
    this.hoverFns.push(fn);
  }

  /**
   * Keyboard choice of a cell, as a click does with the mouse: the grid becomes focusable and
   * the arrow keys move the chosen cell (get() -> {row, col} | null, set({row, col})).
   */
  keyboard({ get, set, label }) {
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("aria-label", `${this.canvas.getAttribute("aria-label") || label}: arrow keys move the chosen cell`);
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    this.canvas.addEventListener("keydown", (e) => {
      const move = moves[e.key];
      if (!move || !this.h) return;
      e.preventDefault();
      const at = get() ?? { row: Math.floor(this.h / 2) - move[0], col: Math.floor(this.w / 2) - move[1] };
      set({
        row: Math.min(this.h - 1, Math.max(0, at.row + move[0])),
        col: Math.min(this.w - 1, Math.max(0, at.col + move[1])),
      });
    });
  }

  cellAt(event) {
    return cellUnder(this.canvas, event, this.h, this.w);
  }

  /**
   * values: flat array (h·w); opts: {range, map, kinds (flat, KIND codes), digits}.
   * Returns the [lo, hi] colour range used.
   */
  set(values, h, w, { range = null, map = null, kinds = null, digits = 3 } = {}) {
    this.values = Array.from(values);
    this.h = h;
    this.w = w;
    this.kinds = kinds;
    this.digits = digits;
    const real = this.values.filter((_, i) => !kinds || kinds[i] === KIND.normal || kinds[i] === KIND.inserted);
    this.map = map || (real.some((v) => v < 0) ? MAPS.diverging : MAPS.viridis);
    this.range = rangeFor(real.length ? real : [0], this.map, range);
    this.boxes = [];
    this.draw();
    return this.range;
  }

  /** Boxes over cells: [{row, col, h, w, color, dash, fill, width}]. */
  setBoxes(boxes) {
    this.boxes = boxes || [];
    this.draw();
  }

  /**
   * CSS px per cell: at most maxCell, the whole grid within maxW×maxH and within the width
   * its parent has (a phone); presentation mode grows cells so numbers can reach 18 px.
   */
  cellSize() {
    const grow = document.documentElement.classList.contains("present") ? 1.6 : 1;
    const room = this.canvas.parentElement?.clientWidth || Infinity;
    const maxW = Math.min(this.maxW * grow, Math.max(60, room - 2));
    return Math.max(this.minCell, Math.min(this.maxCell * grow, Math.floor(maxW / Math.max(1, this.w)), Math.floor((this.maxH * grow) / Math.max(1, this.h))));
  }

  draw() {
    const size = this.cellSize();
    const cssW = this.w * size + 1;
    const cssH = this.h * size + 1;
    const dpr = sizeCanvas(this.canvas, cssW, cssH);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0.5 * dpr, 0.5 * dpr);
    ctx.clearRect(-1, -1, cssW + 1, cssH + 1);
    const [lo, hi] = this.range;
    const plan = planCellNumbers(ctx, this.values, {
      cellW: size, digits: this.digits,
      span: Math.max(Math.abs(lo), Math.abs(hi)),
      only: (i) => !this.kinds || this.kinds[i] !== KIND.beyond && this.kinds[i] !== KIND.empty,
    });
    markNumbers(this.canvas, plan);
    if (plan) ctx.font = plan.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let r = 0; r < this.h; r++) {
      for (let c = 0; c < this.w; c++) {
        const i = r * this.w + c;
        const kind = this.kinds ? this.kinds[i] : KIND.normal;
        const x = c * size;
        const y = r * size;
        const v = this.values[i];
        if (kind === KIND.empty) continue;
        if (kind === KIND.padding || kind === KIND.beyond) {
          ctx.fillStyle = "#eceff3";
          ctx.fillRect(x, y, size, size);
          hatch(ctx, x, y, size, kind === KIND.beyond ? "#c3cad4" : "#9aa4b2");
        } else {
          const [cr, cg, cb] = colorOf(v, this.map, lo, hi);
          ctx.fillStyle = `rgb(${cr},${cg},${cb})`;
          ctx.fillRect(x, y, size, size);
        }
        ctx.strokeStyle = kind === KIND.inserted ? "rgba(90,100,115,0.5)" : "rgba(60,70,85,0.35)";
        ctx.lineWidth = 1;
        if (kind === KIND.inserted) ctx.setLineDash([2, 2]);
        ctx.strokeRect(x, y, size, size);
        ctx.setLineDash([]);
        const text = plan ? plan.text(i) : null;
        if (text !== null) {
          const [cr, cg, cb] = kind === KIND.padding ? [236, 239, 243] : colorOf(v, this.map, lo, hi);
          const light = 0.2126 * cr + 0.7152 * cg + 0.0722 * cb > 140;
          ctx.fillStyle = kind === KIND.inserted || kind === KIND.padding ? "#59616e" : light ? "#111" : "#fff";
          ctx.fillText(text, x + size / 2, y + size / 2 + 0.5);
        }
        if (kind === KIND.dropped || kind === KIND.skipped) {
          ctx.strokeStyle = kind === KIND.dropped ? "#c0162b" : "#8a5a00";
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(x + 3, y + 3);
          ctx.lineTo(x + size - 3, y + size - 3);
          ctx.moveTo(x + size - 3, y + 3);
          ctx.lineTo(x + 3, y + size - 3);
          ctx.stroke();
        }
      }
    }
    for (const b of this.boxes) {
      ctx.save();
      if (b.fill) {
        ctx.fillStyle = b.fill;
        ctx.fillRect(b.col * size, b.row * size, b.w * size, b.h * size);
      }
      ctx.strokeStyle = b.color || "#ff2d95";
      ctx.lineWidth = b.width || 3;
      if (b.dash) ctx.setLineDash(b.dash);
      const inset = (b.width || 3) / 2;
      ctx.strokeRect(b.col * size + inset, b.row * size + inset, b.w * size - 2 * inset, b.h * size - 2 * inset);
      ctx.restore();
    }
  }
}

function hatch(ctx, x, y, size, color) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, size, size);
  ctx.clip();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let t = -size; t < size; t += 6) {
    ctx.moveTo(x + t, y + size);
    ctx.lineTo(x + t + size, y);
  }
  ctx.stroke();
  ctx.restore();
}

/** A labelled figure: <figure><figcaption>title</figcaption>…</figure>; returns {figure, body, caption}. */
export function figure(parent, title, { testid = null, note = "", wide = false } = {}) {
  const fig = document.createElement("figure");
  fig.className = wide ? "fam-figure fam-wide" : "fam-figure";
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  if (testid) fig.dataset.testid = testid;
  const body = document.createElement("div");
  body.className = "fam-figure-body";
  fig.append(cap, body);
  if (note) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = note;
    fig.append(p);
  }
  parent.append(fig);
  return { figure: fig, body, caption: cap };
}

/** Flatten nested lists of numbers. */
export const flat = (nested) => nested.flat(Infinity);

/** Max |a − b| over two equal-length arrays. */
export function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Seeded small integers in [lo, hi] (mulberry32), so a link reproduces the same numbers. */
export function seededInts(seed, count, lo = -2, hi = 3) {
  let a = seed >>> 0 || 1;
  const out = [];
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out.push(lo + Math.floor(u * (hi - lo + 1)));
  }
  return out;
}

/** Signed number for formulas: negatives in parentheses. */
export const term = (v, digits = 4) => (v < 0 ? `(${fmt(v, digits)})` : fmt(v, digits));
