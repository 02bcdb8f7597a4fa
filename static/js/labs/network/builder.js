// The layer-stack builder: one line per layer (label, move up/down, remove), an
// editor under the selected line, "add layer", and each invalid layer marked in
// place with the server's reason. It only reports edits; the lab writes the URL.

import { el } from "../../ui.js";
import { LAYER_TYPES, layerLabel, newLayer } from "./stack.js";

const clone = (v) => JSON.parse(JSON.stringify(v));

function pairInputs(key, value, { min = 1, max = 64, label }) {
  const [h, w] = value;
  return el(
    "span",
    { class: "net-pair" },
    el("input", { type: "number", min, max, value: h, "data-key": key, "data-axis": "0", "aria-label": `${label} (rows)` }),
    el("span", { "aria-hidden": "true" }, "×"),
    el("input", { type: "number", min, max, value: w, "data-key": key, "data-axis": "1", "aria-label": `${label} (columns)` }),
  );
}

function row(label, ...controls) {
  return el("div", { class: "row" }, el("span", { class: "label" }, label), ...controls);
}

function select(key, options, value, label) {
  return el(
    "select",
    { "data-key": key, "aria-label": label },
    options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)),
  );
}

function editor(layer) {
  const parts = [];
  if (layer.type === "conv") {
    const padKind = typeof layer.padding === "string" ? layer.padding : "number";
    parts.push(
      row("Filters", el("input", { type: "number", min: 1, max: 4096, value: layer.filters, "data-key": "filters", "data-testid": "net-edit-filters", "aria-label": "Filters" })),
      row("Kernel", pairInputs("kernel", layer.kernel, { max: 64, label: "Kernel" })),
      row("Stride", pairInputs("stride", layer.stride, { max: 16, label: "Stride" })),
      row(
        "Padding",
        select("padkind", [["number", "number"], ["same", "same"], ["valid", "valid"]], padKind, "Padding kind"),
        padKind === "number" ? pairInputs("padding", layer.padding, { min: 0, max: 64, label: "Padding" }) : null,
      ),
      row("Dilation", pairInputs("dilation", layer.dilation, { max: 16, label: "Dilation" })),
      row("Pad mode", select("mode", ["zeros", "reflect", "replicate", "circular"].map((m) => [m, m]), layer.mode, "Padding mode")),
      row("ReLU", el("input", { type: "checkbox", checked: layer.act === "relu", "data-key": "act", "aria-label": "Fused ReLU" })),
    );
  } else if (layer.type === "pool") {
    parts.push(
      row("Kind", select("kind", [["max", "max"], ["avg", "average"]], layer.kind, "Pooling kind")),
      row("Window", pairInputs("kernel", layer.kernel, { max: 16, label: "Window" })),
      row("Stride", pairInputs("stride", layer.stride, { max: 16, label: "Stride" })),
      row("Padding", pairInputs("padding", layer.padding, { min: 0, max: 8, label: "Padding" })),
    );
  } else if (layer.type === "dense") {
    parts.push(
      row("Units", el("input", { type: "number", min: 1, max: 65536, value: layer.units, "data-key": "units", "data-testid": "net-edit-units", "aria-label": "Units" })),
      row("ReLU", el("input", { type: "checkbox", checked: layer.act === "relu", "data-key": "act", "aria-label": "Fused ReLU" })),
    );
  } else {
    parts.push(el("p", { class: "hint" }, layer.type === "relu" ? "max(x, 0), element-wise; no parameters." : "Lays the C×H×W map out as one vector for the dense layers."));
  }
  return el("div", { class: "net-editor", "data-testid": "net-editor" }, parts);
}

/** Apply one edit from the editor form to a copy of `layer`; null when the value is not usable yet. */
function edited(layer, target) {
  const key = target.dataset.key;
  const next = clone(layer);
  if (key === "act") {
    next.act = target.checked ? "relu" : null;
    return next;
  }
  if (key === "padkind") {
    next.padding = target.value === "number" ? [0, 0] : target.value;
    return next;
  }
  if (key === "mode" || key === "kind") {
    next[key] = target.value;
    return next;
  }
  const v = Number(target.value);
  const min = Number(target.min);
  if (target.value === "" || !Number.isInteger(v) || v < min || v > Number(target.max)) return null;
  if (target.dataset.axis !== undefined) {
    const axis = Number(target.dataset.axis);
    // A pool's stride follows its window while they are equal (stride = window is the default).
    if (key === "kernel" && next.type === "pool" && next.stride[axis] === next.kernel[axis]) next.stride[axis] = v;
    next[key][axis] = v;
  } else {
    next[key] = v;
  }
  return next;
}

