// The layer-stack builder: one line per layer (label, move up/down, remove), an
// editor under the selected line, "add layer", and each invalid layer marked in
// place with the server's reason. It only reports edits; the lab writes the URL.

import { el } from "../../ui.js";
import { LAYER_TYPES, formatStack, layerLabel, newLayer } from "./stack.js";

const clone = (v) => JSON.parse(JSON.stringify(v));

/** Two boxes (rows × columns) behind a link toggle: linked, typing either sets both (as in the Convolution lab). */
function pairInputs(key, value, { min = 1, max = 64, label, linked = false }) {
  const [h, w] = value;
  return el(
    "span",
    { class: "net-pair" },
    el("input", { type: "number", min, max, value: h, "data-key": key, "data-axis": "0", "data-testid": `net-edit-${key}-h`, "aria-label": `${label} (rows)` }),
    el("button", {
      type: "button", class: "lock", "data-link": key, "data-testid": `net-edit-${key}-link`, "aria-pressed": String(linked),
      "aria-label": `Link ${label.toLowerCase()} rows and columns`,
      title: linked ? "Linked: one value for both axes (click to set them apart)" : "Separate rows and columns (click to link)",
    }, linked ? "=" : "≠"),
    el("input", { type: "number", min, max, value: w, "data-key": key, "data-axis": "1", "data-testid": `net-edit-${key}-w`, "aria-label": `${label} (columns)` }),
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

function editor(layer, isLinked) {
  const parts = [];
  const pair = (key, opts) => pairInputs(key, layer[key], { ...opts, linked: isLinked(key) });
  if (layer.type === "conv") {
    const padKind = typeof layer.padding === "string" ? layer.padding : "number";
    parts.push(
      row("Filters", el("input", { type: "number", min: 1, max: 4096, value: layer.filters, "data-key": "filters", "data-testid": "net-edit-filters", "aria-label": "Filters" })),
      row("Kernel", pair("kernel", { max: 64, label: "Kernel" })),
      row("Stride", pair("stride", { max: 16, label: "Stride" })),
      row(
        "Padding",
        select("padkind", [["number", "number"], ["same", "same"], ["valid", "valid"]], padKind, "Padding kind"),
        padKind === "number" ? pair("padding", { min: 0, max: 64, label: "Padding" }) : null,
      ),
      row("Dilation", pair("dilation", { max: 16, label: "Dilation" })),
      row("Pad mode", select("mode", ["zeros", "reflect", "replicate", "circular"].map((m) => [m, m]), layer.mode, "Padding mode")),
      row("ReLU", el("input", { type: "checkbox", checked: layer.act === "relu", "data-key": "act", "aria-label": "Fused ReLU" })),
    );
  } else if (layer.type === "pool") {
    parts.push(
      row("Kind", select("kind", [["max", "max"], ["avg", "average"]], layer.kind, "Pooling kind")),
      row("Window", pair("kernel", { max: 16, label: "Window" })),
      row("Stride", pair("stride", { max: 16, label: "Stride" })),
      row("Padding", pair("padding", { min: 0, max: 8, label: "Padding" })),
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
function edited(layer, target, linked) {
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
    // Linked: the one value sets both axes.
    const axes = linked ? [0, 1] : [Number(target.dataset.axis)];
    for (const axis of axes) {
      // A pool's stride follows its window while they are equal (stride = window is the default).
      if (key === "kernel" && next.type === "pool" && next.stride[axis] === next.kernel[axis]) next.stride[axis] = v;
      next[key][axis] = v;
    }
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
  // Pairs the student set apart ("layer:key"); the others are linked while their two values agree.
  const unlinked = new Set();
  const linkedAt = (i) => (key) => {
    const v = layers[i]?.[key];
    return Array.isArray(v) && v[0] === v[1] && !unlinked.has(`${i}:${key}`);
  };
  // The last removal (or clear), shown in the removed line's place with an Undo until the next edit,
  // so the lines below do not slide under the pointer: {at, layers, sel, label, after}.
  let removed = null;

  root.querySelector("[data-testid='net-add']").addEventListener("click", () => {
    const next = clone(layers);
    const at = selected >= 0 && selected < layers.length ? selected + 1 : layers.length;
    // A new layer copies the nearest layer of its type above it (its filters, kernel, padding…).
    const above = layers.slice(0, at).reverse().find((l) => l.type === addType.value);
    next.splice(at, 0, above ? clone(above) : newLayer(addType.value));
    onChange(next, at);
  });
  root.querySelector("[data-testid='net-clear']").addEventListener("click", () => {
    if (!layers.length) return;
    remember(0, [], `all ${layers.length} layer${layers.length > 1 ? "s" : ""}`);
    onChange([], -1);
  });

  function remember(at, after, label) {
    removed = { at, layers: clone(layers), sel: selected, label, after: formatStack(after) };
  }

  list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (button?.dataset.act === "undo" && removed) {
      const back = removed;
      removed = null;
      return onChange(back.layers, back.sel);
    }
    const item = e.target.closest("li[data-index]");
    if (!button || !item) return;
    const i = Number(item.dataset.index);
    const next = clone(layers);
    if (button.dataset.link) {
      const key = button.dataset.link;
      const id = `${i}:${key}`;
      const v = next[i][key];
      if (linkedAt(i)(key)) unlinked.add(id);
      else {
        unlinked.delete(id);
        if (v[0] !== v[1]) {
          v[1] = v[0]; // linking takes the rows value for both
          if (key === "kernel" && next[i].type === "pool" && next[i].stride[1] === layers[i].kernel[1]) next[i].stride[1] = v[0];
          return onChange(next, i);
        }
      }
      signature = ""; // redraw the editor with the toggled link
      return render(layers, selected, lastErrors);
    }
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
      remember(i, next, `layer ${i + 1} (${layerLabel(layers[i])})`);
      // The editor stays with the layer it was open on (its index moves up when a line above goes).
      const sel = selected === i ? -1 : selected > i ? selected - 1 : selected;
      return onChange(next, sel);
    }
  });

  function onEdit(e) {
    const item = e.target.closest("li[data-index]");
    if (!item || !e.target.dataset.key) return;
    const i = Number(item.dataset.index);
    const layer = edited(layers[i], e.target, e.target.dataset.axis !== undefined && linkedAt(i)(e.target.dataset.key));
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

  let lastErrors = [];

  /** The line that stands where layers were removed: what went, and Undo. */
  function removedLine() {
    return el("li", { class: "net-removed", "data-testid": "net-removed" },
      el("span", { class: "hint" }, `Removed ${removed.label}.`), " ",
      el("button", { type: "button", "data-act": "undo", "data-testid": "net-undo" }, "Undo"));
  }

  /** Draw `stackLayers`; `errors[i]` is the reason layer i is invalid (or null). */
  function render(stackLayers, sel, errors = []) {
    lastErrors = errors;
    // A stack that changed since a removal was not that removal any more: its Undo goes.
    if (removed && formatStack(stackLayers) !== removed.after) removed = null;
    // A new stack (an edit elsewhere, a preset) forgets which pairs were set apart.
    if (stackLayers.length !== layers.length) unlinked.clear();
    layers = clone(stackLayers);
    selected = sel;
    const sig = JSON.stringify([layers.map((l) => [l.type, typeof l.padding === "string" ? l.padding : 0]), sel, removed?.at ?? null]);
    const focused = document.activeElement && list.contains(document.activeElement);
    if (sig !== signature || !focused) {
      const undoHadFocus = document.activeElement?.dataset?.act === "remove" || document.activeElement?.dataset?.act === "undo";
      signature = sig;
      const items = layers.map((layer, i) =>
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
            i === sel ? editor(layer, linkedAt(i)) : null,
          ),
        );
      if (removed) items.splice(Math.min(removed.at, items.length), 0, removedLine());
      list.replaceChildren(...items);
      // The keyboard stays where the ✕ was: on the Undo that took its place.
      if (removed && undoHadFocus) list.querySelector("[data-act='undo']")?.focus();
    } else {
      // Typing in the editor: keep the inputs (and focus), refresh the labels.
      list.querySelectorAll("li[data-index]").forEach((item, i) => {
        item.querySelector(".net-layer-label").textContent = layerLabel(layers[i]);
        // The other box of a linked pair (and a pool's stride that follows its window) shows the new value.
        for (const input of item.querySelectorAll("input[data-axis]")) {
          const v = layers[i][input.dataset.key]?.[Number(input.dataset.axis)];
          if (input !== document.activeElement && v !== undefined) input.value = String(v);
        }
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
