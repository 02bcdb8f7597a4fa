// A magnifier shared by the Pooling and Backward labs: a crop of a few cells of a
// large map, drawn big enough to print every number, on the same colour scale as
// the full map. Cells of a 512-px image are a fraction of a pixel on screen; the
// crop is where the student reads the winners and the kernel's stamp.

import { MapView, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { drawNumbers } from "./overlay.js";

/**
 * Bounds [r0, c0, r1, c1) of a crop of at most n×n cells around the rectangle
 * [a0, b0, a1, b1) (clipped to the H×W map), with `margin` cells around it when they fit.
 */
export function cropAround(H, W, [a0, b0, a1, b1], n, margin = 2) {
  const axis = (lo, hi, size) => {
    const want = Math.min(n, size, Math.max(hi - lo + 2 * margin, Math.min(n, 7)));
    const mid = (lo + hi) / 2;
    let start = Math.round(mid - want / 2);
    start = Math.max(0, Math.min(size - want, start));
    return [start, start + want];
  };
  const [r0, r1] = axis(Math.max(0, a0), Math.min(H, a1), H);
  const [c0, c1] = axis(Math.max(0, b0), Math.min(W, b1), W);
  return [r0, c0, r1, c1];
}

/**
 * mountZoom(slot, {testid, label, name}) appends a figure with a caption and a map;
 * show({...}) fills it, hide() hides it. `name` is the symbol the hover read-out uses.
 */
export function mountZoom(slot, { testid, label, name, box = 190 }) {
  const caption = el("figcaption", {});
  const holder = el("div", {});
  const figure = el("figure", { class: "map-card zoom-card" }, caption, holder);
  figure.hidden = true;
  slot.append(figure);
  const view = new MapView(holder, { testid, label, maxW: box, maxH: box });
  let crop = null;

  view.onHover((cell, event) => {
    if (!cell || !crop) return hideTooltip();
    const r = crop.r0 + cell.row;
    const c = crop.c0 + cell.col;
    showTooltip(event, [`${name}[${r}, ${c}] = ${fmt(crop.values[cell.row * crop.w + cell.col], 4)}`]);
  });

  return {
    view,
    /**
     * Draw rows r0…r1−1, cols c0…c1−1 of `data` (one H·W plane, row width W) with the
     * full map's colours; returns (r, c) -> [row, col] in crop cells for marks.
     */
    show({ data, W, bounds, map, range, digits = 2, skipZero = false, text }) {
      const [r0, c0, r1, c1] = bounds;
      const h = r1 - r0;
      const w = c1 - c0;
      const values = new Float32Array(h * w);
      for (let r = 0; r < h; r++) values.set(data.subarray((r0 + r) * W + c0, (r0 + r) * W + c1), r * w);
      crop = { r0, c0, h, w, values };
      figure.hidden = false;
      // Presentation mode: cells big enough for 18 px numbers (the magnifier's whole point).
      const size = document.documentElement.classList.contains("present") ? Math.round(box * 1.8) : box;
      if (view.maxW !== size) {
        view.maxW = view.maxH = size;
        view.h = 0; // resize on the next draw
      }
      view.setData(values, h, w, { map, range });
      drawNumbers(view, values, { digits, skipZero, minCell: 12 });
      caption.textContent = text;
      view.wrap.dataset.crop = `${r0},${c0},${r1},${c1}`;
      return (r, c) => [r - r0, c - c0];
    },
    hide() {
      figure.hidden = true;
      crop = null;
    },
    get shown() {
      return !figure.hidden;
    },
  };
}
