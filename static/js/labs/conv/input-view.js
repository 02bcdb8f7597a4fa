// The padded input: the image (or pixel grid) with its padding ring drawn
// distinctly (hatched, values per padding mode on hover), the receptive field of
// the chosen output pixel (taps filled, dilation holes left open) and, for the
// pixel grid, the editor laid over the cells.

import { fmt } from "../../heatmap.js";
import { el } from "../../ui.js";
import { sourceIndex } from "../../shape.js";
import { GridView, packImage } from "../../widgets/conv-grid-view.js";
import { mountPixelEditor } from "../../widgets/pixel-editor.js";

const MODE_WORD = { zeros: "zero", reflect: "reflected", replicate: "replicated", circular: "wrapped" };

/** Per padded row and column, the source index (−1 = a zero cell). */
function padIndex(pixels, g) {
  const [, h, w] = pixels.shape;
  const rows = Int32Array.from({ length: g.hp }, (_, t) => sourceIndex(t - g.top, h, g.mode));
  const cols = Int32Array.from({ length: g.wp }, (_, t) => sourceIndex(t - g.left, w, g.mode));
  return { rows, cols };
}

/**
 * The padded input, its float values computed only when asked for (hover, the
 * multiply-add): a knob change on a big image then costs one pass over packed
 * RGBA words, not a float copy of every channel.
 */
function lazyPadded(pixels, g) {
  const index = padIndex(pixels, g);
  let values = null;
  return {
    rows: index.rows,
    cols: index.cols,
    get values() {
      values ??= padInput(pixels, g, index).values;
      return values;
    },
  };
}

const packedCache = new WeakMap(); // pixels -> Map(plane key -> Uint32Array of H·W RGBA words)

/** The source image (or one plane of it) as RGBA words, packed once per pixels array. */
function packedSource(pixels, plane) {
  const [c, h, w] = pixels.shape;
  let byPlane = packedCache.get(pixels);
  if (!byPlane) packedCache.set(pixels, (byPlane = new Map()));
  const key = plane === null ? "all" : plane;
  let words = byPlane.get(key);
  if (!words) {
    const n = h * w;
    words = plane === null ? packImage(pixels, c, n) : packImage(pixels.subarray(plane * n, (plane + 1) * n), 1, n);
    byPlane.set(key, words);
  }
  return words;
}

/** Padded RGBA words: rows/cols map padded cells to source cells (−1: black zero padding). */
function padWords(src, w, rows, cols, out) {
  const wp = cols.length;
  const black = packImage([0], 1, 1)[0];
  for (let r = 0; r < rows.length; r++) {
    const base = r * wp;
    const sr = rows[r];
    if (sr < 0) {
      out.fill(black, base, base + wp);
      continue;
    }
    const srow = sr * w;
    for (let q = 0; q < wp; q++) {
      const sc = cols[q];
      out[base + q] = sc < 0 ? black : src[srow + sc];
    }
  }
  return out;
}

/** The padded (C, Hp, Wp) values and, per padded row/col, the source index (−1 = zero). */
export function padInput(pixels, g, index = padIndex(pixels, g)) {
  const [c, h, w] = pixels.shape;
  const { rows, cols } = index;
  const out = new Float32Array(c * g.hp * g.wp);
  for (let k = 0; k < c; k++) {
    for (let r = 0; r < g.hp; r++) {
      const sr = rows[r];
      const base = k * g.hp * g.wp + r * g.wp;
      if (sr < 0) continue;
      const src = k * h * w + sr * w;
      for (let q = 0; q < g.wp; q++) {
        const sc = cols[q];
        out[base + q] = sc < 0 ? 0 : pixels[src + sc];
      }
    }
  }
  out.shape = [c, g.hp, g.wp];
  return { values: out, rows, cols };
}

function hatchPattern(ctx) {
  const tile = document.createElement("canvas");
  tile.width = 8;
  tile.height = 8;
  const t = tile.getContext("2d");
  t.fillStyle = "rgba(90,100,120,0.28)";
  t.fillRect(0, 0, 8, 8);
  t.strokeStyle = "rgba(255,255,255,0.55)";
  t.lineWidth = 1.5;
  t.beginPath();
  t.moveTo(-2, 10);
  t.lineTo(10, -2);
  t.moveTo(6, 10);
  t.lineTo(10, 6);
  t.moveTo(-2, 2);
  t.lineTo(2, -2);
  t.stroke();
  return ctx.createPattern(tile, "repeat");
}

