// The feature maps: one canvas per filter at the true output size (feature-map-0,
// feature-map-1, …), scaled up crisply, each with a colour bar (min, zero, max)
// and hover/click/keyboard reporting of (filter, row, col).

import { MAPS } from "../../colormap.js";
import { cellText, drawColorbar, exportCanvases } from "../../heatmap.js";
import { el } from "../../ui.js";
import { GridView } from "../../widgets/conv-grid-view.js";

export function mountMaps(root, { onSelect, onHover }) {
  let cards = [];
  let selection = null; // {f, row, col}
  let progress = null; // raster index of the animation, or null

  const layouts = new Map(); // key -> [maxW, maxH], the last few
  /**
   * [maxW, maxH] per map: the column count that makes maps largest in the space
   * left. Reading the panel's size forces a layout, so the answer is kept while
   * nothing that moves the panel changed (`key` names what the caller knows moves it).
   */
  function layout(count, h, w, key) {
    const full = `${count},${h},${w},${window.innerWidth},${window.innerHeight},${document.body.className},${key}`;
    if (!layouts.has(full)) {
      layouts.set(full, measure(count, h, w));
      if (layouts.size > 4) layouts.delete(layouts.keys().next().value);
    }
    return layouts.get(full);
  }

  function measure(count, h, w) {
    const width = Math.max(120, (root.clientWidth || 300) - 4);
    // A phone scrolls the stacked columns: the maps may take most of a screen of their own.
    const phone = window.innerWidth <= 760;
    const height = phone ? Math.round(window.innerHeight * 0.6) : Math.max(140, window.innerHeight - root.getBoundingClientRect().top - 28);
    // Caption (up to two lines) + colour bar with its numbers, at the page's type size
    // (larger in presentation mode): every map and its bar fit on the screen.
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
    const extra = Math.round(rem * 4.2);
    let best = [60, 60];
    let bestScale = 0;
    for (let cols = 1; cols <= count; cols++) {
      const rows = Math.ceil(count / cols);
      const bw = Math.floor((width - 10 * (cols - 1)) / cols);
      const bh = Math.floor((height - rows * extra - 10 * (rows - 1)) / rows);
      const scale = Math.min(bw / w, bh / h);
      if (scale > bestScale) {
        bestScale = scale;
        best = [bw, Math.max(40, bh)];
      }
    }
    const cap = document.documentElement.classList.contains("present") ? 900 : 460;
    return [Math.min(best[0], cap), Math.min(best[1], cap)];
  }

  function ensureCards(count) {
    if (cards.length === count) return;
    cards = Array.from({ length: count }, (_, f) => {
      const figure = el("figure", { class: "map-card", "data-filter": String(f) });
      const title = el("span", { class: "map-title" });
      const range = el("span", { class: "map-range" });
      const caption = el("figcaption", { class: "map-caption" }, title, " ", range);
      const holder = el("div", { class: "map-holder" });
      const view = new GridView(holder, { testid: `feature-map-${f}`, label: `Feature map ${f}` });
      const bar = el("canvas", { class: "colorbar-canvas", "aria-hidden": "true" });
      const lo = el("span", { class: "cb-lo" });
      const zero = el("span", { class: "cb-zero" });
      const hi = el("span", { class: "cb-hi" });
      const colorbar = el("div", { class: "colorbar" }, lo, el("span", { class: "cb-bar" }, bar, zero), hi);
      figure.append(caption, holder, colorbar);
      view.onSelect = (cell) => onSelect(f, cell.row, cell.col);
      view.onHover = (cell, event) => onHover(f, cell, event);
      view.decorate = (ctx, v) => decorate(f, ctx, v);
      return { figure, caption, title, range, view, bar, lo, zero, hi };
    });
    root.replaceChildren(...cards.map((c) => c.figure));
  }

  function decorate(f, ctx, view) {
    if (progress !== null) {
      // Cells the sliding window has not reached yet are veiled.
      ctx.fillStyle = "rgba(245,246,248,0.82)";
      const r0 = Math.floor((progress + 1) / view.w);
      const c0 = (progress + 1) % view.w;
      if (r0 < view.h) {
        ctx.fillRect(c0, r0, view.w - c0, 1);
        ctx.fillRect(0, r0 + 1, view.w, view.h - r0 - 1);
      }
    }
    if (selection && selection.row < view.h && selection.col < view.w) {
      const mine = selection.f === f;
      ctx.lineWidth = (mine ? 3 : 1.5) / view.scale;
      ctx.strokeStyle = mine ? "#ff2d95" : "rgba(255,45,149,0.7)";
      const pad = Math.min(0.5, 1 / view.scale);
      ctx.strokeRect(selection.col - pad, selection.row - pad, 1 + 2 * pad, 1 + 2 * pad);
    }
  }

  /** Size the cards, then per map draw(card, f) -> {map, lo, hi, dmin, dmax}; captions and colour bars follow. */
  function paint(count, h, w, key, names, draw) {
    ensureCards(count);
    const [maxW, maxH] = layout(count, h, w, key);
    cards.forEach((card, f) => {
      card.view.setBox(maxW, maxH);
      card.view.cursor = selection && selection.f === f ? { row: selection.row, col: selection.col } : null;
      const { map, lo, hi, dmin, dmax } = draw(card, f);
      const name = names[f];
      // Rounded relative to the map's range, like the numbers in its cells (no "-6.0e-8").
      const span = Math.max(Math.abs(dmin), Math.abs(dmax));
      card.text = { title: `${f} · ${name}`, range: `min ${cellText(dmin, span)}, max ${cellText(dmax, span)}` };
      card.title.textContent = `${card.text.title} ·`;
      card.range.textContent = card.text.range;
      card.caption.title = `filter ${f}: ${name}, ${h}×${w}, min ${dmin}, max ${dmax}`;
      const figW = `${Math.max(120, Math.round(card.view.cssW))}px`;
      if (card.figure.style.width !== figW) card.figure.style.width = figW;
      const barWidth = Math.max(60, Math.min(140, Math.round(card.view.cssW) - 70));
      // The bar's colours depend only on the map and width (and where zero sits), not on lo/hi themselves.
      const barKey = `${map.name},${barWidth},${lo < 0 && hi > 0 ? Math.round(((0 - lo) / (hi - lo)) * (barWidth - 1)) : -1}`;
      if (card.barKey !== barKey) {
        drawColorbar(card.bar, map, lo, hi, { width: barWidth, height: 10 });
        card.bar.style.width = `${barWidth}px`;
        card.barKey = barKey;
      }
      const barSpan = Math.max(Math.abs(lo), Math.abs(hi));
      card.lo.textContent = cellText(lo, barSpan);
      card.hi.textContent = cellText(hi, barSpan);
      const showZero = lo < 0 && hi > 0;
      card.zero.hidden = !showZero;
      card.zero.textContent = "0";
      card.zero.style.left = `${((0 - lo) / (hi - lo)) * 100}%`;
      card.figure.dataset.map = map.name;
    });
  }

  return {
    /**
     * Draw the server's output (Float32Array (C_out, H_out, W_out)).
     * `names` label the filters; `cmap` is "auto" | "diverging" | "viridis" | "gray".
     */
    render(output, names, cmap, known = null, key = "") {
      const [count, h, w] = output.shape;
      paint(count, h, w, key, names, (card, f) => {
        const data = output.subarray(f * h * w, (f + 1) * h * w);
        // The server sends each map's min and max, which saves two passes over 260k values.
        let dmin = known ? known.min[f] : Infinity;
        let dmax = known ? known.max[f] : -Infinity;
        if (!known) {
          for (let i = 0; i < data.length; i++) {
            if (data[i] < dmin) dmin = data[i];
            if (data[i] > dmax) dmax = data[i];
          }
        }
        const map = cmap === "auto" ? (dmin < 0 ? MAPS.diverging : MAPS.viridis) : MAPS[cmap] || MAPS.viridis;
        let range;
        if (map.signed) {
          // Below 1e-6 the values are float32 rounding of an exact 0: don't blow the noise up into colours.
          // (app/display.py colours the server's display answer by this same rule.)
          const m = Math.max(Math.abs(dmin), Math.abs(dmax), 1e-6);
          range = [-m, m];
        } else range = dmax > dmin ? [dmin, dmax] : [dmin, dmin + 1];
        const [lo, hi] = card.view.setData(data, h, w, { map, range });
        return { map, lo, hi, dmin, dmax };
      });
    },
    /**
     * Draw colour-table indices (Uint8Array (C_out, H_out, W_out)) from POST /api/conv2d
     * with `display`: `shown` = {min, max, range, map} per map, as the server chose them.
     * The exact values come later (setExact) for hover, numbers and the multiply-add.
     */
    renderIndex(index, names, shown, key = "") {
      const [count, h, w] = index.shape;
      paint(count, h, w, key, names, (card, f) => {
        const map = MAPS[shown.map[f]] || MAPS.viridis;
        const [lo, hi] = card.view.setIndices(index.subarray(f * h * w, (f + 1) * h * w), h, w, { map, range: shown.range[f] });
        return { map, lo, hi, dmin: shown.min[f], dmax: shown.max[f] };
      });
    },
    /** The exact values of maps drawn from indices: numbers in big cells. */
    setExact(output) {
      const [, h, w] = output.shape;
      cards.forEach((card, f) => card.view.setNumbers(output.subarray(f * h * w, (f + 1) * h * w)));
    },
    setSelection(sel, prog = null) {
      selection = sel;
      progress = prog;
      cards.forEach((card, f) => {
        card.view.cursor = sel && sel.f === f ? { row: sel.row, col: sel.col } : null;
        card.view.redraw();
      });
    },
    setStale(stale) {
      root.classList.toggle("stale", stale);
    },
    focus(f) {
      cards[f]?.view.wrap.focus();
    },
    count: () => cards.length,
    exportPng() {
      if (!cards.length) return;
      exportMaps(cards);
    },
  };
}

