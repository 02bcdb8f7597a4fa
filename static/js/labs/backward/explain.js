// The Backward lab's right column: the finite-difference check result and the
// words (with the one-hot stamp printed as numbers next to K).

import { fmt } from "../../heatmap.js";
import { el } from "../../ui.js";
import { kernelTable } from "./kernel.js";

const sci = (v) => (v === 0 ? "0" : v.toExponential(1).replace("e-", "e−"));

/** The chapter's own check (section 36.9 of the chapter, in R): its reported max difference. */
export const CHAPTER_MAX_DIFF = 1.48e-9;

/**
 * Render the gradcheck answer (or why there is none) into `box` and `detail`.
 *
 * Every row names the equation whose gradient it checks: eq. 36.9 (the weights,
 * ∂L/∂K = x ⋆ δ), the bias (Σ δ) and eq. 36.10 (the input, pad(δ) ⋆ flip(K)); the
 * analytic and numeric numbers of each are shown side by side below.
 */
export function renderCheck(box, detail, answer, enabled, { chapter = false, kh = 3, kw = 3 } = {}) {
  if (!enabled) {
    box.replaceChildren(el("span", { class: "hint" }, "Check off: tick “live check”."));
    detail.replaceChildren();
    return;
  }
  if (answer.gradcheck_skipped) {
    box.replaceChildren(el("div", { class: "warn" }, `Not checked: ${answer.gradcheck_skipped}`));
    detail.replaceChildren();
    return;
  }
  const g = answer.gradcheck;
  if (!g) return;
  const good = g.max_abs_diff < 1e-6 || g.max_rel_diff < 1e-7;
  const row = (testid, eq, what, diff) => el("tr", { "data-testid": testid },
    el("th", { scope: "row" }, el("span", { class: "bw-eq-label" }, eq), el("br"), el("span", { class: "hint" }, what)),
    el("td", { class: "bw-check-diff", dataset: { value: String(diff) } }, sci(diff)));
  box.replaceChildren(...[
    el("table", { class: "numbers bw-check-rows" },
      el("thead", {}, el("tr", {}, el("th", {}, "gradient checked"), el("th", {}, "max |analytic − numeric|"))),
      el("tbody", {},
        row("gradcheck-weights", "eq. 36.9: ∂L/∂K = x ⋆ δ", `all ${g.n_weights} weights`, g.max_abs_diff_weight),
        row("gradcheck-bias", "bias: ∂L/∂b = Σ δ", `${g.n_bias} bias`, g.max_abs_diff_bias),
        row("gradcheck-input", "eq. 36.10: ∂L/∂x = pad(δ) ⋆ flip(K)", `${g.n_input_pixels} input pixels (seeded sample)`, g.max_abs_diff_input))),
    el("div", { class: "bw-check-main" },
      el("span", { class: "label" }, "largest of the three: max |analytic − numeric| = "),
      el("span", { class: "big bw-check-value", dataset: { value: String(g.max_abs_diff) } }, sci(g.max_abs_diff))),
    el("div", {}, `step h = ${sci(g.step)} (central differences, float64) on the loss ${g.loss === "linear" ? "L = Σ δ·y" : "L = ½ Σ (y − t)²"}`),
    el("div", { class: good ? "ok" : "bad" }, good ? "the gradients agree" : "the gradients disagree"),
    chapter
      ? el("p", { class: "bw-chapter-note", "data-testid": "gradcheck-chapter" },
        `The chapter's check (eq. 36.9 on the same setup, its own random numbers) reports a max difference of ${CHAPTER_MAX_DIFF.toExponential(2).replace("e-", "e−")}; ` +
        `here eq. 36.9's row gives ${sci(g.max_abs_diff_weight)}. Both are rounding error, far below the gradients themselves: ` +
        "the weight gradient of a convolution is the convolution x ⋆ δ.")
      : null,
  ].filter(Boolean));
  detail.replaceChildren(
    sideBySide("gradcheck-weights-table", `eq. 36.9, weight by weight: analytic (x ⋆ δ) and numeric`, "K",
      g.weight_analytic.map((a, t) => [`[${Math.floor((t % (kh * kw)) / kw)},${t % kw}]${g.weight_analytic.length > kh * kw ? ` ch ${Math.floor(t / (kh * kw))}` : ""}`, a, g.weight_numeric[t]]),
      true),
    sideBySide("gradcheck-bias-table", "bias: analytic (Σ δ) and numeric", "b",
      g.bias_analytic.map((a, t) => [`[${t}]`, a, g.bias_numeric[t]])),
    sideBySide("gradcheck-input-table", `eq. 36.10 at the ${g.n_input_pixels} sampled pixels: analytic and numeric`, "x",
      g.input_analytic.map((a, t) => [`[${g.input_pixels[t].slice(1).join(",")}]${answer.input_shape[0] > 1 ? ` ch ${g.input_pixels[t][0]}` : ""}`, a, g.input_numeric[t]])),
    el("div", {}, `${g.evaluations} forward passes in ${fmt(g.seconds * 1000, 3)} ms. ` +
      "The loss is at most quadratic in every number, so central differences make no truncation error: " +
      "what is left is rounding, about 1e−16·|y| / h. Try a larger h."),
  );
}

/** Eight significant digits: enough to see analytic and numeric agree to ~1e−9 and where they part. */
const full = (v) => (v === 0 ? "0" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(8))) : v.toExponential(6)).replace("-", "−");

