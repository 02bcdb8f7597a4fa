// The held-out confusion matrix (rows: true digit, columns: the network's answer) and the
// digits of a chosen cell, most confident first. Counts are written in every cell; the
// diagonal is bold and framed, so colour is never the only cue.

import { MAPS, cssColor } from "../../colormap.js";
import { el } from "../../ui.js";
import { thumbnail } from "./digit.js";

/** Draw the matrix into `root`; onCell(t, p) when a cell is clicked. `selected` is "t,p" or "wrong". */
export function renderMatrix(root, confusion, selected, onCell) {
  const m = confusion.matrix;
  const k = m.length;
  const head = el("tr", {}, el("th", { scope: "col", class: "corner" }, "true ↓", el("br"), "answer →"),
    ...Array.from({ length: k }, (_, p) => el("th", { scope: "col" }, String(p))));
  const rows = m.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return el("tr", {}, el("th", { scope: "row" }, String(t)),
      ...row.map((count, p) => {
        const diagonal = t === p;
        const frac = count / total;
        const button = el("button", {
          type: "button",
          class: `cm-cell${diagonal ? " diag" : ""}${count ? "" : " zero"}${selected === `${t},${p}` ? " selected" : ""}`,
          "aria-label": `true ${t}, answered ${p}: ${count} digit${count === 1 ? "" : "s"}`,
          "aria-pressed": selected === `${t},${p}` ? "true" : "false",
          "data-testid": `cm-${t}-${p}`,
          disabled: count === 0,
          onclick: () => onCell(t, p),
        }, count ? String(count) : "·");
        if (count) {
          const c = cssColor(diagonal ? -frac : Math.min(1, frac * 2), MAPS.diverging, -1, 1);
          button.style.background = c.background;
          button.style.color = c.text;
        }
        return el("td", {}, button);
      }));
  });
  root.replaceChildren(el("table", { class: "cm-table" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

/** The indices in a cell ("t,p") or all misclassified ("wrong"), most confident answer first. */
export function cellDigits(confusion, selected) {
  const out = [];
  const { labels, predicted, confidence } = confusion;
  let t = null;
  let p = null;
  if (selected && selected !== "wrong") [t, p] = selected.split(",").map(Number);
  for (let i = 0; i < labels.length; i++) {
    if (t === null ? labels[i] !== predicted[i] : labels[i] === t && predicted[i] === p) out.push(i);
  }
  return out.sort((a, b) => confidence[b] - confidence[a]);
}

/** The chosen cell's digits as thumbnail buttons; onDigit(index). */
export function renderCell(root, confusion, set, selected, opened, onDigit, onShowWrong) {
  const digits = cellDigits(confusion, selected);
  const wrong = selected === "wrong";
  let title;
  if (wrong) title = `Misclassified: ${digits.length} of ${confusion.labels.length} held-out digits`;
  else {
    const [t, p] = selected.split(",");
    title = t === p ? `True ${t}, answered ${p} (right): ${digits.length}` : `True ${t}, answered ${p}: ${digits.length}`;
  }
  const list = el("div", { class: "inside-thumbs" });
  const shown = digits.slice(0, 60);
  for (const i of shown) {
    const label = confusion.labels[i];
    const answer = confusion.predicted[i];
    const pct = Math.round(confusion.confidence[i] * 100);
    const button = el("button", {
      type: "button",
      class: `inside-thumb-button${i === opened ? " opened" : ""}`,
      "data-testid": `inside-digit-${i}`,
      "aria-label": `held-out digit ${i}: label ${label}, answered ${answer} (${pct} %)`,
      title: `#${i}: label ${label}, answered ${answer} (${pct} %)`,
      onclick: () => onDigit(i),
    }, thumbnail(set, i), el("span", { class: "inside-thumb-caption" }, `${label}→${answer}`));
    list.append(button);
  }
  const parts = [el("p", { class: "inside-cell-title" }, title)];
  if (!wrong) parts.push(el("button", { type: "button", class: "inside-small-button", onclick: onShowWrong }, "show all misclassified"));
  if (digits.length > shown.length) parts.push(el("p", { class: "hint" }, `the first ${shown.length}, most confident first`));
  root.replaceChildren(...parts, list);
}
