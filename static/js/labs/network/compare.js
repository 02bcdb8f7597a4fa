// The chapter's comparison of one 5×5 convolution with two stacked 3×3 ones (same
// 5×5 receptive field), as two one-click presets and a note with the numbers. The
// comparison is fair only at equal channel counts (C → C for every layer): at input
// depth 1 the lone 5×5 reads one channel while the pair's second layer reads C,
// which makes the pair look an order of magnitude dearer for a reason that has
// nothing to do with kernel size.

import { convMacs, convParams } from "../../shape.js";
import { el } from "../../ui.js";

const C = 32;
const SIDE = 28;

/** Presets of the page (not the server's): id -> {name, input, stack}. */
export const COMPARE_PRESETS = {
  "pair-3x3": { name: `Two 3×3 convs (${C} ch)`, input: `${C}x${SIDE}x${SIDE}`, stack: `c${C}.k3.same_c${C}.k3.same` },
  "single-5x5": { name: `One 5×5 conv (${C} ch)`, input: `${C}x${SIDE}x${SIDE}`, stack: `c${C}.k5.same` },
};

const n = (v) => Math.round(v).toLocaleString("en-US");

/** Parameters and multiply-adds of one 5×5 and of two 3×3 ("same" padding) on cIn channels, `filters` each. */
export function compareCosts(cIn, filters, h = SIDE, w = SIDE) {
  const single = { params: convParams(cIn, filters, 5, 5), macs: convMacs(h, w, filters, cIn, 5, 5) };
  const pair = {
    params: convParams(cIn, filters, 3, 3) + convParams(filters, filters, 3, 3),
    macs: convMacs(h, w, filters, cIn, 3, 3) + convMacs(h, w, filters, filters, 3, 3),
  };
  return { single, pair };
}

/** Whether a stack string is one of the two stacks of the comparison (any channel count). */
export function isComparison(stack) {
  return /^c\d+\.k5\.same$/.test(stack) || /^c(\d+)\.k3\.same_c\1\.k3\.same$/.test(stack);
}

/** The note: both costs at equal channels, and why input depth 1 misleads. */
export function compareNote(inputShape, stack) {
  const [cIn, h, w] = inputShape;
  const filters = Number(/^c(\d+)/.exec(stack)?.[1] ?? C);
  const equal = compareCosts(filters, filters, h, w);
  const deep1 = compareCosts(1, filters, h, w);
  const saving = Math.round(100 * (1 - equal.pair.params / equal.single.params));
  const ratio = deep1.pair.params / deep1.single.params;
  return el("div", { class: "net-compare-note", "data-testid": "net-compare-note" },
    el("p", {}, el("strong", {}, `Same 5 × 5 receptive field (eq. 36.8), ${filters} → ${filters} channels: `),
      `one 5×5 conv ${n(equal.single.params)} parameters and ${n(equal.single.macs)} multiply-adds; ` +
      `two 3×3 convs ${n(equal.pair.params)} and ${n(equal.pair.macs)}, ${saving} % fewer, with a second ReLU between them. ` +
      "This is the chapter's reason to prefer small kernels and depth."),
    el("p", { class: "hint" },
      `Why input depth 1 misleads: from 1 channel the lone 5×5 has ${n(deep1.single.params)} parameters and the pair ${n(deep1.pair.params)}, ` +
      `${ratio.toFixed(1)}× more, because the pair's second layer reads ${filters} channels (${filters}·9 weights a filter) while the 5×5 reads one (25). ` +
      `That compares channel counts, not kernel sizes.${cIn === filters ? "" : ` (This stack's input has ${cIn} channel${cIn > 1 ? "s" : ""}.)`}`));
}
