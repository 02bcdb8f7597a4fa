// The class's answers as bars: one column per round, side by side on one scale, every
// bar labelled with its value and count (no information by colour alone); after the
// reveal the right answer's bar carries a ✓ and each round says how many were right.
// Counts only, never names.

import { el } from "../../ui.js";

const MAX_BARS = 12;

/** The values to draw, in order: the choices, or the most-answered numbers (plus the answer) in numeric order. */
export function barValues(tally) {
  const seen = new Map();
  for (const round of tally.rounds) for (const [v, n] of Object.entries(round.counts)) seen.set(v, (seen.get(v) || 0) + n);
  // A JSON object's integer-like keys come out of Object.entries first, whatever the server's order:
  // the order comes from the choices, or from the numbers themselves.
  if (tally.choices) return { values: [...tally.choices], grouped: false };
  const all = [...seen.keys()].sort((a, b) => Number(a) - Number(b));
  if (all.length <= MAX_BARS) return { values: all, grouped: false };
  const keep = new Set([...seen.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_BARS - 1).map(([v]) => v));
  if (tally.answer !== undefined && tally.answer !== null) keep.add(tally.answer);
  return { values: all.filter((v) => keep.has(v)), grouped: true };
}

const ROUND_NAMES = { 1: "Round 1 · first prediction", 2: "Round 2 · after discussion" };

export function renderHistogram(root, tally) {
  if (!tally || !tally.rounds.length) {
    root.replaceChildren();
    return;
  }
  const { values, grouped } = barValues(tally);
  const shown = new Set(values);
  let top = 1;
  for (const round of tally.rounds) for (const n of Object.values(round.counts)) top = Math.max(top, n);
  const columns = tally.rounds.map((round) => {
    const rows = values.map((v) => {
      const n = round.counts[v] || 0;
      const right = tally.revealed && v === tally.answer;
      const bar = el("span", { class: "cm-bar" });
      bar.style.width = `${(100 * n) / top}%`;
      return el("li", { class: `cm-row${right ? " correct" : ""}`, "data-value": v, "data-count": n },
        el("span", { class: "cm-value" }, v, right ? el("span", { class: "cm-tick", "aria-label": " (the answer)" }, " ✓") : null),
        el("span", { class: "cm-track", "aria-hidden": "true" }, bar),
        el("span", { class: "cm-count" }, String(n)));
    });
    if (grouped) {
      const other = Object.entries(round.counts).filter(([v]) => !shown.has(v)).reduce((a, [, n]) => a + n, 0);
      if (other) rows.push(el("li", { class: "cm-row other", "data-value": "other", "data-count": other },
        el("span", { class: "cm-value" }, "other"), el("span", { class: "cm-track", "aria-hidden": "true" }), el("span", { class: "cm-count" }, String(other))));
    }
    const live = round.round === tally.round && !tally.revealed;
    const right = round.correct !== undefined && round.correct !== null
      ? ` · ${round.correct} of ${round.answered} right (${round.answered ? Math.round((100 * round.correct) / round.answered) : 0} %)` : "";
    return el("figure", { class: `cm-round${live ? " live" : ""}`, "data-round": round.round },
      el("figcaption", {}, el("strong", {}, ROUND_NAMES[round.round] || `Round ${round.round}`),
        el("span", { class: "cm-round-meta" }, ` · ${round.answered} answer${round.answered === 1 ? "" : "s"}${right}`)),
      el("ul", { class: "cm-bars", "aria-label": `${ROUND_NAMES[round.round] || `Round ${round.round}`}: answers and counts` }, ...rows));
  });
  root.replaceChildren(...columns);
  root.dataset.rounds = String(tally.rounds.length);
}
