// A grid of numbers drawn as crisp squares, for the conv lab's input and maps.
//
// Like heatmap.MapView (whose drawMap/drawImage it uses), plus what the conv lab
// needs: fractional down-scaling for maps larger than their box, numbers printed
// in the cells when they are big enough, a keyboard cursor (arrow keys, Enter),
// and a `decorate(ctx)` hook that draws boxes in cell units on the overlay.

import { cellUnder, exportCanvases, markNumbers, planCellNumbers, sizeCanvas, strokeCellGrid } from "../heatmap.js";
import { cssColor } from "../colormap.js";

// Drawing is the page's hot path (a 512×512 RGB image with 8 filters repaints 2 M
// map pixels per knob change), so values are coloured in one pass through a
// packed 32-bit RGBA lookup table into an ImageData that is kept between draws.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const pack = (r, g, b) => (LITTLE_ENDIAN ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0);
const LUTS = new WeakMap();

/** 256 packed RGBA colours of a colormap.js map (cached). */
export function packedTable(map) {
  let lut = LUTS.get(map);
  if (!lut) {
    lut = new Uint32Array(256);
    for (let i = 0; i < 256; i++) lut[i] = pack(map.table[3 * i], map.table[3 * i + 1], map.table[3 * i + 2]);
    LUTS.set(map, lut);
  }
  return lut;
}

/** RGBA words of values in [0, 1]: (C, n) planes, C = 1 gray or 3 RGB. */
export function packImage(pixels, c, n, out = new Uint32Array(n)) {
  const to8 = (v) => (v <= 0 ? 0 : v >= 1 ? 255 : (v * 255 + 0.5) | 0);
  if (c === 3) {
    for (let i = 0; i < n; i++) out[i] = pack(to8(pixels[i]), to8(pixels[n + i]), to8(pixels[2 * n + i]));
  } else {
    for (let i = 0; i < n; i++) {
      const v = to8(pixels[i]);
      out[i] = pack(v, v, v);
    }
  }
  return out;
}

export class GridView {
  constructor(root, { testid = null, label = "", maxW = 300, maxH = 300, focusable = true } = {}) {
    this.maxW = maxW;
    this.maxH = maxH;
    this.h = 0;
    this.w = 0;
    this.scale = 1;
    this.values = null; // what numbers to print: Float32Array/Array of h·w (first channel)
    this.colorInfo = null; // {map, lo, hi} for text contrast, or null for images in [0, 1]
    this.decorate = null;
    this.skipCell = null; // (row, col) -> true where no number should be printed
    this.cursor = null;
    this.wrap = document.createElement("div");
    this.wrap.className = "map-view grid-view";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "map-canvas";
    if (testid) this.canvas.dataset.testid = testid;
    this.canvas.setAttribute("role", "img");
    if (label) this.canvas.setAttribute("aria-label", label);
    this.overlay = document.createElement("canvas");
    this.overlay.className = "map-overlay";
    this.overlay.setAttribute("aria-hidden", "true");
    this.wrap.append(this.canvas, this.overlay);
    if (focusable) {
      this.wrap.tabIndex = 0;
      this.wrap.setAttribute("aria-label", `${label}: arrow keys move, Enter explains the cell`);
    }
    root.append(this.wrap);
    this.onHover = null;
    this.onSelect = null;
    this.wrap.addEventListener("mousemove", (e) => this.onHover?.(this.cellAt(e), e));
    this.wrap.addEventListener("mouseleave", () => this.onHover?.(null, null));
    this.wrap.addEventListener("click", (e) => {
      const cell = this.cellAt(e);
      if (cell) this.onSelect?.(cell, e);
    });
    this.wrap.addEventListener("keydown", (e) => this.#key(e));
  }

  cellAt(event) {
    return cellUnder(this.canvas, event, this.h, this.w);
  }

  #key(e) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (!this.h || !this.w) return;
    if (moves[e.key]) {
      e.preventDefault();
      const [dr, dc] = moves[e.key];
      const cur = this.cursor ?? { row: 0, col: 0 };
      const cell = {
        row: Math.min(this.h - 1, Math.max(0, cur.row + (this.cursor ? dr : 0))),
        col: Math.min(this.w - 1, Math.max(0, cur.col + (this.cursor ? dc : 0))),
      };
      this.onSelect?.(cell, e);
    } else if (e.key === "Enter" && this.cursor) {
      e.preventDefault();
      this.onSelect?.(this.cursor, e);
    }
  }

