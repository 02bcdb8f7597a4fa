// Drawing numbers as pixels. Knows nothing about convolutions.
//
// A map is drawn into a canvas at its true size (one canvas pixel per value) and
// scaled up by CSS with `image-rendering: pixelated`, so every value is a crisp
// square a student can point at. An overlay canvas on top, at screen resolution,
// carries grid lines, highlights and boxes.

import { MAPS, colorOf, rangeFor } from "./colormap.js";

/** Fill `canvas` (resized to w×h) with `data` (length h·w) through a colour map. */
export function drawMap(canvas, data, h, w, { map = MAPS.viridis, range = null } = {}) {
  if (data.length !== h * w) throw new Error(`expected ${h}×${w} values, got ${data.length}`);
  const [lo, hi] = rangeFor(data, map, range);
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const table = map.table;
  const scale = 255 / (hi - lo);
  for (let i = 0; i < data.length; i++) {
    let t = Math.round((data[i] - lo) * scale);
    t = t < 0 ? 0 : t > 255 ? 255 : t;
    img.data[4 * i] = table[3 * t];
    img.data[4 * i + 1] = table[3 * t + 1];
    img.data[4 * i + 2] = table[3 * t + 2];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return [lo, hi];
}

/** Draw an image from (C, H, W) values in [0, 1]: C = 1 gray, C = 3 RGB. */
export function drawImage(canvas, pixels, c, h, w) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      const v = pixels[(c === 3 ? k : 0) * plane + i];
      img.data[4 * i + k] = Math.round(Math.max(0, Math.min(1, v)) * 255);
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Integer display scale so a w×h map fits in maxW×maxH CSS pixels (at least 1). */
/**
 * Show `canvas` at cssW×cssH CSS pixels. With `sharp` (the default) its backing store
 * also gets the screen's pixel ratio, so lines and text drawn on it stay crisp; without,
 * the backing store is left alone (a map drawn one cell per pixel and scaled by CSS).
 * Returns the pixel ratio.
 */
export function sizeCanvas(canvas, cssW, cssH, { sharp = true } = {}) {
  canvas.style.width = `${cssW}px`;
  canvas.style.height = `${cssH}px`;
  const dpr = window.devicePixelRatio || 1;
  if (sharp) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  return dpr;
}

/** The {row, col} of an h×w grid drawn over `canvas` under the pointer of `event`, or null outside. */
export function cellUnder(canvas, event, h, w) {
  const rect = canvas.getBoundingClientRect();
  const col = Math.floor(((event.clientX - rect.left) / rect.width) * w);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * h);
  return row >= 0 && col >= 0 && row < h && col < w ? { row, col } : null;
}

export function fitScale(h, w, maxW, maxH) {
  return Math.max(1, Math.floor(Math.min(maxW / w, maxH / h)));
}

/**
 * A map on screen: the data canvas, an overlay for highlights, hover and click
 * reporting (row, col). `root` receives the elements.
 */
export class MapView {
  constructor(root, { testid = null, label = "", maxW = 320, maxH = 320 } = {}) {
    this.root = root;
    this.maxW = maxW;
    this.maxH = maxH;
    this.h = 0;
    this.w = 0;
    this.scale = 1;
    this.wrap = document.createElement("div");
    this.wrap.className = "map-view";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "map-canvas";
    if (testid) this.canvas.dataset.testid = testid;
    if (label) this.canvas.setAttribute("aria-label", label);
    this.canvas.setAttribute("role", "img");
    this.overlay = document.createElement("canvas");
    this.overlay.className = "map-overlay";
    this.overlay.setAttribute("aria-hidden", "true");
    this.wrap.append(this.canvas, this.overlay);
    root.append(this.wrap);
    this.pinned = false;
    this.hoverHandlers = [];
    this.clickHandlers = [];
    this.wrap.addEventListener("mousemove", (e) => this.#emit(this.hoverHandlers, e));
    this.wrap.addEventListener("mouseleave", () => {
      if (!this.pinned) this.hoverHandlers.forEach((fn) => fn(null, null));
    });
    this.wrap.addEventListener("click", (e) => this.#emit(this.clickHandlers, e));
    // Touch screens have no hover: a tap pins the hover read-out on the tapped cell until
    // the next tap elsewhere on the page.
    this.wrap.addEventListener("pointerdown", (e) => {
      if (e.pointerType !== "touch") return;
      this.#emit(this.hoverHandlers, e);
      if (this.pinned) return;
      this.pinned = true;
      const unpin = (ev) => {
        if (this.wrap.contains(ev.target)) return;
        this.pinned = false;
        this.hoverHandlers.forEach((fn) => fn(null, null));
        document.removeEventListener("pointerdown", unpin, true);
      };
      document.addEventListener("pointerdown", unpin, true);
    });
  }

  #cellAt(event) {
    return cellUnder(this.canvas, event, this.h, this.w);
  }

  #emit(handlers, event) {
    const cell = this.#cellAt(event);
    handlers.forEach((fn) => fn(cell, event));
  }