/** A foldable table: each checked number's analytic value, numeric value and their difference. */
function sideBySide(testid, title, name, rows, open = false) {
  return el("details", { class: "bw-pairs", "data-testid": testid, open },
    el("summary", {}, title),
    el("div", { class: "bw-pairs-scroll" }, el("table", { class: "numbers" },
      el("thead", {}, el("tr", {}, el("th", {}, name), el("th", {}, "analytic"), el("th", {}, "numeric"), el("th", {}, "|diff|"))),
      el("tbody", {}, ...rows.map(([where, a, n]) => el("tr", {},
        el("td", {}, where), el("td", {}, full(a)), el("td", {}, full(n)), el("td", {}, sci(Math.abs(a - n)))))))));
}

/** The words under the pictures, plus the one-hot stamp as numbers when there is one. */
export function renderExplain(box, s, answer, kernel, taps) {
  const [kh, kw] = answer.weight_shape.slice(2);
  const parts = [
    el("p", {}, "Forward, K slides over x (cross-correlation, eq. 36.2). Backward, the same sliding does two more jobs: " +
      "sliding δ over x gives the weight gradient (eq. 36.9: every position where K was used adds x·δ), and sliding the " +
      "flipped kernel over δ, zero-padded all round (a “full” convolution), gives the input gradient (eq. 36.10)."),
  ];
  const [sh, sw] = s["bw.s"];
  const [dh, dw] = s["bw.d"];
  if (s["bw.delta"] === "one_hot" && answer.one_hot) {
    const [, i, j] = answer.one_hot;
    const [C, H, W] = answer.input_shape;
    const c = Math.min(s["bw.ch"], C - 1);
    const top = answer.pads[0];
    const left = answer.pads[2];
    const r0 = i * sh - top;
    const c0 = j * sw - left;
    // The stamp: ∂L/∂x at the taps of output (i, j), laid out like K.
    const stamp = new Float64Array(kh * kw);
    const inside = new Set(taps.map(([r, col]) => `${r},${col}`));
    let clipped = false;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const r = r0 + a * dh;
        const col = c0 + b * dw;
        if (!inside.has(`${r},${col}`)) {
          clipped = true;
          stamp[a * kw + b] = Number.NaN;
          continue;
        }
        stamp[a * kw + b] = answer.arrays.grad_input[c * H * W + r * W + col];
      }
    }
    // With reflect/replicate/circular padding near the border the in-image stamp is K plus folded-back weights.
    let folded = false;
    for (let t = 0; t < kh * kw; t++) if (Number.isFinite(stamp[t]) && Math.abs(stamp[t] - kernel[t]) > 1e-6 * (1 + Math.abs(kernel[t]))) folded = true;
    const gap = dh > 1 || dw > 1 ? `, every ${dh === dw ? dh : `${dh}×${dw}`} pixels (dilation)` : "";
    parts.push(
      el("p", {}, `δ is 1 at y[${i}, ${j}] only. flip(K), sliding over the padded δ, meets that single 1 and writes itself ` +
        `out flipped back: ∂L/∂x holds K itself on the ${kh}×${kw} window that y[${i}, ${j}] read, starting at ` +
        `x[${r0}, ${c0}]${r0 < 0 || c0 < 0 ? " (in the padding)" : ""}${gap}. Each pixel's gradient is the weight it was multiplied by` +
        `${folded ? " (plus, here, the weights that read its padded copies: see below)" : ""}.`),
      el("div", { class: "bw-stamp-pair" },
        el("figure", { class: "map-card" }, el("figcaption", {}, `∂L/∂x on that window`),
          el("div", { "data-testid": "backward-stamp", dataset: { origin: `${r0},${c0}` } }, kernelTable(stamp, kh, kw, { caption: "stamp" }))),
        el("figure", { class: "map-card" }, el("figcaption", {}, "K"), kernelTable(kernel, kh, kw, { caption: "K" }))),
    );
    if (clipped) {
      // With reflect/replicate/circular padding, a padded cell is a copy of a real pixel: its
      // weight's gradient lands on that pixel too, so the in-image stamp can differ from K.
      parts.push(el("p", { class: folded ? "bw-folded" : "hint" }, folded
        ? `The window reaches into the ${s["bw.mode"]} padding (blank cells), and a padded cell is a copy of a real pixel: ` +
          "the weight that read the copy sends its gradient to that pixel as well. So here the stamp is K plus those " +
          "folded-back weights, not K alone; move the one-hot away from the border to see K itself."
        : "Blank cells of the stamp fall in the padding: with zero padding their gradient goes nowhere."));
    }
  } else if (s["bw.delta"] === "squared_error") {
    parts.push(el("p", {}, `Loss L = ½ Σ (y − t)² = ${fmt(answer.loss ?? 0, 5)}, so δ = y − t: where the layer already matches the target, δ is 0.`));
  } else if (s["bw.delta"] === "ones") {
    parts.push(el("p", {}, "With δ = 1 everywhere, ∂L/∂K[a, b] is the sum of x over every position that weight touched, and ∂L/∂x counts, with weights, how many windows saw each pixel: border pixels are seen less."));
  }
  if (sh > 1 || sw > 1) parts.push(el("p", { class: "hint" }, "With stride > 1 the windows skip pixels: δ is spread with gaps, and pixels no window reads get no gradient."));
  box.replaceChildren(...parts);
}
