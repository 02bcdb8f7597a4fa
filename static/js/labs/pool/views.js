// The Pooling lab's pictures: the input with each window's winner marked, the
// pooled output, δ and the gradient routed back to the input (numbers printed on
// small maps). Renders from (data, state); reports hover and clicks.

import { MAPS, autoMap } from "../../colormap.js";
import { MapView, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { mountCellPicker } from "../../widgets/cell-picker.js";
import { windowOf, winners } from "./geometry.js";
import { cellPx, colorbar, drawNumbers, fitView, gridEvery, keyboardCells, markRegion, ringCells } from "./overlay.js";
import { cropAround, mountZoom } from "./zoom.js";

const BOX = 250; // input-sized maps
const OUT_BOX = 190; // output-sized maps

/** Channel c of a flat (C, H, W) array as a view of H·W values. */
export function plane(arr, c) {
  const [, h, w] = arr.shape;
  return arr.subarray(c * h * w, (c + 1) * h * w);
}

export function mountPoolViews(root, { onOutputClick }) {
  const $ = (sel) => root.querySelector(sel);
  const make = (sel, testid, label, box) => new MapView($(sel), { testid, label, maxW: box, maxH: box });
  const views = {
    input: make(".pool-input-map", "pool-input", "Input map with each window's winner ringed", BOX),
    output: make(".pool-output-map", "pool-output", "Pooled output", OUT_BOX),
    delta: make(".pool-delta-map", "pool-delta", "Upstream gradient δ", OUT_BOX),
    grad: make(".pool-grad-map", "pool-grad-input", "Gradient routed back to the input", BOX),
  };
  const boxOf = (key) => (key === "input" || key === "grad" ? BOX : OUT_BOX);
  const captions = {
    input: $(".pool-input-caption"),
    output: $(".pool-output-caption"),
    delta: $(".pool-delta-caption"),
    grad: $(".pool-grad-caption"),
  };
  const hoverLine = $(".pool-hover");
  const winnersList = $(".pool-winners");
  const zoomRow = $(".pool-zoom-row");
  const zooms = {
    input: mountZoom($(".pool-zoom-maps"), { testid: "pool-zoom-input", label: "Input near the chosen window, magnified, winners ringed", name: "x" }),
    grad: mountZoom($(".pool-zoom-maps"), { testid: "pool-zoom-grad", label: "∂L/∂x near the chosen window, magnified", name: "∂L/∂x" }),
  };
  let data = null; // last good answer + the state it was drawn for
  let hoverOut = null;
  let hoverIn = null; // {cell, event} of the input-sized map under the mouse
  let hoverEvent = null; // the last pointer event over an output-sized map
  const picker = mountCellPicker($(".pool-cell-picker"), {
    testid: "pool-cell", label: "Output cell",
    onPick: ([row, col]) => onOutputClick({ row, col }),
  });

  function caption(key, text, map, lo, hi) {
    captions[key].replaceChildren(el("span", {}, text), colorbar(map, lo, hi));
  }

  function draw(answer, s) {
    const { arrays } = answer;
    const [C, H, W] = answer.input_shape;
    const [, oh, ow] = answer.output_shape;
    const c = Math.min(s["pool.ch"], C - 1);
    data = { answer, s, c, C, H, W, oh, ow, k: s["pool.k"], st: s["pool.s"], p: s["pool.p"], ranges: {} };

    const x = plane(arrays.input, c);
    const isImage = s["pool.src"] === "image";
    const map = isImage ? MAPS.gray : autoMap(x);
    const range = isImage ? [0, 1] : null;
    const [lo, hi] = views.input.setData(x, H, W, { map, range });
    views.output.setData(plane(arrays.output, c), oh, ow, { map, range: [lo, hi] });
    const [dlo, dhi] = views.delta.setData(plane(arrays.grad_output, c), oh, ow, { map: MAPS.diverging });
    const [glo, ghi] = views.grad.setData(plane(arrays.grad_input, c), H, W, { map: MAPS.diverging });
    data.ranges = { input: [lo, hi], grad: [glo, ghi], map };
    for (const [key, v] of Object.entries(views)) fitView(v, boxOf(key), boxOf(key));

    const chan = C > 1 ? `, channel ${c}` : "";
    const what = { image: "image", sobel_mag: "Sobel magnitude", sobel_x: "Sobel x", sobel_y: "Sobel y" }[s["pool.src"]];
    caption("input", `Input x (${what}${chan}): ${H} × ${W}`, map, lo, hi);
    caption("output", `${s["pool.kind"] === "max" ? "Max" : "Average"}-pooled y: ${oh} × ${ow}`, map, lo, hi);
    const deltaName = { ones: "all ones", one_hot: "one-hot", random: "seeded random" }[s["pool.delta"]];
    caption("delta", `δ = ∂L/∂y (${deltaName}): ${oh} × ${ow}`, MAPS.diverging, dlo, dhi);
    caption("grad", `∂L/∂x, δ routed back: ${H} × ${W}`, MAPS.diverging, glo, ghi);
    views.input.canvas.dataset.winners = "";
    overlays();
    listWinners();
  }

  /** Redraw every overlay (grid, winners, selection, numbers) from the last data. */
  function overlays() {
    if (!data) return;
    const { answer, s, c, H, W, oh, ow, k, st, p } = data;
    const { arrays } = answer;
    const sel = selectedCell(s, oh, ow, hoverOut);
    for (const v of Object.values(views)) v.drawGrid();

    // Window boundaries when windows tile the input (stride = window).
    // (Only when a window is big enough on screen: dense dashes on a large image read as a pattern.)
    if (st[0] === k[0] && st[1] === k[1] && cellPx(views.input) * Math.min(k[0], k[1]) >= 8) gridEvery(views.input, st, [-p[0] + k[0], -p[1] + k[1]]);
    const small = cellPx(views.input) < 8;
    if (arrays.argmax) {
      const cells = winners(arrays.argmax, c, oh, ow, W);
      if (!small) ringCells(views.input, cells);
      views.input.canvas.dataset.winners = cells.map(([r, col]) => `${r},${col}`).join(" ");
      views.input.canvas.setAttribute("aria-label", `Input map; ${cells.length} cells won at least one window (ringed)`);
    }
    drawNumbers(views.output, plane(arrays.output, c), { digits: 2, minCell: 20 });
    drawNumbers(views.delta, plane(arrays.grad_output, c), { digits: 2, minCell: 16 });
    drawNumbers(views.grad, plane(arrays.grad_input, c), { skipZero: true, digits: 2, minCell: 14 });
    if (sel) {
      const [r0, c0, r1, c1] = windowOf(sel.row, sel.col, H, W, k, st, p);
      for (const v of [views.input, views.grad]) v.box(r0, c0, r1 - r0, c1 - c0, { lineWidth: 3 });
      for (const v of [views.output, views.delta]) {
        v.box(sel.row, sel.col, 1, 1, { lineWidth: 3 });
        if (cellPx(v) < 8) markRegion(v, [sel.row, sel.col, sel.row + 1, sel.col + 1]);
      }
    }
    zoom(small ? sel ?? { row: Math.floor(oh / 2), col: Math.floor(ow / 2) } : null);
    markTies(sel);
    if (hoverIn) return inputHover(hoverIn.cell, hoverIn.event);
    const lines = sel ? outputLines(sel) : null;
    // New numbers under a still mouse: the tooltip is rewritten from them, never left stale.
    if (hoverOut && hoverEvent) showTooltip(hoverEvent, lines);
    hoverLine.dataset.cell = sel ? `${sel.row},${sel.col}` : "";
    hoverLine.textContent = lines
      ? `${hoverOut ? "" : "Chosen: "}${lines.join(" · ")}`
      : "Hover a cell to read it; click an output cell (or type its row and column) to see its window.";
  }

  /**
   * The winner of output cell `sel`'s window and how many cells tie with it:
   * {flat, r, c, value, tied: [[r, c], …] (the others holding the same maximum)}.
   */
  function winnerOf(sel) {
    const { answer, c, H, W, oh, ow, k, st, p } = data;
    if (!answer.arrays.argmax) return null;
    const flat = answer.arrays.argmax[c * oh * ow + sel.row * ow + sel.col];
    const x = plane(answer.arrays.input, c);
    const [r0, c0, r1, c1] = windowOf(sel.row, sel.col, H, W, k, st, p);
    const tied = [];
    for (let r = r0; r < r1; r++) for (let col = c0; col < c1; col++) {
      if (r * W + col !== flat && x[r * W + col] === x[flat]) tied.push([r, col]);
    }
    return { flat, r: Math.floor(flat / W), c: flat % W, value: x[flat], tied };
  }

  /** The words of output cell `sel`: value, window, winner (and its ties), δ. */
  function outputLines(sel) {
    const { answer, c, H, W, oh, ow, k, st, p } = data;
    const t = c * oh * ow + sel.row * ow + sel.col;
    const [r0, c0, r1, c1] = windowOf(sel.row, sel.col, H, W, k, st, p);
    const lines = [`y[${sel.row}, ${sel.col}] = ${fmt(answer.arrays.output[t], 4)}`, `window rows ${r0}–${r1 - 1}, cols ${c0}–${c1 - 1}`];
    const win = winnerOf(sel);
    if (win) {
      lines.push(win.tied.length
        ? `winner x[${win.r}, ${win.c}]: a tie, ${win.tied.length + 1} cells hold ${fmt(win.value, 4)}; the first in reading order (left to right, top to bottom) wins`
        : `winner x[${win.r}, ${win.c}]`);
    }
    lines.push(`δ = ${fmt(answer.arrays.grad_output[t], 4)}`);
    return lines;
  }

  /** A dashed box on each cell that ties with the chosen window's winner (they hold the same value but lost). */
  function markTies(sel) {
    if (!sel || !data.answer.arrays.argmax) return;
    const win = winnerOf(sel);
    views.input.canvas.dataset.ties = win ? win.tied.map(([r, col]) => `${r},${col}`).join(" ") : "";
    if (!win?.tied.length || cellPx(views.input) < 8) return;
    dashedBoxes(views.input, win.tied);
  }

  /** A dashed square (black on white: visible on any colour) inside each cell of `cells`. */
  function dashedBoxes(view, cells) {
    const ctx = view.cellContext();
    for (const [r, col] of cells) view.box(r + 0.2, col + 0.2, 0.6, 0.6, { lineWidth: 3, color: "#fff" });
    ctx.setLineDash([0.12, 0.08]);
    for (const [r, col] of cells) view.box(r + 0.2, col + 0.2, 0.6, 0.6, { lineWidth: 2, color: "#111" });
    ctx.setLineDash([]);
  }

  /** Magnify input and ∂L/∂x around output `at`'s window (winners ringed, numbers printed), or hide. */
  function zoom(at) {
    zoomRow.hidden = !at;
    if (!at) return;
    const { answer, c, H, W, oh, ow, k, st, p, ranges } = data;
    const { arrays } = answer;
    const win = windowOf(at.row, at.col, H, W, k, st, p);
    const bounds = cropAround(H, W, win, 14, Math.max(k[0], k[1]));
    const span = `rows ${bounds[0]}–${bounds[2] - 1}, cols ${bounds[1]}–${bounds[3] - 1}`;
    const toCrop = zooms.input.show({ data: plane(arrays.input, c), W, bounds, map: ranges.map, range: ranges.input, digits: 2,
      text: `x, ${span}${arrays.argmax ? ": winners ringed" : ""}` });
    zooms.grad.show({ data: plane(arrays.grad_input, c), W, bounds, map: MAPS.diverging, range: ranges.grad, skipZero: true,
      text: `∂L/∂x, ${span}` });
    if (arrays.argmax) {
      const inside = winners(arrays.argmax, c, oh, ow, W)
        .filter(([r, col]) => r >= bounds[0] && r < bounds[2] && col >= bounds[1] && col < bounds[3])
        .map(([r, col]) => toCrop(r, col));
      ringCells(zooms.input.view, inside);
      // Cells that tie with the winner: dashed, so "four equal values, one ring" is visible here too.
      dashedBoxes(zooms.input.view, winnerOf(at).tied
        .filter(([r, col]) => r >= bounds[0] && r < bounds[2] && col >= bounds[1] && col < bounds[3])
        .map(([r, col]) => toCrop(r, col)));
    }
    const [r0, c0, r1, c1] = win;
    for (const z of [zooms.input, zooms.grad]) z.view.box(...toCrop(r0, c0), r1 - r0, c1 - c0, { lineWidth: 3 });
    for (const v of [views.input, views.grad]) markRegion(v, bounds);
  }

  function selectedCell(s, oh, ow, hover) {
    if (hover && hover.row < oh && hover.col < ow) return hover;
    const at = s["pool.at"];
    if (at.length === 2 && at[0] < oh && at[1] < ow) return { row: at[0], col: at[1] };
    // A one-hot δ without a click sits at the centre output (as the request does).
    if (s["pool.delta"] === "one_hot") return { row: Math.floor(oh / 2), col: Math.floor(ow / 2) };
    return null;
  }

  function listWinners() {
    const { answer, c, H, W, oh, ow } = data;
    const { arrays } = answer;
    if (!arrays.argmax) {
      winnersList.replaceChildren(Object.assign(document.createElement("li"), { textContent: "Average pooling has no winner: every cell of a window shares." }));
      return;
    }
    const x = plane(arrays.input, c);
    const items = [];
    const limit = Math.min(oh * ow, 64);
    for (let t = 0; t < limit; t++) {
      const flat = arrays.argmax[c * oh * ow + t];
      const r = Math.floor(flat / W);
      const col = flat % W;
      const li = document.createElement("li");
      li.textContent = `window (${Math.floor(t / ow)}, ${t % ow}) → winner x[${r}, ${col}] = ${fmt(x[flat], 3)}`;
      li.dataset.window = `${Math.floor(t / ow)},${t % ow}`;
      li.dataset.winner = `${r},${col}`;
      items.push(li);
    }
    if (oh * ow > limit) items.push(Object.assign(document.createElement("li"), { textContent: `… and ${oh * ow - limit} more windows` }));
    winnersList.replaceChildren(...items);
  }

  function readout(event, lines) {
    hoverLine.textContent = lines.join(" · ");
    showTooltip(event, lines);
  }

  // --- hover and click ---------------------------------------------------------------
  const outputHover = (cell, event) => {
    hoverOut = cell && data ? cell : null;
    hoverEvent = event;
    if (!hoverOut) hideTooltip();
    overlays(); // the line under the maps (and the tooltip) follow the hovered cell, then the chosen one again
  };
  views.output.onHover(outputHover);
  views.delta.onHover(outputHover);
  for (const v of [views.output, views.delta]) {
    v.onClick((cell) => cell && onOutputClick(cell));
    keyboardCells(v, { get: () => (data ? selectedCell(data.s, data.oh, data.ow, null) : null), set: onOutputClick, label: "Output cell" });
  }

  function inputHover(cell, event) {
    hoverIn = cell && data ? { cell, event } : null;
    if (!hoverIn) {
      hideTooltip();
      return overlays();
    }
    const { answer, c, H, W, oh, ow } = data;
    const i = c * H * W + cell.row * W + cell.col;
    const lines = [`x[${cell.row}, ${cell.col}] = ${fmt(answer.arrays.input[i], 4)}`, `∂L/∂x = ${fmt(answer.arrays.grad_input[i], 4)}`];
    if (answer.arrays.argmax) {
      let won = 0;
      const flat = cell.row * W + cell.col;
      for (let t = 0; t < oh * ow; t++) if (answer.arrays.argmax[c * oh * ow + t] === flat) won++;
      lines.push(won ? `won ${won} window${won > 1 ? "s" : ""}` : "won no window");
    }
    readout(event, lines);
  }
  views.input.onHover(inputHover);
  views.grad.onHover(inputHover);

  return {
    draw,
    overlays,
    /** The row/column box: the state's chosen output cell (null: none) in an output of `size` [h, w]. */
    renderPicker: (at, size) => picker.render(at, size),
    setStale(on) {
      for (const v of Object.values(views)) v.wrap.classList.toggle("stale", on);
    },
    get drawn() {
      return data !== null;
    },
  };
}