  /** fn({row, col} | null, event) on mouse move. */
  onHover(fn) {
    this.hoverHandlers.push(fn);
  }

  /** fn({row, col} | null, event) on click. */
  onClick(fn) {
    this.clickHandlers.push(fn);
  }

  #resize(h, w) {
    this.h = h;
    this.w = w;
    this.scale = fitScale(h, w, this.maxW, this.maxH);
    const cssW = w * this.scale;
    const cssH = h * this.scale;
    sizeCanvas(this.canvas, cssW, cssH, { sharp: false });
    sizeCanvas(this.overlay, cssW, cssH);
    this.clearOverlay();
  }

  /** Draw values (length h·w). Returns the [lo, hi] range used. */
  setData(data, h, w, opts) {
    if (h !== this.h || w !== this.w) this.#resize(h, w);
    const range = drawMap(this.canvas, data, h, w, opts);
    this.drawGrid();
    return range;
  }

  /** Draw an image ((C, H, W) values in [0, 1]). */
  setImage(pixels, c, h, w) {
    if (h !== this.h || w !== this.w) this.#resize(h, w);
    drawImage(this.canvas, pixels, c, h, w);
    this.drawGrid();
  }

  clearOverlay() {
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
  }

  /** Overlay context scaled so one unit = one map cell. */
  cellContext() {
    const ctx = this.overlay.getContext("2d");
    const sx = this.overlay.width / Math.max(1, this.w);
    const sy = this.overlay.height / Math.max(1, this.h);
    ctx.setTransform(sx, 0, 0, sy, 0, 0);
    return ctx;
  }

  /** Faint grid lines when cells are big enough to tell apart (fades out above ~64 px wide). */
  drawGrid() {
    this.clearOverlay();
    if (this.scale < 6) return;
    strokeCellGrid(this.cellContext(), this.h, this.w, this.scale);
  }

  /** Outline a rectangle of cells (row, col, height, width) on the overlay. */
  box(row, col, height, width, { color = "#ff2d95", lineWidth = 2, fill = null } = {}) {
    const ctx = this.cellContext();
    if (fill) {
      ctx.fillStyle = fill;
      ctx.fillRect(col, row, width, height);
    }
    ctx.strokeStyle = color;
    ctx.lineWidth = lineWidth / this.scale;
    ctx.strokeRect(col, row, width, height);
  }

  /** Export the map (data canvas scaled up crisply, with overlay) as a PNG download. */
  exportPng(filename = "convlab-map.png") {
    exportCanvases([this.canvas, this.overlay], this.w * this.scale, this.h * this.scale, filename);
  }
}

/** Faint lines between the cells of an h×w map on a context scaled to one unit per cell. */
export function strokeCellGrid(ctx, h, w, scale) {
  ctx.strokeStyle = "rgba(128,128,128,0.35)";
  ctx.lineWidth = 1 / scale;
  ctx.beginPath();
  for (let r = 0; r <= h; r++) {
    ctx.moveTo(0, r);
    ctx.lineTo(w, r);
  }
  for (let c = 0; c <= w; c++) {
    ctx.moveTo(c, 0);
    ctx.lineTo(c, h);
  }
  ctx.stroke();
}

/** Draw a colour bar (min, zero and max marked with numbers) into `canvas`. */
export function drawColorbar(canvas, map, lo, hi, { width = 180, height = 14 } = {}) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  for (let x = 0; x < width; x++) {
    const v = lo + ((hi - lo) * x) / (width - 1);
    const [r, g, b] = colorOf(v, map, lo, hi);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, height);
  }
  if (lo < 0 && hi > 0) {
    const x = Math.round(((0 - lo) / (hi - lo)) * (width - 1));
    ctx.fillStyle = "#000";
    ctx.fillRect(x, 0, 1, height);
  }
}

