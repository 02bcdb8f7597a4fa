// The Equivariance lab's pictures: the two pipelines and their difference on one
// colour scale, the interior boxed, hover values, the shifted input and the
// pooled maps.

import { MAPS } from "../../colormap.js";
import { MapView, drawColorbar, fmt, sizeCanvas } from "../../heatmap.js";
import { hideTooltip, showTooltip } from "../../ui.js";
import { cellPx, crossCells } from "../pool/overlay.js";

const MAIN = ["conv_shift", "shift_conv", "diff"];
const NAMES = { conv_shift: "conv(shift(x))", shift_conv: "shift(conv(x))", diff: "difference" };

/** Bounding box {r0, r1, c0, c1} (inclusive) of the 1s of an int mask (H, W), or null. */
function boxOf(mask) {
  const [h, w] = mask.shape;
  let r0 = h, r1 = -1, c0 = w, c1 = -1;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (!mask[r * w + c]) continue;
      if (r < r0) r0 = r;
      if (r > r1) r1 = r;
      if (c < c0) c0 = c;
      if (c > c1) c1 = c;
    }
  }
  return r1 < 0 ? null : { r0, r1, c0, c1 };
}

/** Shrink a view whose integer scale (at least 1) would overflow maxW×maxH, keeping cells square. */
function fit(view, maxW, maxH) {
  const f = Math.min(maxW / view.w, maxH / view.h);
  if (f >= view.scale) return;
  for (const c of [view.canvas, view.overlay]) sizeCanvas(c, view.w * f, view.h * f, { sharp: false });
}

const SIDE = 128; // CSS px of the four main maps (four fit side by side at 1280 px)
const POOL_SIDE = 110;

