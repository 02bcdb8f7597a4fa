// The Network lab: build a layer stack, read its model summary (shapes, parameters,
// multiply-adds, memory, receptive fields), watch the receptive field grow with
// depth, see every layer's feature maps on the current image, and click a unit to
// compare its theoretical and effective receptive fields.
//
// Server: POST /api/network/summary, /forward, /erf and GET /api/network/presets (app/api/network.py).

import { getJSON, postJSON, request } from "../api.js";
import { unitField } from "../shape.js";
import { parse } from "../state.js";
import { clearError, reportError, showError } from "../ui.js";
import { mountCellPicker } from "../widgets/cell-picker.js";
import { mountBuilder } from "./network/builder.js";
import { COMPARE_PRESETS, compareNote, isComparison } from "./network/compare.js";
import { drawRfChart } from "./network/chart.js";
import { mountFields } from "./network/fields.js";
import { mountMaps } from "./network/maps.js";
import { CANONICAL, CANONICAL_INPUT, formatInput, formatStack, fromApi, parseInput, parseStack, toApi } from "./network/stack.js";
import { mountSummary, reason } from "./network/summary.js";

export const FIELDS = [
  { name: "net.stack", def: CANONICAL, label: "layers", show: (v) => `“${v || "none"}”` },
  { name: "net.input", def: CANONICAL_INPUT, label: "input" }, // "CxHxW", or "image": the current image's own shape
  { name: "net.sel", def: -1 }, // layer open in the editor
  { name: "net.unit", def: [], parse: parse.nums }, // [layer, channel, row, col] of the clicked unit
  { name: "net.weights", def: "random", label: "weights" }, // random | edges | ones
  { name: "net.seed", def: 0, label: "seed" },
  { name: "net.gates", def: "relu", label: "through ReLU" }, // relu (true gradient) | linear
  { name: "net.show", def: 8 }, // channels shown per layer
  { name: "net.zoom", def: true }, // zoom the field views onto a small field
];

