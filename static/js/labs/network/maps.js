// Feature maps of every layer of the stack on the current image (from POST
// /api/network/forward): a row of small maps per layer, the first few channels each;
// a dense layer is a strip of units. Hover shows the value, click picks the unit.
// Keyboard (the maps region is focusable): arrows move the chosen unit, PageUp/PageDown
// change its channel, Shift+↑/↓ go to the previous/next layer, Enter picks a first unit.

import { autoMap } from "../../colormap.js";
import { cellUnder as cellAt, drawMap, fmt, sizeCanvas } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { shapeText } from "./summary.js";

const THUMB = 62; // CSS pixels of a map's longer side

export function mountMaps(root, { onUnit, current }) {
  const box = root.querySelector(".net-maps");
  const note = root.querySelector(".net-maps-note");
  let marks = [];

  box.addEventListener("keydown", (e) => {
    const keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Enter", "Home", "End"];
    if (!keys.includes(e.key) || !marks.length) return;
    const next = moved(current(), e.key, e.shiftKey);
    if (!next) return;
    e.preventDefault();
    onUnit(next);
    const m = marks.find((k) => k.layer === next[0] && (k.strip || k.ch === next[1]));
    m?.canvas.scrollIntoView({ block: "nearest" });
  });

  /** The unit one key press away from `unit` ([layer, channel, row, col]), or null. */
  function moved(unit, key, shift) {
    const layers = [...new Set(marks.map((m) => m.layer))];
    const first = marks[0];
    const centre = (m) => [m.layer, m.strip ? Math.floor(m.w / 2) : m.ch, m.strip ? 0 : Math.floor(m.h / 2), m.strip ? 0 : Math.floor(m.w / 2)];
    const mark = unit.length === 4 && marks.find((m) => m.layer === unit[0] && (m.strip || m.ch === unit[1]));
    if (!mark) return centre(first);
    let [layer, ch, r, c] = unit;
    const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
    if (shift && (key === "ArrowUp" || key === "ArrowDown")) {
      const at = layers.indexOf(layer) + (key === "ArrowUp" ? -1 : 1);
      if (at < 0 || at >= layers.length) return null;
      const target = marks.find((m) => m.layer === layers[at]);
      if (target.strip) return [target.layer, Math.round((c / Math.max(1, mark.w - 1)) * (target.w - 1)) || 0, 0, 0];
      const ch2 = mark.strip ? 0 : Math.min(ch, marks.filter((m) => m.layer === target.layer).length - 1);
      const scale = (v, from, to) => clamp(Math.round(((v + 0.5) / from) * to - 0.5), to);
      return [target.layer, ch2, scale(r, mark.h, target.h), scale(c, mark.w, target.w)];
    }
    if (mark.strip) {
      const d = { ArrowLeft: -1, ArrowRight: 1, PageUp: -8, PageDown: 8, Home: -Infinity, End: Infinity }[key] ?? 0;
      return d ? [layer, clamp(ch + d, mark.w), 0, 0] : null;
    }
    const channels = marks.filter((m) => m.layer === layer).length;
    if (key === "PageUp" || key === "PageDown") return [layer, clamp(ch + (key === "PageUp" ? -1 : 1), channels), r, c];
    if (key === "Home") return [layer, ch, 0, 0];
    if (key === "End") return [layer, ch, mark.h - 1, mark.w - 1];
    if (key === "ArrowUp") r -= 1;
    if (key === "ArrowDown") r += 1;
    if (key === "ArrowLeft") c -= 1;
    if (key === "ArrowRight") c += 1;
    return key === "Enter" ? null : [layer, ch, clamp(r, mark.h), clamp(c, mark.w)];
  }

  function thumb(layerIndex, ch, data, h, w, range, map) {
    const canvas = el("canvas", { class: "net-map", "data-testid": `net-map-${layerIndex}-${ch}`, role: "img", "aria-label": `layer ${layerIndex + 1}, channel ${ch}` });
    drawMap(canvas, data, h, w, { map, range });
    const scale = THUMB / Math.max(h, w);
    const cssScale = scale >= 1 ? Math.max(1, Math.floor(scale)) : scale;
    sizeCanvas(canvas, w * cssScale, h * cssScale, { sharp: false });
    const mark = el("div", { class: "net-unit-mark", hidden: true });
    const wrap = el("div", { class: "net-map-wrap" }, canvas, mark);
    canvas.addEventListener("mousemove", (e) => {
      const cell = cellAt(canvas, e, h, w);
      if (!cell) return hideTooltip();
      showTooltip(e, [`layer ${layerIndex + 1}, channel ${ch}, (${cell.row}, ${cell.col})`, `value ${fmt(data[cell.row * w + cell.col])}`, "click: its receptive fields"]);
    });
    canvas.addEventListener("mouseleave", hideTooltip);
    canvas.addEventListener("click", (e) => {
      const cell = cellAt(canvas, e, h, w);
      if (cell) onUnit([layerIndex, ch, cell.row, cell.col]);
    });
    marks.push({ layer: layerIndex, ch, mark, h, w, canvas });
    return el("figure", { class: "net-map-card" }, wrap, el("figcaption", {}, `ch ${ch}`));
  }

  function strip(layerIndex, data, n, range, map) {
    const canvas = el("canvas", { class: "net-map net-strip", "data-testid": `net-map-${layerIndex}-0`, role: "img", "aria-label": `layer ${layerIndex + 1}, ${n} units` });
    drawMap(canvas, data, 1, n, { map, range });
    const cell = Math.max(4, Math.min(14, Math.floor(280 / n)));
    sizeCanvas(canvas, n * cell, 14, { sharp: false });
    canvas.addEventListener("mousemove", (e) => {
      const c = cellAt(canvas, e, 1, n);
      if (c) showTooltip(e, [`layer ${layerIndex + 1}, unit ${c.col}`, `value ${fmt(data[c.col])}`, "click: its receptive fields"]);
    });
    canvas.addEventListener("mouseleave", hideTooltip);
    canvas.addEventListener("click", (e) => {
      const c = cellAt(canvas, e, 1, n);
      if (c) onUnit([layerIndex, c.col, 0, 0]);
    });
    const mark = el("div", { class: "net-unit-mark", hidden: true });
    marks.push({ layer: layerIndex, strip: true, mark, h: 1, w: n, canvas });
    return el("div", { class: "net-map-wrap" }, canvas, mark);
  }

  /** answer: decoded CLB1 from /api/network/forward; rows: the summary's rows (name, true output shape). */
  function render(answer, rows_) {
    marks = [];
    const rows = [];
    for (const info of answer.layers) {
      const arr = answer.arrays[`layer${info.index}`];
      if (!arr) continue;
      // The summary's shape is the real one; the run may be narrower (widths capped for speed).
      const row = rows_[info.index] || {};
      const shape = row.output_shape || info.shape;
      const run = info.shape[0] < shape[0] ? `; run ${info.shape[0]} wide` : "";
      const caption = `${info.index + 1} · ${row.name || info.type} → ${shapeText(shape)}` +
        (info.shown < shape[0] ? ` (first ${info.shown} of ${shape[0]} shown${run})` : "");
      const range = info.range && info.range[0] < 0 ? [-Math.max(-info.range[0], info.range[1]), Math.max(-info.range[0], info.range[1])] : info.range;
      const map = autoMap(info.range || [0]);
      let items;
      if (arr.shape.length === 1) {
        items = [strip(info.index, arr, arr.shape[0], range && range[0] === range[1] ? null : range, map)];
      } else {
        const [c, h, w] = arr.shape;
        items = [];
        for (let ch = 0; ch < c; ch++) items.push(thumb(info.index, ch, arr.subarray(ch * h * w, (ch + 1) * h * w), h, w, range && range[0] === range[1] ? null : range, map));
      }
      rows.push(el("section", { class: "net-layer-maps", "data-layer": info.index }, el("h3", { class: "map-caption" }, caption), el("div", { class: "net-map-row" }, items)));
    }
    box.replaceChildren(...rows);
    box.classList.remove("stale");
    const parts = [];
    if (answer.width_cap) parts.push(`Widths capped at ${answer.width_cap} filters/units per layer so every layer stays fast; shapes of the maps are exact.`);
    if (answer.note) parts.push(`First conv layer: ${answer.note}.`);
    note.textContent = parts.join(" ");
  }

  /** Ring the chosen unit in its map (unit = [layer, channel, row, col]). */
  function markUnit(unit) {
    for (const m of marks) {
      const on = unit.length === 4 && m.layer === unit[0] && (m.strip || m.ch === unit[1]);
      m.mark.hidden = !on;
      if (!on) continue;
      const r = m.strip ? 0 : unit[2];
      const c = m.strip ? unit[1] : unit[3];
      const cw = parseFloat(m.canvas.style.width) / m.w;
      const chh = parseFloat(m.canvas.style.height) / m.h;
      Object.assign(m.mark.style, { left: `${c * cw - 1}px`, top: `${r * chh - 1}px`, width: `${Math.max(cw, 3) + 2}px`, height: `${Math.max(chh, 3) + 2}px` });
    }
  }

  return { render, markUnit, stale: () => box.classList.add("stale") };
}
