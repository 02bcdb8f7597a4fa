// The Train lab's small pictures: first-layer filters, class probabilities, and
// the feature maps of every layer for one input. Numbers on hover everywhere.

import { MAPS } from "../../colormap.js";
import { MapView, drawColorbar, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";

const filterViews = [];

/** Forget the drawn filters (after Reset: there is no network to show). */
export function clearFilters(root, labRoot) {
  filterViews.length = 0;
  root.replaceChildren();
  labRoot.querySelector(".train-filters-panel .colorbar").hidden = true;
}

/** The F first-layer 3×3 kernels on one symmetric diverging scale. */
export function drawFilters(root, filters, labRoot) {
  if (!filters) return;
  if (filterViews.length !== filters.length) {
    // Another model (8 → 32 filters): new cards at a size that keeps 32 of them to a few rows.
    filterViews.length = 0;
    root.replaceChildren();
  }
  const side = filters.length > 16 ? 40 : 54;
  let m = 0;
  for (const f of filters) for (const row of f) for (const v of row) m = Math.max(m, Math.abs(v));
  m = m || 1;
  filters.forEach((f, i) => {
    if (!filterViews[i]) {
      const card = el("figure", { class: "map-card train-filter" });
      root.append(card);
      const view = new MapView(card, { testid: `train-filter-${i}`, label: `filter ${i}`, maxW: side, maxH: side });
      card.append(el("figcaption", {}, `f${i}`));
      view.onHover((cell, e) => {
        if (!cell || !view.values) return hideTooltip();
        showTooltip(e, [`filter ${i}, weight (${cell.row}, ${cell.col})`, fmt(view.values[cell.row * 3 + cell.col], 5)]);
      });
      filterViews[i] = view;
    }
    const flat = Float32Array.from(f.flat());
    filterViews[i].values = flat;
    filterViews[i].setData(flat, 3, 3, { map: MAPS.diverging, range: [-m, m] });
  });
  labRoot.querySelector(".train-filters-panel .colorbar").hidden = false;
  drawColorbar(labRoot.querySelector(".train-f-bar"), MAPS.diverging, -m, m);
  labRoot.querySelector(".train-f-lo").textContent = fmt(-m, 3);
  labRoot.querySelector(".train-f-hi").textContent = fmt(m, 3);
}

/** Ten bars, the predicted class marked with ▶ and bold (not by colour alone). */
export function renderProbabilities(root, probs, predicted = -1) {
  if (!probs) {
    root.replaceChildren();
    return;
  }
  root.replaceChildren(
    ...probs.map((p, k) =>
      el(
        "div",
        { class: `train-prob${k === predicted ? " top" : ""}`, "data-testid": `train-prob-${k}` },
        el("span", { class: "digit" }, `${k === predicted ? "▶ " : ""}${k}`),
        el("span", { class: "bar" }, el("span", { class: "fill", style: null, dataset: { p: p.toFixed(4) } })),
        el("span", { class: "pct" }, `${(p * 100).toFixed(1)} %`),
      ),
    ),
  );
  // Widths set through CSSOM (the page's CSP forbids inline style attributes).
  root.querySelectorAll(".fill").forEach((f) => (f.style.width = `${Number(f.dataset.p) * 100}%`));
}

/** One row per layer: conv/pool maps as small heat maps, dense layers as strips. */
export function renderLayers(root, layers) {
  root.replaceChildren();
  for (const layer of layers) {
    const row = el("div", { class: "train-layer" }, el("div", { class: "train-layer-name" }, `${layer.name} · ${layer.shape.join("×")}`));
    const maps = el("div", { class: "train-layer-maps" });
    row.append(maps);
    root.append(row);
    const values = Float32Array.from(layer.values);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const signed = lo < 0;
    const range = signed ? [-Math.max(-lo, hi) || 1, Math.max(-lo, hi) || 1] : [0, hi || 1];
    const map = signed ? MAPS.diverging : MAPS.viridis;
    const [c, h, w] = layer.shape.length === 3 ? layer.shape : [1, 1, layer.shape[0]];
    // Conv/pool maps: 8×8 → 36 px, 4×4 → 22 px (16 of them fit one row), 2×2 → 18 px; dense layers: one strip.
    // The chapter's 28×28 input: 84 px; its 14×14 pooled maps 30 px, 7×7 ones 22 px.
    const side = layer.shape.length === 3 ? (h >= 8 ? (h >= 28 ? 84 : h >= 14 ? 30 : 36) : h >= 4 ? 22 : 18) : 220;
    for (let k = 0; k < c; k++) {
      const part = values.subarray(k * h * w, (k + 1) * h * w);
      const view = new MapView(maps, { label: `${layer.name} channel ${k}`, maxW: side, maxH: side });
      view.setData(part, h, w, { map, range });
      view.onHover((cell, e) => {
        if (!cell) return hideTooltip();
        showTooltip(e, [`${layer.name}${c > 1 ? `, channel ${k}` : ""} (${cell.row}, ${cell.col})`, fmt(part[cell.row * w + cell.col], 5)]);
      });
    }
  }
}
