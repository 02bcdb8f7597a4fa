// The model summary: one row per layer (output shape, parameters, multiply-adds,
// activation memory, receptive-field size / jump / start), totals at the bottom,
// and the same table as text to copy. Numbers come from POST /api/network/summary.

import { formatBytes } from "../../shape.js";
import { notify } from "../../ui.js";
import { el } from "../../ui.js";

const int = (n) => n.toLocaleString("en-US");

/** 3136 -> "3136"; [64, 7, 7] -> "7×7×64" (H×W×C, as model summaries print it). */
export function shapeText(shape) {
  if (!shape) return "";
  return shape.length === 3 ? `${shape[1]}×${shape[2]}×${shape[0]}` : String(shape[0]);
}

export function compact(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} K`;
  return int(n);
}

export const rfText = (v) => (v === null || v === undefined ? "" : Array.isArray(v) ? v.join("×") : String(v));

/** A readable reason: "layers[2].kernel: kernel 5×5 …" -> "kernel 5×5 …". */
export const reason = (error) => String(error || "").replace(/^layers\[\d+\](\.\w+)?:\s*/, "");

export function mountSummary(root, { onRowClick }) {
  const table = root.querySelector("[data-testid='network-summary']");
  const body = table.querySelector("tbody");
  const foot = table.querySelector("tfoot");
  const pre = root.querySelector("[data-testid='net-summary-text']");
  let text = "";

  root.querySelector("[data-testid='net-copy']").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      notify("Summary copied as text.");
    } catch {
      root.querySelector(".net-text").open = true;
      notify("Select the text below and copy it.");
    }
  });
  body.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-index]");
    if (tr) onRowClick(Number(tr.dataset.index));
  });

  function render(summary, { selectedLayer = -1, unitLayer = -1 } = {}) {
    text = summary.text;
    pre.textContent = summary.text;
    body.replaceChildren(
      ...summary.layers.map((r) => {
        const cls = [r.error ? "net-row-invalid" : "", r.index === selectedLayer ? "selected" : "", r.index === unitLayer ? "unit-layer" : ""]
          .filter(Boolean)
          .join(" ");
        const head = [el("td", {}, String(r.index + 1)), el("th", { scope: "row" }, r.name || r.type || "?")];
        if (r.error) {
          return el("tr", { "data-index": r.index, class: cls }, head, el("td", { colspan: 7, class: "bad net-row-error" }, reason(r.error)));
        }
        return el(
          "tr",
          { "data-index": r.index, class: cls, title: "Click to edit this layer" },
          head,
          el("td", { "data-col": "output" }, shapeText(r.output_shape)),
          el("td", { "data-col": "params" }, int(r.params)),
          el("td", { "data-col": "macs", title: `${int(r.macs)} multiply-adds` }, compact(r.macs)),
          el("td", { "data-col": "memory", title: `${int(r.activation_bytes)} bytes (float32)` }, formatBytes(r.activation_bytes)),
          el("td", { "data-col": "rf" }, rfText(r.rf_size)),
          el("td", { "data-col": "jump" }, rfText(r.rf_jump)),
          el("td", { "data-col": "start" }, rfText(r.rf_start)),
        );
      }),
    );
    const t = summary.totals;
    foot.replaceChildren(
      el(
        "tr",
        {},
        el("td", {}, ""),
        el("th", { scope: "row" }, "total"),
        el("td", {}, `input ${shapeText(summary.input_shape)}`),
        el("td", { "data-col": "params", "data-testid": "net-total-params" }, int(t.params)),
        el("td", { "data-col": "macs", title: `${int(t.macs)} multiply-adds` }, compact(t.macs)),
        el("td", { "data-col": "memory", title: `${int(t.activation_bytes)} bytes` }, formatBytes(t.activation_bytes)),
        el("td", { colspan: 3 }, ""),
      ),
    );
    table.classList.remove("stale");
  }

  return { render, stale: () => table.classList.add("stale") };
}
