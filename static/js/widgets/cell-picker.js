// A row/column box for a map that has a selection: the chosen cell as numbers a
// student can type, for cells too small to click (a 512 → 256 pooled photo has
// cells under one screen pixel), with the arrow-key hint beside it. It shows what
// the state holds (render) and reports typed values (onPick); it never keeps a
// selection of its own.

import { el } from "../ui.js";

/**
 * mountCellPicker(slot, {testid, label, axes, onPick}) appends the boxes to `slot`.
 *
 * axes: the coordinates in order, default ["row", "col"] (the Network lab adds
 * "layer" and "channel" in front). onPick(values) gets whole numbers clamped to
 * the ranges last given to render(). With nothing chosen yet, the boxes show `fallback()`
 * greyed (placeholders), and typing one box takes the others from it: one box is enough
 * to choose a cell. Returns {render(values | null, sizes), element}.
 */
export function mountCellPicker(slot, {
  testid, label = "Cell", axes = ["row", "col"], onPick, keys = "or focus the map and use the arrow keys", showRange = true,
  fallback = () => axes.map(() => 0),
}) {
  let sizes = axes.map(() => 0);
  let shown = null; // the values of the last render
  const inputs = axes.map((axis) => el("input", {
    type: "number", min: 0, step: 1, inputmode: "numeric", class: "cell-picker-box",
    "data-testid": `${testid}-${axis}`, "aria-label": `${label}: ${axis}`,
  }));
  const ranges = el("span", { class: "hint cell-picker-range", "data-testid": `${testid}-range` });
  const hint = el("span", { class: "hint cell-picker-keys", "data-testid": `${testid}-keys` }, keys);
  const element = el("div", { class: "cell-picker", role: "group", "aria-label": label, "data-testid": testid },
    el("span", { class: "cell-picker-label" }, label),
    ...axes.flatMap((axis, i) => [el("label", { class: "cell-picker-axis" }, axis, inputs[i])]),
    ranges, hint);
  slot.append(element);

  function commit() {
    const start = fallback();
    const values = inputs.map((input, i) => (input.value === "" && document.activeElement !== input ? start[i] : Number(input.value)));
    inputs.forEach((input, i) => {
      if (input.value === "" && document.activeElement !== input) input.value = String(values[i]);
    });
    const bad = values.map((v, i) => inputs[i].value === "" || !Number.isInteger(v) || v < 0 || (sizes[i] > 0 && v >= sizes[i]));
    inputs.forEach((input, i) => input.classList.toggle("invalid", bad[i]));
    if (bad.some(Boolean) || sizes.some((n) => n <= 0)) return;
    onPick(values);
  }
  for (const input of inputs) {
    input.addEventListener("input", commit);
    input.addEventListener("change", commit);
    input.addEventListener("focus", () => input.select());
    // Leaving the box shows the state again (a half-typed or out-of-range value is dropped).
    input.addEventListener("blur", () => showValues());
  }

  function showValues() {
    inputs.forEach((input, i) => {
      if (document.activeElement === input) return; // typing: the box keeps what is typed
      input.value = shown ? String(shown[i]) : "";
      input.classList.remove("invalid");
    });
  }

  return {
    element,
    /** Show `values` (the state's selection, or null for none) within `sizes` (cells per axis). */
    render(values, nextSizes) {
      sizes = nextSizes.map((n) => Math.max(0, n | 0));
      shown = values;
      const start = fallback();
      inputs.forEach((input, i) => {
        input.max = String(Math.max(0, sizes[i] - 1));
        input.disabled = sizes[i] <= 0;
        input.placeholder = sizes[i] > 0 ? String(start[i]) : "";
        input.title = sizes[i] > 0 ? `${axes[i]} 0 … ${sizes[i] - 1}` : "";
      });
      showValues();
      ranges.textContent = showRange && sizes.every((n) => n > 0) ? `(${axes.map((a, i) => `${a} 0–${sizes[i] - 1}`).join(", ")})` : "";
    },
  };
}