export function mountBuilder(root, { onChange, onSelect }) {
  const list = root.querySelector(".net-layers");
  const addType = root.querySelector("[data-testid='net-add-type']");
  let layers = [];
  let selected = -1;
  let signature = "";

  root.querySelector("[data-testid='net-add']").addEventListener("click", () => {
    const next = clone(layers);
    const at = selected >= 0 && selected < layers.length ? selected + 1 : layers.length;
    next.splice(at, 0, newLayer(addType.value));
    onChange(next, at);
  });

  list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const item = e.target.closest("li[data-index]");
    if (!button || !item) return;
    const i = Number(item.dataset.index);
    const next = clone(layers);
    if (button.dataset.act === "select") return onSelect(selected === i ? -1 : i);
    if (button.dataset.act === "up" && i > 0) {
      [next[i - 1], next[i]] = [next[i], next[i - 1]];
      return onChange(next, i - 1);
    }
    if (button.dataset.act === "down" && i < next.length - 1) {
      [next[i + 1], next[i]] = [next[i], next[i + 1]];
      return onChange(next, i + 1);
    }
    if (button.dataset.act === "remove") {
      next.splice(i, 1);
      return onChange(next, Math.min(selected, next.length - 1));
    }
  });

  function onEdit(e) {
    const item = e.target.closest("li[data-index]");
    if (!item || !e.target.dataset.key) return;
    const i = Number(item.dataset.index);
    const layer = edited(layers[i], e.target);
    e.target.classList.toggle("invalid", layer === null);
    if (!layer) return;
    const next = clone(layers);
    next[i] = layer;
    onChange(next, i);
  }
  list.addEventListener("input", onEdit);
  list.addEventListener("change", (e) => {
    if (e.target.tagName === "SELECT" || e.target.type === "checkbox") onEdit(e);
  });

  /** Draw `stackLayers`; `errors[i]` is the reason layer i is invalid (or null). */
  function render(stackLayers, sel, errors = []) {
    layers = clone(stackLayers);
    selected = sel;
    const sig = JSON.stringify([layers.map((l) => [l.type, typeof l.padding === "string" ? l.padding : 0]), sel]);
    const focused = document.activeElement && list.contains(document.activeElement);
    if (sig !== signature || !focused) {
      signature = sig;
      list.replaceChildren(
        ...layers.map((layer, i) =>
          el(
            "li",
            { "data-index": i, "data-testid": `net-layer-${i}`, class: i === sel ? "selected" : "" },
            el(
              "div",
              { class: "net-layer-line" },
              el("button", { type: "button", class: "net-layer-name", "data-act": "select", "aria-expanded": String(i === sel), title: `Edit layer ${i + 1}: ${layerLabel(layer)}` },
                el("span", { class: "net-layer-num" }, String(i + 1)), el("span", { class: "net-layer-label" }, layerLabel(layer))),
              el("button", { type: "button", "data-act": "up", "aria-label": `Move layer ${i + 1} up`, disabled: i === 0 }, "↑"),
              el("button", { type: "button", "data-act": "down", "aria-label": `Move layer ${i + 1} down`, disabled: i === layers.length - 1 }, "↓"),
              el("button", { type: "button", "data-act": "remove", "aria-label": `Remove layer ${i + 1}` }, "✕"),
            ),
            el("p", { class: "net-layer-error bad", "data-testid": `net-layer-error-${i}`, hidden: true }),
            i === sel ? editor(layer) : null,
          ),
        ),
      );
    } else {
      // Typing in the editor: keep the inputs (and focus), refresh the labels.
      list.querySelectorAll("li[data-index]").forEach((item, i) => {
        item.querySelector(".net-layer-label").textContent = layerLabel(layers[i]);
      });
    }
    list.querySelectorAll("li[data-index]").forEach((item, i) => {
      const reason = errors[i];
      item.classList.toggle("invalid-layer", Boolean(reason));
      const p = item.querySelector(".net-layer-error");
      p.hidden = !reason;
      p.textContent = reason || "";
    });
  }

  return { render };
}
