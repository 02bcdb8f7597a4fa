// The Backward lab's pictures: the ingredients (x, K, flip(K), δ) and the three
// convolutions of one conv layer (y = x ⋆ K, ∂L/∂K = x ⋆ δ, ∂L/∂x = pad(δ) ⋆ flip(K))
// with their shapes, numbers printed on small maps, and the clicked output's
// window marked on x and on ∂L/∂x.

import { MAPS, autoMap } from "../../colormap.js";
import { MapView, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { mountCellPicker } from "../../widgets/cell-picker.js";
import { cellPx, colorbar, drawNumbers, fitView, keyboardCells, markRegion } from "../pool/overlay.js";
import { plane } from "../pool/views.js";
import { cropAround, mountZoom } from "../pool/zoom.js";
import { flip, kernelTable } from "./kernel.js";

const SMALL = 140; // ingredient maps
const BIG = 240; // the three results, at most (they share the row)

const shapeText = (shape) => shape.join(" × ");

export function mountBackwardViews(root, { onOutputClick }) {
  const $ = (sel) => root.querySelector(sel);
  const make = (sel, testid, label, box) => new MapView($(sel), { testid, label, maxW: box, maxH: box });
  const views = {
    x: make(".bw-x-map", "backward-input", "Input x", SMALL),
    delta: make(".bw-delta-map", "backward-delta", "Upstream gradient δ", SMALL),
    y: make(".bw-y-map", "backward-output", "Forward pass y = x ⋆ K", BIG),
    gw: make(".bw-gw-map", "backward-grad-weight", "Weight gradient x ⋆ δ", BIG),
    gx: make(".bw-gx-map", "backward-grad-input", "Input gradient: δ fully convolved with the flipped kernel", BIG),
  };
  const boxes = { x: SMALL, delta: SMALL, y: BIG, gw: BIG, gx: BIG };
  const resultsRow = $(".bw-results");
  const hoverLine = $(".bw-hover");
  const zoomRow = $(".bw-zoom-row");
  const zooms = {
    delta: mountZoom($(".bw-zoom-maps"), { testid: "backward-zoom-delta", label: "δ near the one-hot, magnified", name: "δ" }),
    gx: mountZoom($(".bw-zoom-maps"), { testid: "backward-zoom-grad-input", label: "∂L/∂x near the stamp, magnified", name: "∂L/∂x" }),
  };
  let zoomBounds = null; // {delta: [r0, c0, r1, c1], gx: […]} while the magnifier is shown
  let data = null;
  let hover = null; // {kind: "out" | "in" | "w", cell, event} under the mouse
  const picker = mountCellPicker($(".bw-cell-picker"), {
    testid: "backward-cell", label: "One-hot δ at y",
    onPick: ([row, col]) => onOutputClick({ row, col }),
  });

  function caption(sel, text, map, lo, hi) {
    $(sel).replaceChildren(el("span", {}, text), colorbar(map, lo, hi));
  }

  /** Draw an answer of POST /api/backward for state s with kernel values (kh·kw). */
  function draw(answer, s, kernel) {
    const { arrays } = answer;
    const [C, H, W] = answer.input_shape;
    const [, oh, ow] = answer.output_shape;
    const [, , kh, kw] = answer.weight_shape;
    const c = Math.min(s["bw.ch"], C - 1);
    data = { answer, s, c, C, H, W, oh, ow, kh, kw, kernel };

    // The three results share one row: size them to a third of it.
    const room = Math.floor((resultsRow.clientWidth - 2 * 14) / 3);
    if (room > 60) for (const key of ["y", "gw", "gx"]) boxes[key] = views[key].maxW = views[key].maxH = Math.min(BIG, room);
    const x = plane(arrays.input, c);
    // An image is shown in gray on [0, 1]; the chapter's standard-normal x is signed.
    const xmap = s["bw.src"] === "chapter" ? MAPS.diverging : MAPS.gray;
    const [xlo0, xhi0] = views.x.setData(x, H, W, xmap === MAPS.gray ? { map: xmap, range: [0, 1] } : { map: xmap });
    const delta = arrays.grad_output.subarray(0, oh * ow);
    const [dlo, dhi] = views.delta.setData(delta, oh, ow, { map: MAPS.diverging });
    const y = arrays.output.subarray(0, oh * ow);
    const ymap = autoMap(y);
    const [ylo, yhi] = views.y.setData(y, oh, ow, { map: ymap });
    const gw = arrays.grad_weight.subarray(c * kh * kw, (c + 1) * kh * kw);
    const [wlo, whi] = views.gw.setData(gw, kh, kw, { map: MAPS.diverging });
    const gx = plane(arrays.grad_input, c);
    const [xlo, xhi] = views.gx.setData(gx, H, W, { map: MAPS.diverging });
    for (const [key, v] of Object.entries(views)) fitView(v, boxes[key], boxes[key]);

    const chan = C > 1 ? `, channel ${c}` : "";
    if (xmap === MAPS.gray) $(".bw-x-caption").replaceChildren(el("span", {}, `input x${chan}: ${shapeText([C, H, W])}`));
    else caption(".bw-x-caption", `input x (standard normal): ${shapeText([C, H, W])}`, xmap, xlo0, xhi0);
    caption(".bw-delta-caption", `δ = ∂L/∂y: ${shapeText(answer.output_shape)}`, MAPS.diverging, dlo, dhi);
    caption(".bw-y-caption", `forward pass y: ${shapeText(answer.output_shape)}`, ymap, ylo, yhi);
    caption(".bw-gw-caption", `weight gradient ∂L/∂K${chan}: ${shapeText(answer.weight_shape)}`, MAPS.diverging, wlo, whi);
    caption(".bw-gx-caption", `input gradient ∂L/∂x${chan}: ${shapeText(answer.input_shape)}`, MAPS.diverging, xlo, xhi);
    $(".bw-k-grid").replaceChildren(kernelTable(kernel, kh, kw, { caption: "kernel K" }));
    $(".bw-kflip-grid").replaceChildren(kernelTable(flip(kernel, kh, kw), kh, kw, { caption: "flipped kernel" }));
    zoom({ delta: [dlo, dhi], gx: [xlo, xhi] });
    overlays();
  }

  /** The window [r0, c0, r1, c1) of input rows/cols output (i, j) reads (may reach into the padding). */
  function windowRect(i, j) {
    const { s, kh, kw, answer } = data;
    const [top, , left] = answer.pads;
    const [sh, sw] = s["bw.s"];
    const [dh, dw] = s["bw.d"];
    const r0 = i * sh - top;
    const c0 = j * sw - left;
    return [r0, c0, r0 + (kh - 1) * dh + 1, c0 + (kw - 1) * dw + 1];
  }

  /** Magnify δ and ∂L/∂x around the one-hot when their cells are too small to carry numbers. */
  function zoom(ranges) {
    const at = selected();
    const small = cellPx(views.gx) < 13 || cellPx(views.delta) < 13;
    zoomRow.hidden = !(at && small);
    zoomBounds = null;
    if (zoomRow.hidden) return;
    const { answer, c, H, W, oh, ow } = data;
    const { arrays } = answer;
    const gxBounds = cropAround(H, W, windowRect(at.row, at.col), 15);
    const dBounds = cropAround(oh, ow, [at.row, at.col, at.row + 1, at.col + 1], 9);
    zoomBounds = { gx: gxBounds, delta: dBounds };
    const span = ([r0, c0, r1, c1]) => `rows ${r0}–${r1 - 1}, cols ${c0}–${c1 - 1}`;
    const toD = zooms.delta.show({
      data: arrays.grad_output.subarray(0, oh * ow), W: ow, bounds: dBounds, map: MAPS.diverging, range: ranges.delta,
      skipZero: true, text: `δ, ${span(dBounds)}: the 1 at y[${at.row}, ${at.col}]`,
    });
    zooms.delta.view.box(...toD(at.row, at.col), 1, 1, { lineWidth: 3 });
    const toX = zooms.gx.show({
      data: plane(arrays.grad_input, c), W, bounds: gxBounds, map: MAPS.diverging, range: ranges.gx,
      skipZero: true, text: `∂L/∂x, ${span(gxBounds)}: the stamp (K on the window y[${at.row}, ${at.col}] read)`,
    });
    for (const [r, col] of taps(at.row, at.col)) zooms.gx.view.box(...toX(r, col), 1, 1, { lineWidth: 2 });
  }


  /** Taps (row, col) of the input that output (i, j) reads, inside the image. */
  function taps(i, j) {
    const { s, H, W, kh, kw, answer } = data;
    const [top, , left] = answer.pads;
    const [sh, sw] = s["bw.s"];
    const [dh, dw] = s["bw.d"];
    const out = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const r = i * sh - top + a * dh;
        const col = j * sw - left + b * dw;
        if (r >= 0 && r < H && col >= 0 && col < W) out.push([r, col]);
      }
    }
    return out;
  }

  function overlays() {
    if (!data) return;
    const { answer, c, H, W, oh, ow, kh, kw } = data;
    const { arrays } = answer;
    for (const v of Object.values(views)) v.drawGrid();
    drawNumbers(views.x, plane(arrays.input, c), { digits: 2, minCell: 18 });
    drawNumbers(views.delta, arrays.grad_output.subarray(0, oh * ow), { skipZero: data.s["bw.delta"] === "one_hot", minCell: 15 });
    drawNumbers(views.y, arrays.output.subarray(0, oh * ow), { digits: 2, minCell: 13 });
    drawNumbers(views.gw, arrays.grad_weight.subarray(c * kh * kw, (c + 1) * kh * kw), { digits: 3, minCell: 13 });
    drawNumbers(views.gx, plane(arrays.grad_input, c), { skipZero: true, digits: 2, minCell: 13 });
    const at = (hover?.kind === "out" && inside(hover.cell, oh, ow) ? hover.cell : null) ?? selected();
    if (at) {
      for (const [r, col] of taps(at.row, at.col)) {
        views.x.box(r, col, 1, 1, { lineWidth: 2 });
        views.gx.box(r, col, 1, 1, { lineWidth: 2 });
      }
      views.y.box(at.row, at.col, 1, 1, { lineWidth: 3 });
      views.delta.box(at.row, at.col, 1, 1, { lineWidth: 3 });
    }
    if (zoomBounds) {
      // Where the magnifier looks, on the full maps: a box at least ~10 CSS px across.
      for (const [v, bounds] of [[views.delta, zoomBounds.delta], [views.gx, zoomBounds.gx], [views.x, zoomBounds.gx]]) markRegion(v, bounds);
    }
    readouts();
    void H;
    void W;
  }

  const inside = (cell, h, w) => cell && cell.row < h && cell.col < w;

  /**
   * The line under the maps, the tooltip and the row/column box, from the data on
   * screen and the state it was drawn for: the hovered cell while the mouse is on a
   * map, else the one-hot's place. Called after every draw, so none of them is stale.
   */
  function readouts() {
    const { oh, ow } = data;
    const sel = selected();
    const lines = hover ? hoverLines(hover) : null;
    if (lines) {
      showTooltip(hover.event, lines);
      hoverLine.textContent = lines.join(" · ");
      return;
    }
    if (hover) hideTooltip();
    hoverLine.dataset.cell = sel ? `${sel.row},${sel.col}` : "";
    if (sel) {
      const t = sel.row * ow + sel.col;
      const { arrays } = data.answer;
      hoverLine.textContent = `Chosen: δ = 1 at y[${sel.row}, ${sel.col}] only (every other δ is 0) · ` +
        `y[${sel.row}, ${sel.col}] = ${fmt(arrays.output[t], 4)} · δ = ${fmt(arrays.grad_output[t], 4)} · hover any cell to read it`;
    } else {
      hoverLine.textContent = "Hover any cell to read it; click a pixel of y or δ (or type its row and column) for a one-hot δ there.";
    }
  }

  /** The tooltip lines of the hovered cell, from the data on screen (null when it left the map). */
  function hoverLines({ kind, cell }) {
    const { c, H, W, oh, ow, kh, kw, answer, kernel } = data;
    if (kind === "out") {
      if (!inside(cell, oh, ow)) return null;
      const t = cell.row * ow + cell.col;
      return [`y[${cell.row}, ${cell.col}] = ${fmt(answer.arrays.output[t], 4)}`, `δ = ${fmt(answer.arrays.grad_output[t], 4)}`, "click: one-hot δ here"];
    }
    if (kind === "in") {
      if (!inside(cell, H, W)) return null;
      const i = c * H * W + cell.row * W + cell.col;
      return [`x[${cell.row}, ${cell.col}] = ${fmt(answer.arrays.input[i], 4)}`, `∂L/∂x = ${fmt(answer.arrays.grad_input[i], 4)}`];
    }
    if (!inside(cell, kh, kw)) return null;
    const v = answer.arrays.grad_weight[c * kh * kw + cell.row * kw + cell.col];
    return [`∂L/∂K[${cell.row}, ${cell.col}] = ${fmt(v, 5)}`, `K[${cell.row}, ${cell.col}] = ${fmt(kernel[cell.row * kw + cell.col], 4)}`];
  }

  /** The one-hot position (when δ is one-hot), else nothing. */
  function selected() {
    if (!data || data.s["bw.delta"] !== "one_hot") return null;
    const idx = data.answer.one_hot;
    return idx ? { row: idx[1], col: idx[2] } : null;
  }

  const onHover = (kind) => (cell, event) => {
    hover = cell && data ? { kind, cell, event } : null;
    if (!hover) hideTooltip();
    overlays();
  };
  for (const v of [views.y, views.delta]) {
    v.onHover(onHover("out"));
    v.onClick((cell) => cell && onOutputClick(cell));
    keyboardCells(v, { get: selected, set: onOutputClick, label: "Output pixel for the one-hot δ" });
  }
  views.x.onHover(onHover("in"));
  views.gx.onHover(onHover("in"));
  views.gw.onHover(onHover("w"));

  return {
    draw,
    taps: (i, j) => (data ? taps(i, j) : []),
    /** The row/column box: the state's one-hot place (null: none) in an output of `size` [h, w]. */
    renderPicker: (at, size) => picker.render(at, size),
    setStale(on) {
      for (const v of Object.values(views)) v.wrap.classList.toggle("stale", on);
      hoverLine.classList.toggle("stale", on); // the line reads the maps on screen: dimmed with them
    },
  };
}
