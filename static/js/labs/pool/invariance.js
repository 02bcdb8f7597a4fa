// The invariance demo: shift the input by 0 … window−1 pixels and show, per shift,
// the fraction of the pooled output that stayed the same (bars with numbers,
// against the raw pixels as a baseline) and a picture of the chosen shift with the
// changed outputs crossed out.

import { autoMap, MAPS } from "../../colormap.js";
import { MapView } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { fmt } from "../../heatmap.js";
import { crossCells, fitView } from "./overlay.js";
import { plane } from "./views.js";

const BOX = 200;
const pct = (f) => `${(100 * f).toFixed(f > 0.999 && f < 1 ? 1 : 0)} %`;

/** A bar of width fraction·100 % (set through the CSSOM: the page's CSP forbids style attributes). */
function bar(kind, fraction) {
  const node = el("div", { class: `pool-bar ${kind}` });
  node.style.width = `${(100 * fraction).toFixed(2)}%`;
  return node;
}

export function mountInvariance(root, { onPickShift }) {
  const bars = root.querySelector(".pool-bars");
  const pick = root.querySelector(".pool-inv-pick");
  const caption = root.querySelector(".pool-inv-caption");
  const view = new MapView(root.querySelector(".pool-inv-map"), {
    testid: "pool-invariance-map",
    label: "Pooled output of the shifted input; changed cells crossed out",
    maxW: BOX,
    maxH: BOX,
  });
  let last = null;
  let shown = null; // {values, flags, ow, shift} of the picture on screen
  view.onHover((cell, event) => {
    if (!cell || !shown) return hideTooltip();
    const t = cell.row * shown.ow + cell.col;
    showTooltip(event, [`y[${cell.row}, ${cell.col}] after a ${shown.shift} px shift = ${fmt(shown.values[t], 4)}`,
      shown.flags[t] ? "changed" : "unchanged"]);
  });

  function draw(answer, s) {
    last = { answer, s };
    const { shifts, unchanged, pixels_unchanged: pixels } = answer;
    const dir = { x: "right", y: "down", xy: "diagonally" }[s["pool.axis"]];
    bars.replaceChildren(
      el("div", { class: "pool-bar-legend hint" },
        el("span", { class: "swatch pooled" }), " pooled output  ",
        el("span", { class: "swatch pixels" }), " raw pixels"),
      ...shifts.map((shift, n) =>
        el("div", { class: "pool-bar-row", dataset: { shift: String(shift), unchanged: unchanged[n].toFixed(6) } },
          el("span", { class: "pool-bar-label" }, `${shift} px`),
          el("div", { class: "pool-bar-track" },
            bar("pooled", unchanged[n]),
            bar("pixels", pixels[n])),
          el("span", { class: "pool-bar-value" }, `${pct(unchanged[n])} `, el("span", { class: "hint" }, `(${pct(pixels[n])})`)),
        )),
    );
    bars.setAttribute("aria-label", shifts.map((sh, n) => `shift ${sh} px ${dir}: ${pct(unchanged[n])} of the pooled output unchanged, ${pct(pixels[n])} of pixels`).join("; "));

    const chosen = Math.min(s["pool.shift"], shifts.length - 1);
    pick.replaceChildren(
      el("span", { class: "label" }, "Picture"),
      ...shifts.map((shift) =>
        el("button", {
          type: "button",
          "aria-pressed": String(shift === chosen),
          class: shift === chosen ? "primary" : "",
          onclick: () => onPickShift(shift),
        }, `${shift} px`)),
    );
    picture(chosen);
  }

  function picture(shift) {
    const { answer, s } = last;
    const { arrays } = answer;
    const [S, C, oh, ow] = arrays.pooled.shape;
    const c = Math.min(s["pool.ch"], C - 1);
    const size = C * oh * ow;
    const pooled = arrays.pooled.subarray(shift * size, (shift + 1) * size);
    pooled.shape = [C, oh, ow];
    const changed = arrays.changed.subarray(shift * size, (shift + 1) * size);
    changed.shape = [C, oh, ow];
    const values = plane(pooled, c);
    const flags = plane(changed, c);
    const cells = [];
    for (let t = 0; t < flags.length; t++) if (flags[t]) cells.push([Math.floor(t / ow), t % ow]);
    const dir = { x: "right", y: "down", xy: "diagonally" }[s["pool.axis"]];
    // Cells too small for a cross: show where it changed instead (black), not a picture buried in marks.
    const tiny = Math.min(BOX / ow, BOX / oh) < 6;
    if (tiny) {
      view.setData(Float32Array.from(flags, (f) => 1 - f), oh, ow, { map: MAPS.gray, range: [0, 1] });
      fitView(view, BOX, BOX);
      caption.textContent = `Input shifted ${shift} px ${dir}, then pooled: the ${cells.length} of ${oh * ow} outputs that changed, in black (white: unchanged).`;
    } else {
      const isImage = s["pool.src"] === "image";
      view.setData(values, oh, ow, { map: isImage ? MAPS.gray : autoMap(values), range: isImage ? [0, 1] : null });
      fitView(view, BOX, BOX);
      crossCells(view, cells);
      caption.textContent = `Input shifted ${shift} px ${dir}, then pooled: ✗ marks the ${cells.length} of ${oh * ow} outputs that changed.`;
    }
    view.canvas.dataset.changed = String(cells.length);
    shown = { values, flags, ow, shift };
    void S;
  }

  return {
    draw,
    setStale(on) {
      for (const node of [bars, view.wrap]) node.classList.toggle("stale", on);
    },
  };
}
