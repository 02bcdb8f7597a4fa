// FGSM: the adversarial digit for the slider's ε, and held-out accuracy against ε.

import { MAPS } from "../../colormap.js";
import { el } from "../../ui.js";
import { digitCard, mapCard } from "./methods.js";

/** Original, perturbation (diverging, ±ε) and the adversarial digit. */
export function renderAdversarial(root, answer, digit, side) {
  root.replaceChildren();
  digitCard(root, digit, side, "the digit", 120);
  const eps = Math.max(answer.epsilon, 1e-6);
  mapCard(root, { title: `perturbation (±${answer.epsilon})`, values: answer.perturbation, h: side, w: side,
    map: MAPS.diverging, range: [-eps, eps], maxW: 120, testid: "fgsm-perturbation" });
  digitCard(root, Float32Array.from(answer.adversarial.flat()), side, "adversarial digit", 120);
}

/** One sentence: before → after, with ✓/✗ marks (not colour alone). `label`: the true label, or null (drawn). */
export function verdict(answer, label) {
  const p0 = answer.probabilities[answer.predicted];
  const p1 = answer.probabilities_after[answer.predicted_after];
  const change = `${answer.predicted} (${(p0 * 100).toFixed(1)} %) → ${answer.predicted_after} (${(p1 * 100).toFixed(1)} %) ` +
    `at ε = ${answer.epsilon}`;
  const right = label === null || label === undefined ? answer.predicted : label;
  if (answer.predicted !== right) return `${change}: it was already wrong (the label is ${label}); the step pushes it further away`;
  return answer.predicted_after === right ? `${change}: ✓ still right` : `${change}: ✗ fooled`;
}

/** Accuracy against ε as an SVG line; the slider's ε marked. */
export function drawCurve(svg, epsilons, accuracy, current = null) {
  const W = 420;
  const H = 170;
  const left = 40;
  const right = 12;
  const top = 10;
  const bottom = 32;
  const maxE = Math.max(...epsilons, 0.01);
  const x = (e) => left + ((W - left - right) * e) / maxE;
  const y = (a) => top + (H - top - bottom) * (1 - a);
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  };
  svg.replaceChildren();
  for (const a of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(node("line", { x1: left, x2: W - right, y1: y(a), y2: y(a), class: "grid" }));
    svg.append(node("text", { x: left - 4, y: y(a) + 3, "text-anchor": "end", class: "tick" }, `${a * 100}%`));
  }
  for (const e of epsilons.filter((_, i) => i % 2 === 0)) {
    svg.append(node("text", { x: x(e), y: H - bottom + 14, "text-anchor": "middle", class: "tick" }, String(e)));
  }
  svg.append(node("text", { x: (left + W - right) / 2, y: H - 3, "text-anchor": "middle", class: "axis-label" },
    "ε (each pixel moved by at most ε)"));
  const done = accuracy.length;
  if (done) {
    const pts = accuracy.map((a, i) => `${x(epsilons[i])},${y(a)}`).join(" ");
    svg.append(node("polyline", { points: pts, class: "acc-line" }));
    accuracy.forEach((a, i) => {
      const dot = node("circle", { cx: x(epsilons[i]), cy: y(a), r: 3, class: "acc-dot" });
      dot.append(node("title", {}, `ε = ${epsilons[i]}: ${(a * 100).toFixed(1)} % right`));
      svg.append(dot);
    });
  }
  if (current !== null && current <= maxE) {
    svg.append(node("line", { x1: x(current), x2: x(current), y1: top, y2: H - bottom, class: "current" }));
    svg.append(node("text", { x: x(current) + 3, y: top + 10, class: "tick" }, `ε = ${current}`));
  }
}

export function curveSummary(epsilons, accuracy) {
  if (!accuracy.length) return "";
  const last = accuracy.length - 1;
  return el("span", {}, `${(accuracy[0] * 100).toFixed(1)} % right at ε = 0, ` +
    `${(accuracy[last] * 100).toFixed(1)} % at ε = ${epsilons[last]}`);
}