/** Compose canvases (stacked, stretched to w×h without smoothing) into one PNG download. */
export function exportCanvases(canvases, w, h, filename) {
  const out = document.createElement("canvas");
  out.width = Math.max(1, Math.round(w));
  out.height = Math.max(1, Math.round(h));
  const ctx = out.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  for (const c of canvases) ctx.drawImage(c, 0, 0, out.width, out.height);
  out.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }, "image/png");
}

// --- Numbers printed inside map cells: one rule for every map on the page ----------------

/** The smallest size (CSS px) a number may be printed at: 18 in presentation mode, read from the back of a room. */
export function minNumberPx() {
  return document.documentElement.classList.contains("present") ? 18 : 9;
}

/** The largest size (CSS px) a cell's number grows to. */
const maxNumberPx = () => (document.documentElement.classList.contains("present") ? 30 : 15);

/**
 * A value as printed in a cell of a map whose values reach ±`span` (the largest |value|
 * of the map): rounded relative to the map's range, so the float32 round-off of an exact
 * 0 (|v| ≤ 1e-6 · span) prints "0" and every cell of a map has the same decimals, enough
 * for `digits` significant digits on the largest value. `compact` drops a leading zero
 * (".85"). The exact float stays one click away in the lab's explanation panel.
 */
export function cellText(v, span, digits = 3, { compact = false } = {}) {
  if (!Number.isFinite(v)) return String(v);
  const m = Math.abs(span) || Math.abs(v);
  if (m === 0 || Math.abs(v) <= m * 1e-6) return "0";
  const exponent = Math.floor(Math.log10(m));
  let s;
  if (exponent >= 5 || exponent < -3) {
    const [mant, exp] = v.toExponential(Math.max(0, digits - 2)).split("e");
    s = `${mant.replace(/\.?0+$/, "")}e${Number(exp)}`;
  } else {
    const decimals = Math.min(6, Math.max(0, digits - 1 - exponent));
    s = v.toFixed(decimals);
    if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
    if (/^-0(\.0*)?$/.test(s)) s = "0";
  }
  if (compact) s = s.replace(/^(-?)0\./, "$1.");
  return s.replaceAll("-", "−");
}

/** The largest |value| of a map (of its first `n` values). */
export function spanOf(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && Number.isFinite(a)) m = a;
  }
  return m;
}

/**
 * How the numbers of a grid of cells are printed: {px, font, text(i)} with the largest
 * font (at least minNumberPx()) and the most digits (3 down to 1, then without leading
 * zeros) at which every printed value fits inside its cell, or null when none does —
 * then the map shows no numbers rather than numbers too small to read or spilling into
 * the next cell. `cellW`, `cellH` are one cell's size in CSS px; `only(i)` picks the
 * cells that print. `ctx` is any 2D context (its font is changed, for measuring).
 */
export function planCellNumbers(ctx, values, { cellW, cellH = cellW, span = spanOf(values), digits = 3, weight = "", only = null } = {}) {
  const least = minNumberPx();
  const start = Math.min(maxNumberPx(), Math.floor(Math.min(cellH * 0.42, cellW * 0.5)));
  if (start < least || !values || !values.length) return null;
  const picked = [];
  for (let i = 0; i < values.length; i++) if (!only || only(i)) picked.push(i);
  const family = 'system-ui, "DejaVu Sans", sans-serif';
  const sizes = [...new Set([start, Math.max(least, Math.round(start * 0.8)), least])];
  const forms = [];
  for (let d = digits; d >= 1; d--) forms.push({ d, compact: false });
  forms.push({ d: 1, compact: true });
  for (const form of forms) {
    const texts = new Map(); // index -> text
    const unique = new Set();
    for (const i of picked) {
      const t = cellText(values[i], span, form.d, form);
      texts.set(i, t);
      unique.add(t);
    }
    for (const px of sizes) {
      ctx.font = `${weight} ${px}px ${family}`.trim();
      let widest = 0;
      for (const t of unique) widest = Math.max(widest, ctx.measureText(t).width);
      if (widest <= cellW - Math.max(3, px * 0.25) && px * 1.05 <= cellH) {
        return { px, font: `${weight} ${px}px ${family}`.trim(), text: (i) => texts.get(i) ?? null };
      }
    }
  }
  return null;
}

/** Record on `canvas` the size its cell numbers were printed at (or that none are), for tests and styles. */
export function markNumbers(canvas, plan) {
  if (plan) canvas.dataset.numberPx = String(plan.px);
  else delete canvas.dataset.numberPx;
}

/** Format a number for display with `digits` significant digits, tabular and signed. */
export function fmt(v, digits = 4) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 1));
  return Number(v.toPrecision(digits)).toString();
}