  setBox(maxW, maxH) {
    if (maxW === this.maxW && maxH === this.maxH) return;
    this.maxW = maxW;
    this.maxH = maxH;
    if (this.h) this.#resize(this.h, this.w, true);
  }

  #resize(h, w, force = false) {
    if (!force && h === this.h && w === this.w) return;
    this.h = h;
    this.w = w;
    const fit = Math.min(this.maxW / w, this.maxH / h);
    // Integer scale when growing (every cell the same size); fractional only to shrink big maps.
    this.scale = fit >= 1 ? Math.floor(fit) : fit;
    const cssW = Math.max(1, Math.round(w * this.scale));
    const cssH = Math.max(1, Math.round(h * this.scale));
    this.cssW = cssW;
    this.cssH = cssH;
    sizeCanvas(this.canvas, cssW, cssH, { sharp: false });
    sizeCanvas(this.overlay, cssW, cssH);
  }

  /**
   * The canvas's ImageData as 32-bit words, sized h×w; kept while the size stays.
   * The last two sizes keep a canvas each (only the shown one is in the page): a knob
   * toggled back and forth (padding 0 ↔ 1) then swaps canvases instead of resizing one,
   * which costs a new backing store and a first slow putImageData every time.
   */
  #pixels(h, w) {
    if (this.canvas.width !== w || this.canvas.height !== h || !this.image) {
      const key = `${h}x${w}`;
      this.sized ??= new Map();
      let entry = this.sized.get(key);
      if (!entry) {
        // The first drawing takes the canvas made in the constructor.
        const canvas = !this.image ? this.canvas : this.sized.size >= 2 ? this.#oldest().canvas : this.canvas.cloneNode(false);
        canvas.width = w;
        canvas.height = h;
        const ctx = canvas.getContext("2d");
        const image = ctx.createImageData(w, h);
        entry = { canvas, ctx, image, words: new Uint32Array(image.data.buffer) };
      }
      this.sized.delete(key);
      this.sized.set(key, entry); // most recent last
      if (entry.canvas !== this.canvas) {
        const old = this.canvas;
        entry.canvas.style.width = old.style.width;
        entry.canvas.style.height = old.style.height;
        old.replaceWith(entry.canvas);
        this.canvas = entry.canvas;
      }
      this.ctx2d = entry.ctx;
      this.image = entry.image;
      this.words = entry.words;
    }
    return this.words;
  }

  /** The least recently used sized canvas, taken out of the cache (to be resized). */
  #oldest() {
    const [key, entry] = this.sized.entries().next().value;
    this.sized.delete(key);
    return entry;
  }

  /** Values through a colour map (one pass over a packed LUT); returns [lo, hi]. */
  setData(data, h, w, { map, range = null, numbers = data } = {}) {
    if (data.length !== h * w) throw new Error(`expected ${h}×${w} values, got ${data.length}`);
    this.#resize(h, w);
    let lo;
    let hi;
    if (range) [lo, hi] = range;
    else {
      lo = Infinity;
      hi = -Infinity;
      for (let i = 0; i < data.length; i++) {
        if (data[i] < lo) lo = data[i];
        if (data[i] > hi) hi = data[i];
      }
      if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
      else if (map.signed) [lo, hi] = [-Math.max(Math.abs(lo), Math.abs(hi), 1e-6), Math.max(Math.abs(lo), Math.abs(hi), 1e-6)];
      else if (hi === lo) hi = lo + 1;
    }
    const out = this.#pixels(h, w);
    const lut = packedTable(map);
    const scale = 255 / (hi - lo);
    for (let i = 0; i < data.length; i++) {
      // floor(t + 0.5) is Math.round for t ≥ 0; negatives clamp to 0 either way (as heatmap.drawMap).
      const t = ((data[i] - lo) * scale + 0.5) | 0;
      out[i] = lut[t < 0 ? 0 : t > 255 ? 255 : t];
    }
    this.ctx2d.putImageData(this.image, 0, 0);
    this.values = numbers;
    this.colorInfo = { map, lo, hi };
    this.redraw();
    return [lo, hi];
  }

  /**
   * Colour-table indices (Uint8Array h·w, 0–255) already computed by the server with
   * setData's rule for `map` over `range`: one table look-up a cell, no float pass.
   * No numbers are printed until setNumbers gives the exact values.
   */
  setIndices(index, h, w, { map, range }) {
    if (index.length !== h * w) throw new Error(`expected ${h}×${w} indices, got ${index.length}`);
    this.#resize(h, w);
    const out = this.#pixels(h, w);
    const lut = packedTable(map);
    for (let i = 0; i < index.length; i++) out[i] = lut[index[i]];
    this.ctx2d.putImageData(this.image, 0, 0);
    const [lo, hi] = range;
    this.values = null;
    this.colorInfo = { map, lo, hi };
    this.redraw();
    return [lo, hi];
  }

  /** The numbers big cells print (h·w values), for a map drawn with setIndices. */
  setNumbers(values) {
    this.values = values;
    this.redraw();
  }

  /** An image ((C, H, W) values in [0, 1]); numbers printed from the first channel. */
  setImage(pixels, c, h, w) {
    this.#resize(h, w);
    packImage(pixels, c, h * w, this.#pixels(h, w));
    this.ctx2d.putImageData(this.image, 0, 0);
    this.values = c === 1 ? pixels : null;
    this.colorInfo = null;
    this.redraw();
  }

  /**
   * An image already packed as RGBA words (packImage); `numbers` (h·w values or
   * null) are what the cells print when big enough.
   */
  setPacked(words, h, w, numbers = null) {
    this.#resize(h, w);
    this.#pixels(h, w).set(words);
    this.ctx2d.putImageData(this.image, 0, 0);
    this.values = numbers;
    this.colorInfo = null;
    this.redraw();
  }

  /** Overlay context scaled so one unit is one cell. */
  cellContext() {
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(this.overlay.width / Math.max(1, this.w), 0, 0, this.overlay.height / Math.max(1, this.h), 0, 0);
    return ctx;
  }

  /** Pixels of one cell on screen (CSS px). */
  get cellPx() {
    return this.scale;
  }

  redraw() {
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!this.h) return;
    if (this.scale >= 6) this.#grid();
    if (this.values) this.#numbers();
    else markNumbers(this.overlay, null);
    if (this.decorate) this.decorate(this.cellContext(), this);
    if (this.cursor && document.activeElement === this.wrap) {
      const c = this.cellContext();
      c.strokeStyle = "#ffbf00";
      c.lineWidth = 3 / this.scale;
      c.strokeRect(this.cursor.col + 0.08, this.cursor.row + 0.08, 0.84, 0.84);
    }
  }

  #grid() {
    strokeCellGrid(this.cellContext(), this.h, this.w, this.scale);
  }

  #numbers() {
    const ctx = this.overlay.getContext("2d");
    const dpr = this.overlay.width / this.cssW;
    const s = this.scale;
    const { h, w } = this;
    // Images print their [0, 1] pixels at the image's scale; maps relative to their colour range.
    const span = this.colorInfo ? Math.max(Math.abs(this.colorInfo.lo), Math.abs(this.colorInfo.hi)) : 1;
    const plan = planCellNumbers(ctx, this.values.length === h * w ? this.values : this.values.slice(0, h * w), {
      cellW: s, span, only: this.skipCell ? (i) => !this.skipCell(Math.floor(i / w), i % w) : null,
    });
    markNumbers(this.overlay, plan);
    if (!plan) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = plan.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const text = plan.text(r * w + c);
        if (text === null) continue;
        const v = this.values[r * w + c];
        let ink;
        if (this.colorInfo) ink = cssColor(v, this.colorInfo.map, this.colorInfo.lo, this.colorInfo.hi).text;
        else ink = v > 0.55 ? "#000" : "#fff";
        ctx.fillStyle = ink;
        ctx.fillText(text, (c + 0.5) * s, (r + 0.5) * s + 0.5);
      }
    }
  }

  /** A box element (CSS px) over cells rows r0..r0+hh, cols c0..c0+ww. */
  cssRect(r0, c0, hh, ww) {
    return { left: c0 * this.scale, top: r0 * this.scale, width: ww * this.scale, height: hh * this.scale };
  }

  exportPng(filename) {
    exportCanvases([this.canvas, this.overlay], this.cssW, this.cssH, filename);
  }
}
