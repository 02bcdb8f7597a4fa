// The cascading randomisation test as a grid: one row per method, one column per step
// (trained, then the layers re-drawn from the top down), each map with its rank correlation ρ
// to the trained network's map.

import { MAPS } from "../../colormap.js";
import { MapView, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";
import { METHOD_NAMES } from "./methods.js";

const SIGNED = { saliency: true, smoothgrad: true, gradcam: false, occlusion: true };
const SHORT = { saliency: "Saliency", smoothgrad: "SmoothGrad", gradcam: "Grad-CAM", occlusion: "Occlusion" };

function rho(value) {
  return value === null || value === undefined ? "ρ —" : `ρ ${value.toFixed(2)}`;
}

export function renderSanity(root, answer) {
  const steps = answer.steps;
  const methods = Object.keys(steps[0].maps);
  const head = el("tr", {}, el("th", { scope: "col" }, "method"),
    ...steps.map((s, i) => el("th", { scope: "col" }, i === 0 ? "trained" : `+ ${s.label}`)));
  const rows = methods.map((m) => {
    const cells = steps.map((step) => {
      const values = step.maps[m];
      const h = values.length;
      const w = values[0].length;
      const td = el("td", { class: "inside-sanity-cell" });
      const view = new MapView(td, { label: `${METHOD_NAMES[m]} after randomising ${step.randomised.join(", ") || "nothing"}`,
        maxW: 64, maxH: 64 });
      const flat = Float32Array.from(values.flat());
      view.setData(flat, h, w, { map: SIGNED[m] ? MAPS.diverging : MAPS.viridis });
      view.onHover((cell, e) => (cell ? showTooltip(e, [`${METHOD_NAMES[m]}`, `value ${fmt(flat[cell.row * w + cell.col])}`]) :
        hideTooltip()));
      const r = step.rank_correlation[m];
      const low = r !== null && r < 0.5;
      td.append(el("span", { class: `inside-rho${low ? " low" : ""}`, "data-testid": `sanity-rho-${m}` },
        rho(r), el("span", { class: "hint" }, `|·| ${rho(step.rank_correlation_abs[m]).slice(2)}`)));
      return td;
    });
    return el("tr", {}, el("th", { scope: "row" }, SHORT[m]), ...cells);
  });
  const predicted = steps.map((s, i) => (i === 0 ? `answers ${s.predicted}` : `answers ${s.predicted}`));
  const foot = el("tr", { class: "inside-sanity-foot" }, el("th", { scope: "row" }, "the network"),
    ...predicted.map((t) => el("td", {}, t)));
  root.replaceChildren(
    el("p", { class: "inside-sanity-legend" }, "Columns: the trained network, then with the named layer also re-drawn at " +
      "random (top down, so the last column is an entirely random network)."),
    el("div", { class: "inside-sanity-scroll" },
      el("table", { class: "inside-sanity-table" }, el("thead", {}, head), el("tbody", {}, ...rows, foot))),
    el("p", { class: "hint" }, `Class explained: ${answer.target}. Each map has its own colour range (random layers ` +
      "change the scale). ρ on the signed maps, |·| on their absolute values; — marks a constant map (no ranks). " +
      "A map that keeps a high ρ after every layer is random was showing the digit, not the network."),
  );
}