export function mountInputView(root, { onHover, onPixelEdit, onSelectInput }) {
  const holder = el("div", { class: "input-holder" });
  root.append(holder);
  const view = new GridView(holder, { testid: "input-view", label: "Padded input", focusable: false });
  const rf = el("div", { class: "conv-rf", "data-testid": "receptive-field", hidden: true, role: "img" });
  view.wrap.append(rf);
  const editor = mountPixelEditor(view.wrap, { onEdit: onPixelEdit });
  editor.hide();
  let current = null; // {padded, g, channels}
  let wordsBuffer = null; // the padded picture's RGBA words, reused between draws
  let window_ = null; // {row, col} output cell whose window is shown
  let previous = null; // {row, col} the animation's previous position, drawn faintly

  view.onHover = (cell, event) => {
    if (!cell || !current) return onHover(null, null, null);
    onHover(describe(cell.row, cell.col), event);
  };
  view.onSelect = (cell) => onSelectInput?.(cell);

  function describe(r, q) {
    const { padded, g } = current;
    const [c, hp, wp] = padded.values.shape;
    const vals = Array.from({ length: c }, (_, k) => padded.values[k * hp * wp + r * wp + q]);
    const sr = padded.rows[r];
    const sc = padded.cols[q];
    const inside = r >= g.top && r < g.top + g.h && q >= g.left && q < g.left + g.w;
    const lines = [`padded (row ${r}, col ${q})${inside ? ` = input (${r - g.top}, ${q - g.left})` : ""}`];
    lines.push(c === 1 ? `value ${fmt(vals[0], 6)}` : `R ${fmt(vals[0], 5)} · G ${fmt(vals[1], 5)} · B ${fmt(vals[2], 5)}`);
    if (!inside) {
      lines.push(sr < 0 || sc < 0 ? "padding: zero" : `padding: ${MODE_WORD[g.mode]} from input (${sr}, ${sc})`);
    }
    return lines;
  }

  view.decorate = (ctx, v) => {
    if (!current) return;
    const { g } = current;
    // The padding ring, hatched; then the original image outlined.
    if (g.hp !== g.h || g.wp !== g.w) {
      const dpr = v.overlay.width / v.cssW;
      const c2 = v.overlay.getContext("2d");
      c2.save();
      c2.setTransform(dpr, 0, 0, dpr, 0, 0);
      c2.fillStyle = hatchPattern(c2);
      const s = v.scale;
      c2.beginPath();
      c2.rect(0, 0, g.wp * s, g.hp * s);
      c2.rect(g.left * s, g.top * s, g.w * s, g.h * s);
      c2.fill("evenodd");
      c2.strokeStyle = "#17304f";
      c2.lineWidth = 1.5;
      c2.setLineDash([5, 3]);
      c2.strokeRect(g.left * s, g.top * s, g.w * s, g.h * s);
      c2.restore();
      ctx = v.cellContext();
    }
    if (previous && window_) drawPrevious(ctx, v, g, "fill");
    if (window_) {
      const r0 = window_.row * g.sh;
      const c0 = window_.col * g.sw;
      const px = 1 / v.scale;
      ctx.fillStyle = "rgba(255,45,149,0.28)";
      ctx.strokeStyle = "rgba(255,45,149,0.9)";
      ctx.lineWidth = 1.2 * px;
      for (let a = 0; a < g.kh; a++) {
        for (let b = 0; b < g.kw; b++) {
          const r = r0 + a * g.dh;
          const q = c0 + b * g.dw;
          ctx.fillRect(q, r, 1, 1);
          if (v.scale >= 6) ctx.strokeRect(q + 0.06, r + 0.06, 0.88, 0.88);
        }
      }
      // The whole span: thick outline (dashed when dilation leaves holes).
      ctx.lineWidth = 2.5 * px;
      ctx.strokeStyle = "#ff2d95";
      ctx.setLineDash(g.dh > 1 || g.dw > 1 ? [6 * px, 3 * px] : []);
      ctx.strokeRect(c0, r0, g.ew, g.eh);
      ctx.setLineDash([]);
    }
    if (previous && window_) drawPrevious(ctx, v, g, "outline");
  };

  /**
   * The previous window: its taps faintly filled, its span dashed in gray, and an
   * arrow from its top-left tap to the current one, so a stride jump is visible.
   */
  function drawPrevious(ctx, v, g, part) {
    const px = 1 / v.scale;
    const r0 = previous.row * g.sh;
    const c0 = previous.col * g.sw;
    if (part === "fill") {
      ctx.fillStyle = "rgba(255,191,0,0.22)";
      for (let a = 0; a < g.kh; a++) for (let b = 0; b < g.kw; b++) ctx.fillRect(c0 + b * g.dw, r0 + a * g.dh, 1, 1);
      return;
    }
    // Two-tone dashes read on dark and light pixels alike.
    ctx.lineWidth = 2 * px;
    ctx.strokeStyle = "rgba(0,0,0,0.55)";
    ctx.strokeRect(c0, r0, g.ew, g.eh);
    ctx.strokeStyle = "rgba(255,191,0,0.95)";
    ctx.setLineDash([4 * px, 3 * px]);
    ctx.strokeRect(c0, r0, g.ew, g.eh);
    ctx.setLineDash([]);
    const r1 = window_.row * g.sh;
    const c1 = window_.col * g.sw;
    const [x0, y0, x1, y1] = [c0 + 0.5, r0 + 0.5, c1 + 0.5, r1 + 0.5];
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len < 0.5) return;
    ctx.fillStyle = "#ffbf00";
    ctx.lineCap = "round";
    for (const [style, width] of [["rgba(0,0,0,0.6)", 4.5], ["#ffbf00", 2.5]]) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width * px;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
    }
    const head = Math.min(0.45, len / 2);
    const ang = Math.atan2(y1 - y0, x1 - x0);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - head * Math.cos(ang - 0.45), y1 - head * Math.sin(ang - 0.45));
    ctx.lineTo(x1 - head * Math.cos(ang + 0.45), y1 - head * Math.sin(ang + 0.45));
    ctx.closePath();
    ctx.fill();
  }

  function placeRf() {
    if (!current || !window_) {
      rf.hidden = true;
      return;
    }
    const { g } = current;
    const box = view.cssRect(window_.row * g.sh, window_.col * g.sw, g.eh, g.ew);
    Object.assign(rf.style, { left: `${box.left}px`, top: `${box.top}px`, width: `${Math.max(3, box.width)}px`, height: `${Math.max(3, box.height)}px` });
    rf.setAttribute("aria-label", `receptive field: padded rows ${window_.row * g.sh}–${window_.row * g.sh + g.eh - 1}, cols ${window_.col * g.sw}–${window_.col * g.sw + g.ew - 1}`);
    rf.dataset.row = String(window_.row * g.sh);
    rf.dataset.col = String(window_.col * g.sw);
    rf.dataset.prevRow = previous ? String(previous.row * g.sh) : "";
    rf.dataset.prevCol = previous ? String(previous.col * g.sw) : "";
    rf.hidden = false;
  }

  return {
    view,
    /**
     * pixels: Float32Array (C, H, W); g: a valid geometry; pixelGrid: {h, w, c, values} when editing;
     * channel: which plane of an RGB pixel grid is shown (and edited) on its own.
     */
    render(pixels, g, { maxW, maxH, pixelGrid = null, channel = 0 }) {
      const padded = lazyPadded(pixels, g);
      current = { padded, g };
      view.setBox(maxW, maxH);
      const [c, , w] = pixels.shape;
      const { hp, wp } = g;
      view.skipCell = null;
      const plane = pixelGrid && c === 3 ? Math.min(2, Math.max(0, channel | 0)) : null;
      if (!wordsBuffer || wordsBuffer.length !== hp * wp) wordsBuffer = new Uint32Array(hp * wp);
      const words = padWords(packedSource(pixels, plane), w, padded.rows, padded.cols, wordsBuffer);
      // Numbers are printed only in big cells, i.e. on small inputs: only then are the float values needed.
      const numbers = hp * wp <= 4096 && (c === 1 || plane !== null)
        ? padded.values.subarray((plane ?? 0) * hp * wp, ((plane ?? 0) + 1) * hp * wp) : null;
      view.setPacked(words, hp, wp, numbers);
      view.wrap.dataset.channel = plane === null ? "" : ["R", "G", "B"][plane];
      const editing = pixelGrid && view.scale >= 16;
      if (editing) {
        view.skipCell = (r, q) => r >= g.top && r < g.top + g.h && q >= g.left && q < g.left + g.w;
        view.redraw();
      }
      if (editing) {
        const n = pixelGrid.h * pixelGrid.w;
        const values = plane === null ? pixelGrid.values : pixelGrid.values.slice(plane * n, (plane + 1) * n);
        editor.render(values, pixelGrid.h, pixelGrid.w, { top: g.top, left: g.left, scale: view.scale });
      } else editor.hide();
      placeRf();
      return padded;
    },
    /** The chosen output cell's window; `prev` (the animation's last position) is drawn faintly. */
    setWindow(cell, prev = null) {
      window_ = cell;
      previous = cell && prev ? prev : null;
      view.redraw();
      placeRf();
    },
    padded: () => current?.padded,
  };
}
