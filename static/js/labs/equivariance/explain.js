// The Equivariance lab's words: a verdict on the current numbers, the reasons,
// and the stride sweep table.

import { fmt } from "../../heatmap.js";
import { el } from "../../ui.js";

/** Fill the explanation and the one-line verdict from an /api/equivariance answer. */
export function renderExplain(root, verdict, answer, s) {
  const stride = s["eq.stride"];
  const [oy, ox] = answer.output_shift;
  const circular = s["eq.mode"] === "circular";
  const lines = [];
  lines.push(
    "Each output cell is the same weighted sum of the pixels under the kernel. Move the picture and the " +
      "sums move with it: convolving the shifted image gives the shifted feature map, cell for cell.",
  );
  if (circular) {
    lines.push(
      "With circular padding the image is a torus and the shift a roll: nothing falls off an edge and nothing " +
        "new comes in, so both sides add exactly the same products in the same order. The difference is 0 to " +
        "the last bit, on the whole map.",
    );
  } else {
    lines.push(
      `With ${s["eq.mode"]} padding, cells near the border see padding on one side and real pixels on the ` +
        "other, and the shift pushes pixels out and zeros in. The difference lives in that border band; " +
        "inside the dashed box it is exactly 0.",
    );
  }
  if (stride > 1) {
    lines.push(
      `Stride ${stride} keeps one output position in ${stride} along each axis. An input shift of d pixels is an output shift of ` +
        `d / ${stride} cells, a whole number only when ${stride} divides d. Here (${s["eq.dy"]}, ${s["eq.dx"]}) ` +
        `px → (${oy}, ${ox}) cells${answer.exact_shift ? "" : " at best, rounded"}.`,
    );
  }
  if (s["eq.pool"] > 0) {
    lines.push(
      `Max pooling ${s["eq.pool"]}×${s["eq.pool"]} keeps only each window's largest value. A shift smaller ` +
        "than the window often leaves that winner inside the same window, so the pooled map does not change: " +
        "partial invariance.",
    );
  }
  root.replaceChildren(...lines.map((t) => el("p", {}, t)));

  const zeroWhole = answer.max_whole === 0;
  const zeroInterior = answer.max_interior === 0;
  let text;
  let cls;
  if (zeroWhole) {
    [text, cls] = ["Equivariant on the whole map: the difference is exactly 0.", "ok"];
  } else if (zeroInterior) {
    [text, cls] = ["Equivariant in the interior only: exactly 0 inside the dashed box, while the border band differs.", "warn"];
  } else if (!answer.exact_shift) {
    [text, cls] = [`Not equivariant: the shift is not a multiple of the stride ${stride}.`, "bad"];
  } else {
    [text, cls] = ["The interior is empty or differs: the shift is too large for this image.", "bad"];
  }
  verdict.className = `eq-verdict ${cls}`;
  verdict.textContent = text;
}

/** The stride sweep: max |difference| for horizontal shifts 0 … 2·stride. */
export function renderSweep(tbody, note, answer, s) {
  const rows = answer.sweep || [];
  const stride = s["eq.stride"];
  tbody.replaceChildren(
    ...rows.map((r) => {
      const q = Math.round(r.dx / stride);
      const tr = el(
        "tr",
        { class: r.exact_shift ? "eq-exact" : "eq-broken" },
        el("td", {}, String(r.dx)),
        el("td", {}, r.exact_shift ? String(r.dx / stride) : `${fmt(r.dx / stride, 3)} → ${q}`),
        el("td", {}, r.max_interior === null ? "—" : fmt(r.max_interior, 3)),
        el("td", {}, fmt(r.max_whole, 3)),
      );
      return tr;
    }),
  );
  note.textContent =
    stride === 1
      ? "Stride 1: every shift is a whole output shift, so every row is 0 in the interior."
      : `Stride ${stride}: only dx = 0, ${stride}, ${2 * stride} move the output by whole cells.`;
}
