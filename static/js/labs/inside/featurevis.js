// Feature visualisation: the plain and the regularised ascent side by side, and the nine
// held-out digits that excite the same unit most.

import { el } from "../../ui.js";
import { digitCard } from "./methods.js";
import { thumbnail } from "./digit.js";

const KIND_WORDS = { filter: "filter", unit: "unit", class: "class" };

/** Options for the layer select from the network's unit layers. */
export function layerOptions(select, units, value) {
  select.replaceChildren(...units.map((u) => el("option", { value: u.layer },
    u.kind === "class" ? `class (${u.layer} logit)` : `${u.layer} ${KIND_WORDS[u.kind]} (0–${u.units - 1})`)));
  if (units.some((u) => u.layer === value)) select.value = value;
}

export function renderImages(root, line, side) {
  root.replaceChildren();
  const [plain, regularised] = line.objective;
  digitCard(root, Float32Array.from(line.plain.flat()), side, `no regularisation: ${plain.toFixed(2)}`, 140);
  digitCard(root, Float32Array.from(line.regularised.flat()), side, `jitter + L2 + blur: ${regularised.toFixed(2)}`, 140);
}

export function renderTop(root, top, set, onDigit) {
  root.replaceChildren(...top.map((d) => el("button", {
    type: "button",
    class: "inside-thumb-button",
    "aria-label": `held-out digit ${d.index}, label ${d.label}, value ${d.score.toFixed(2)}`,
    title: `#${d.index}: label ${d.label}, answered ${d.predicted}, value ${d.score.toFixed(2)}`,
    onclick: () => onDigit(d.index),
  }, thumbnail(set, d.index), el("span", { class: "inside-thumb-caption" }, `${d.label}: ${d.score.toFixed(1)}`))));
}