export function mountEqViews(root) {
  const slot = (name) => root.querySelector(`[data-map="${name}"]`);
  const views = {};
  for (const name of MAIN) {
    views[name] = new MapView(slot(name), { testid: `eq-map-${name.replace("_", "-")}`, label: NAMES[name], maxW: SIDE, maxH: SIDE });
  }
  views.shifted_input = new MapView(slot("shifted_input"), { testid: "eq-shifted-input", label: "shifted input", maxW: SIDE, maxH: SIDE });
  views.pooled = new MapView(slot("pooled"), { testid: "eq-pooled", label: "pooled conv(x)", maxW: POOL_SIDE, maxH: POOL_SIDE });
  views.pooled_shifted = new MapView(slot("pooled_shifted"), { testid: "eq-pooled-shifted", label: "pooled conv(shift x)", maxW: POOL_SIDE, maxH: POOL_SIDE });
  views.pool_changed = new MapView(slot("pool_changed"), { testid: "eq-pool-changed", label: "pooled cells changed by the shift, black", maxW: POOL_SIDE, maxH: POOL_SIDE });
  const colorbar = root.querySelector(".eq-colorbar canvas");
  const poolPanel = root.querySelector(".eq-pool-panel");
  const poolText = root.querySelector(".eq-pool-text");
  const diffText = root.querySelector(".eq-diff");
  let last = null;

  // Hovering any of the three shows all three numbers at that cell.
  for (const name of MAIN) {
    views[name].onHover((cell, event) => {
      if (!cell || !last) return hideTooltip();
      const [, w] = last.arrays.diff.shape;
      const i = cell.row * w + cell.col;
      const inside = last.arrays.interior[i] ? "interior" : "border region";
      showTooltip(event, [
        `(row ${cell.row}, col ${cell.col}) · ${inside}`,
        `conv(shift(x)) = ${fmt(last.arrays.conv_shift[i], 6)}`,
        `shift(conv(x)) = ${fmt(last.arrays.shift_conv[i], 6)}`,
        `difference = ${fmt(last.arrays.diff[i], 6)}`,
      ]);
    });
  }

  // Four maps share the row: as large as the panel allows (128 px at 1280 wide, more on big screens).
  const mapsRow = root.querySelector(".eq-maps");
  function sides() {
    const main = Math.max(SIDE, Math.min(300, Math.floor((mapsRow.clientWidth - 3 * 8) / 4)));
    for (const v of Object.values(views)) v.maxW = v.maxH = main;
    return [main, Math.max(POOL_SIDE, Math.round(main * 0.85))];
  }

  // The pooled maps: both values and whether the shift changed the cell.
  for (const name of ["pooled", "pooled_shifted", "pool_changed"]) {
    views[name].onHover((cell, event) => {
      if (!cell || !last?.arrays.pooled) return hideTooltip();
      const [, pw] = last.arrays.pooled.shape;
      const i = cell.row * pw + cell.col;
      const a = last.arrays.pooled[i];
      const b = last.arrays.pooled_shifted[i];
      showTooltip(event, [`pooled cell (row ${cell.row}, col ${cell.col})`, `pool(conv(x)) = ${fmt(a, 6)}`,
        `pool(conv(shift(x))) = ${fmt(b, 6)}`, Math.abs(a - b) > 1e-6 * Math.max(1, last.scale) ? "changed" : "unchanged"]);
    });
  }

  function render(answer, s) {
    last = answer;
    const [side, poolSide] = sides();
    const a = answer.arrays;
    const [h, w] = a.diff.shape;
    const m = Math.max(answer.scale, 1e-12);
    const range = [-m, m];
    for (const name of MAIN) {
      views[name].setData(a[name], h, w, { map: MAPS.diverging, range });
      fit(views[name], side, side);
    }
    drawColorbar(colorbar, MAPS.diverging, -m, m);
    root.querySelector(".eq-lo").textContent = fmt(-m, 3);
    root.querySelector(".eq-hi").textContent = fmt(m, 3);
    const box = boxOf(a.interior);
    if (box) {
      for (const name of MAIN) {
        const ctx = views[name].cellContext();
        ctx.setLineDash([0.5, 0.35]);
        views[name].box(box.r0, box.c0, box.r1 - box.r0 + 1, box.c1 - box.c0 + 1, { color: "#1d2330", lineWidth: 2 });
        ctx.setLineDash([]);
      }
    }
    const [c, ih, iw] = a.shifted_input.shape;
    views.shifted_input.setImage(a.shifted_input, c, ih, iw);
    fit(views.shifted_input, side, side);
    root.querySelector(".eq-input-meta").textContent =
      `${ih}×${iw}${answer.cropped ? " (cut to a multiple of the stride)" : ""}`;

    const interior = answer.max_interior === null ? "— (no interior at this shift)" : fmt(answer.max_interior, 3);
    diffText.textContent = `max |difference|: interior ${interior} · whole map ${fmt(answer.max_whole, 3)}`;
    diffText.dataset.whole = String(answer.max_whole);
    diffText.dataset.interior = String(answer.max_interior);

    poolPanel.hidden = !a.pooled;
    if (a.pooled) {
      const [ph, pw] = a.pooled.shape;
      const pr = [-m, m];
      views.pooled.setData(a.pooled, ph, pw, { map: MAPS.diverging, range: pr });
      views.pooled_shifted.setData(a.pooled_shifted, ph, pw, { map: MAPS.diverging, range: pr });
      fit(views.pooled, poolSide, poolSide);
      fit(views.pooled_shifted, poolSide, poolSide);
      // The pooled cells the shift changed: a black-and-white mask beside the maps, and a
      // cross on each one when the cells are big enough to carry it.
      const changed = new Float32Array(ph * pw);
      const cells = [];
      for (let i = 0; i < ph * pw; i++) {
        if (Math.abs(a.pooled[i] - a.pooled_shifted[i]) > 1e-6 * Math.max(1, m)) {
          changed[i] = 1;
          cells.push([Math.floor(i / pw), i % pw]);
        }
      }
      views.pool_changed.setData(changed.map((v) => 1 - v), ph, pw, { map: MAPS.gray, range: [0, 1] });
      fit(views.pool_changed, poolSide, poolSide);
      if (cellPx(views.pooled_shifted) >= 6) crossCells(views.pooled_shifted, cells);
      const before = Math.round(answer.pool_unchanged_before * 100);
      const after = Math.round(answer.pool_unchanged_after * 100);
      poolText.textContent =
        `${after} % of the pooled cells did not change, compared in place (not shifted back), ` +
        `against ${before} % of the unpooled map at the same places; changed ones are crossed, and black on the right. ` +
        `Staying put under a shift is invariance: a different question from the equivariance verdict above, ` +
        `which shifts one side back before comparing.`;
    }
    markStale(false);
  }

  function markStale(on) {
    for (const v of Object.values(views)) v.wrap.classList.toggle("stale", on);
  }

  return { render, markStale };
}