/**
 * The maps as one PNG, side by side at their on-screen size, each with its title above
 * and its colour bar (min, 0, max written out) below: a picture that explains itself on
 * a slide or a worksheet.
 */
function exportMaps(cards) {
  const gap = 16;
  const pad = 10;
  const font = '14px system-ui, "DejaVu Sans", sans-serif';
  const titleH = 40;
  const barH = 12;
  const footH = barH + 24;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = font;
  const widths = cards.map((c) => Math.max(c.view.cssW, measure.measureText(c.text?.title || "").width, measure.measureText(c.text?.range || "").width, 150));
  const width = Math.ceil(widths.reduce((a, w) => a + w + gap, -gap) + 2 * pad);
  const height = Math.ceil(Math.max(...cards.map((c) => c.view.cssH)) + titleH + footH + 2 * pad);
  const out = document.createElement("canvas");
  out.width = width;
  out.height = height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  let x = pad;
  cards.forEach((card, i) => {
    const v = card.view;
    ctx.fillStyle = "#1d2330";
    ctx.font = `600 ${font}`;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(card.text?.title || `filter ${i}`, x, pad);
    ctx.font = font;
    ctx.fillStyle = "#5b6475";
    ctx.fillText(card.text?.range || "", x, pad + 18);
    const top = pad + titleH;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(v.canvas, x, top, v.cssW, v.cssH);
    ctx.drawImage(v.overlay, x, top, v.cssW, v.cssH);
    // Colour bar with its numbers.
    const barTop = top + v.cssH + 6;
    const barW = Math.max(100, Math.min(widths[i], 200));
    ctx.drawImage(card.bar, x, barTop, barW, barH);
    ctx.strokeStyle = "#d8dce3";
    ctx.strokeRect(x + 0.5, barTop + 0.5, barW - 1, barH - 1);
    ctx.fillStyle = "#1d2330";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(card.lo.textContent, x, barTop + barH + 3);
    ctx.textAlign = "right";
    ctx.fillText(card.hi.textContent, x + barW, barTop + barH + 3);
    if (!card.zero.hidden) {
      const zx = x + (parseFloat(card.zero.style.left) / 100) * barW;
      ctx.textAlign = "center";
      ctx.fillText("0", zx, barTop + barH + 3);
    }
    x += widths[i] + gap;
  });
  exportCanvases([out], width, height, "convlab-feature-maps.png");
}