const BINARY = { binary: true };
const SUMMARY_KEYS = ["net.stack", "net.input", "image", "color", "maxSide"];
const FORWARD_KEYS = [...SUMMARY_KEYS, "net.weights", "net.seed", "net.show"];
const ERF_KEYS = [...FORWARD_KEYS, "net.unit", "net.gates", "net.zoom"];

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  let presets = null;
  let stack = { layers: [], unreadable: [] };
  let summary = null;
  let forward = null;
  let inputShape = null;
  let active = false;

  const setStack = (layers, sel = state.get()["net.sel"]) => state.set({ "net.stack": formatStack(layers), "net.sel": sel });
  const builder = mountBuilder(root, {
    onChange: (layers, sel) => setStack(layers, sel),
    onSelect: (sel) => state.set({ "net.sel": sel }),
  });
  const table = mountSummary(root, { onRowClick: (i) => state.set({ "net.sel": i }) });
  const maps = mountMaps(root, {
    onUnit: (unit) => state.set({ "net.unit": unit }),
    current: () => state.get()["net.unit"],
  });
  const fields = mountFields(root);
  const compareSlot = $(".net-compare-slot");
  // The chosen unit's row and column as numbers (cells of a deep layer are a few screen pixels).
  const picker = mountCellPicker($(".net-cell-picker"), {
    testid: "net-cell", label: "Unit",
    keys: "or focus the feature maps and use the arrow keys (PageUp/PageDown: channel, Shift+↑/↓: layer)",
    onPick: ([row, col]) => {
      const [layer, ch] = state.get()["net.unit"];
      state.set({ "net.unit": [layer, ch, row, col] });
    },
  });

  /** The row/column box follows the state's unit (a conv or pool layer's map; none for dense units). */
  function renderPicker(s) {
    const unit = s["net.unit"];
    const shape = unit.length === 4 ? summary?.layers[unit[0]]?.output_shape : null;
    const spatial = shape && shape.length === 3;
    picker.element.querySelector(".cell-picker-label").textContent =
      spatial ? `Unit of layer ${unit[0] + 1}, channel ${unit[1]}:` : "Unit (click one in the maps first):";
    picker.render(spatial ? [unit[2], unit[3]] : null, spatial ? [shape[1], shape[2]] : [0, 0]);
  }

  // --- controls ------------------------------------------------------------------
  const presetSelect = $("[data-testid='net-preset']");
  presetSelect.addEventListener("change", async () => {
    const id = presetSelect.value;
    if (!id) return;
    if (COMPARE_PRESETS[id]) {
      const p = COMPARE_PRESETS[id];
      state.set({ "net.stack": p.stack, "net.input": p.input, "net.sel": -1, "net.unit": [] }, { history: true });
      return;
    }
    try {
      presets ??= await getJSON("/api/network/presets");
      const p = presets[id];
      state.set(
        { "net.stack": formatStack(p.layers.map(fromApi)), "net.input": formatInput(p.input_shape), "net.sel": -1, "net.unit": [] },
        { history: true },
      );
    } catch (err) {
      reportError(err);
    }
  });
  const dims = ["c", "h", "w"].map((d) => $(`[data-testid='net-input-${d}']`));
  const useImage = $("[data-testid='net-input-image']");
  for (const input of dims) {
    input.addEventListener("input", () => {
      const shape = dims.map((d) => Number(d.value));
      const bad = shape.map((v) => !Number.isInteger(v) || v < 1 || v > 4096);
      dims.forEach((d, i) => d.classList.toggle("invalid", bad[i]));
      if (!bad.some(Boolean)) state.set({ "net.input": formatInput(shape) });
    });
  }
  useImage.addEventListener("change", () => {
    state.set({ "net.input": useImage.checked ? "image" : formatInput(inputShape || [1, 28, 28]) });
  });
  $("[data-testid='net-weights']").addEventListener("change", (e) => state.set({ "net.weights": e.target.value }));
  $("[data-testid='net-gates']").addEventListener("change", (e) => state.set({ "net.gates": e.target.value }));
  $("[data-testid='net-seed']").addEventListener("input", (e) => {
    const v = Number(e.target.value);
    if (Number.isInteger(v) && v >= 0) state.set({ "net.seed": v });
  });
  $("[data-testid='net-show']").addEventListener("change", (e) => state.set({ "net.show": Number(e.target.value) }));
  $("[data-testid='net-zoom']").addEventListener("change", (e) => state.set({ "net.zoom": e.target.checked }));

  function renderControls(s) {
    const custom = s["net.input"] === "image";
    useImage.checked = custom;
    dims.forEach((d, i) => {
      d.disabled = custom;
      if (inputShape && document.activeElement !== d) d.value = String(inputShape[i]);
    });
    for (const [id, key] of [["net-weights", "net.weights"], ["net-gates", "net.gates"], ["net-show", "net.show"]]) {
      $(`[data-testid='${id}']`).value = String(s[key]);
    }
    $("[data-testid='net-zoom']").checked = s["net.zoom"];
    fields.setZoom(s["net.zoom"]);
    const seed = $("[data-testid='net-seed']");
    if (document.activeElement !== seed) seed.value = String(s["net.seed"]);
    const match = presets && Object.entries(presets).find(([, p]) => formatStack(p.layers.map(fromApi)) === s["net.stack"] && formatInput(p.input_shape) === s["net.input"]);
    const local = Object.entries(COMPARE_PRESETS).find(([, p]) => p.stack === s["net.stack"] && p.input === s["net.input"]);
    presetSelect.value = local ? local[0] : match ? match[0] : s["net.stack"] === CANONICAL && s["net.input"] === CANONICAL_INPUT ? "canonical" : "";
  }

  // --- data ----------------------------------------------------------------------
  async function resolveInput(s) {
    if (s["net.input"] !== "image") return parseInput(s["net.input"]) || parseInput(CANONICAL_INPUT);
    const pixels = await image.withImage(s.image, (id) => image.getPixels(id, s.color));
    return [...pixels.shape];
  }

  const runBody = (s) => ({
    input_shape: inputShape,
    layers: stack.layers.map(toApi),
    image_id: s.image,
    weights: s["net.weights"],
    seed: s["net.seed"],
    show_channels: s["net.show"],
  });

  async function refreshSummary(s) {
    stack = parseStack(s["net.stack"]);
    inputShape = await resolveInput(s);
    summary = await postJSON("/api/network/summary", { input_shape: inputShape, layers: stack.layers.map(toApi), mark_invalid: true }, { key: "net-summary" });
    renderControls(s);
    renderSummary(s);
    compareSlot.replaceChildren(...(isComparison(s["net.stack"]) ? [compareNote(inputShape, s["net.stack"])] : []));
  }

  function renderSummary(s) {
    const errors = summary.layers.map((r) => (r.error ? reason(r.error) : null));
    builder.render(stack.layers, s["net.sel"], errors);
    table.render(summary, { selectedLayer: s["net.sel"], unitLayer: s["net.unit"][0] ?? -1 });
    drawRfChart($(".net-chart-box"), summary, stack.layers, { unitLayer: s["net.unit"][0] ?? -1 });
    const bad = summary.layers.find((r) => r.error);
    const notes = [];
    if (stack.unreadable.length) notes.push(`ignored ${stack.unreadable.map((t) => `"${t}"`).join(", ")} in the link: not a layer`);
    if (bad) {
      showError(`Layer ${bad.index + 1} (${bad.name || bad.type}): ${reason(bad.error)}. The other rows are computed as if it were not there.`);
    } else if (notes.length) {
      showError(notes.join("; "));
    }
  }

  async function refreshForward(s) {
    if (!summary || !summary.valid) {
      maps.stale();
      fields.stale();
      root.querySelector(".net-maps-note").textContent = "Fix the layer marked ✗ (in the table and the stack) to run the stack on the image; the last maps stay dimmed.";
      return false;
    }
    forward = await image.withImage(s.image, (id) =>
      request("/api/network/forward", { method: "POST", json: { ...runBody(s), image_id: id }, ...BINARY, key: "net-forward" }),
    );
    maps.render(forward, summary.layers);
    maps.markUnit(s["net.unit"]);
    return true;
  }

  function unitProblem(unit) {
    if (unit.length !== 4) return "Click a unit in any feature map (or a dense layer's strip) to see its receptive fields.";
    const [layer, ch, r, c] = unit;
    const row = summary.layers[layer];
    if (!row || row.error) return "The chosen unit's layer is gone: click a unit in the maps.";
    const shape = row.output_shape;
    const info = forward?.layers[layer];
    const computed = info ? info.shape[0] : shape[0];
    if (row.type === "flatten") return "Flatten has no units of its own: click a unit in the layer before it.";
    if (ch >= computed || (shape.length === 3 && (r >= shape[1] || c >= shape[2]))) return "The chosen unit is outside its layer now: click a unit in the maps.";
    return null;
  }

  async function refreshErf(s) {
    fields.setZoom(s["net.zoom"]);
    const unit = s["net.unit"];
    const problem = forward && summary?.valid ? unitProblem(unit) : "Fix the stack to see feature maps and fields.";
    if (problem) {
      fields.clear(problem);
      return;
    }
    const [layer, ch, r, c] = unit;
    const row = summary.layers[layer];
    const field = unitField({ size: row.rf_size, jump: row.rf_jump, start: row.rf_start }, r, c);
    const where = row.output_shape.length === 3 ? `channel ${ch}, (${r}, ${c})` : `unit ${ch}`;
    fields.showTheory(
      forward.arrays.input,
      field,
      `Layer ${layer + 1} (${row.name}), ${where}: theoretical field ${field.height}×${field.width} px, rows ${field.top}…${field.top + field.height - 1}, columns ${field.left}…${field.left + field.width - 1}.`,
    );
    const answer = await image.withImage(s.image, (id) =>
      request("/api/network/erf", {
        method: "POST",
        json: { ...runBody(s), image_id: id, unit: { layer, channel: ch, row: r, col: c }, gates: s["net.gates"] },
        ...BINARY,
        key: "net-erf",
      }),
    );
    fields.showEffective(answer);
  }

  let running = Promise.resolve();
  async function refresh(s, changed) {
    const all = !changed;
    try {
      if (all || changed.some((k) => SUMMARY_KEYS.includes(k))) await refreshSummary(s);
      else if (changed.includes("net.sel") || changed.includes("net.unit")) renderSummary(s);
      if (!summary) return;
      renderPicker(state.get());
      if (all || changed.some((k) => FORWARD_KEYS.includes(k))) await refreshForward(s);
      else maps.markUnit(s["net.unit"]);
      if (all || changed.some((k) => ERF_KEYS.includes(k))) await refreshErf(s);
      if (summary.valid && !stack.unreadable.length) clearError();
    } catch (err) {
      if (err && err.superseded) return;
      maps.stale();
      fields.stale();
      reportError(err);
    }
  }

  return {
    activate(s) {
      active = true;
      // The presets are needed to name the stack in the preset select (a link may hold one).
      running = (presets ? Promise.resolve() : getJSON("/api/network/presets").then((p) => (presets = p), () => null)).then(() => refresh(s, null));
    },
    deactivate() {
      active = false;
    },
    update(s, changed) {
      if (!active) return;
      running = refresh(s, changed);
    },
    get ready() {
      return running;
    },
  };
}
