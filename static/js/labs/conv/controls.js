// The conv lab's left column: source, kernels (count, preset, size, grid, bias,
// ReLU, flip, seed) and knobs (stride, padding, mode, dilation, per axis).
// Renders from the state and writes every change back to it.

import { PRESETS } from "../../presets.js";
import { el } from "../../ui.js";
import { mountKernelGrid } from "../../widgets/kernel-grid.js";
import { mountGroups } from "./groups.js";
import { mountPairKnob, mountPaddingKnob } from "./knobs.js";
import { MAX_FILTERS, MAX_K, decodeCustom, encodeCustom, filterChannels, filterList, nextPreset, weights } from "./model.js";

const CH = { 1: ["gray"], 3: ["R", "G", "B"] };

/**
 * Rate-limit state changes to one per frame without delaying the first: a change
 * in a quiet frame applies at once (the request leaves without waiting for the
 * next frame); changes arriving later in the same frame are merged and applied
 * on the next one. During a slider drag the server is asked at most once a frame.
 */
export function perFrame(apply) {
  let busy = false;
  let pending = null;
  const flush = () => {
    busy = false;
    if (!pending) return;
    const patch = pending;
    pending = null;
    busy = true;
    apply(patch);
    requestAnimationFrame(flush);
  };
  return (patch) => {
    if (busy) {
      pending = { ...pending, ...patch };
      return;
    }
    busy = true;
    apply(patch);
    requestAnimationFrame(flush);
  };
}

export function mountControls(root, { state, getCin, onPixelResize }) {
  const $ = (sel) => root.querySelector(sel);
  const set = (patch) => state.set(patch);
  const setSoon = perFrame(set);

  // --- source -------------------------------------------------------------------
  const srcRadios = [...root.querySelectorAll('input[name="conv-src"]')];
  for (const radio of srcRadios) radio.addEventListener("change", () => set({ "conv.src": radio.value, "conv.at": [] }));
  const pxRow = $(".conv-px-size");
  const pxH = $("#conv-px-h");
  const pxW = $("#conv-px-w");
  const pxChange = () => {
    const h = Number(pxH.value);
    const w = Number(pxW.value);
    if (!(h >= 3 && h <= 16 && w >= 3 && w <= 16)) {
      pxH.classList.toggle("invalid", !(h >= 3 && h <= 16));
      pxW.classList.toggle("invalid", !(w >= 3 && w <= 16));
      return;
    }
    pxH.classList.remove("invalid");
    pxW.classList.remove("invalid");
    onPixelResize(h, w);
  };
  pxH.addEventListener("change", pxChange);
  pxW.addEventListener("change", pxChange);
  $(".conv-px-reset").addEventListener("click", () => set({ "conv.px": [], "conv.at": [] }));
  const pxChannels = $(".conv-px-channels");
  const pxTabs = [...pxChannels.querySelectorAll(".px-ch")];
  for (const tab of pxTabs) tab.addEventListener("click", () => set({ "conv.pxch": Number(tab.dataset.ch) }));

  // --- filters ------------------------------------------------------------------
  const filtersInput = $("#conv-filters");
  filtersInput.addEventListener("input", () => {
    const n = Number(filtersInput.value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_FILTERS) {
      filtersInput.classList.add("invalid");
      return;
    }
    filtersInput.classList.remove("invalid");
    const s = state.get();
    const list = filterList(s).slice(0, n);
    while (list.length < n) list.push(nextPreset(list.length));
    const custom = decodeCustom(s["conv.w"]);
    for (const key of Object.keys(custom)) if (Number(key) >= n) delete custom[key];
    setSoon({
      "conv.filters": list,
      "conv.w": encodeCustom(custom),
      "conv.bias": (s["conv.bias"] || []).slice(0, n),
      "conv.sel": Math.min(s["conv.sel"], n - 1),
    });
  });
  const tabs = $(".conv-filter-tabs");

  const presetSelect = $("#conv-preset");
  presetSelect.replaceChildren(
    ...PRESETS.map((p) => el("option", { value: p.id }, p.name)),
    el("option", { value: "custom", disabled: true }, "Custom (edited)"),
  );
  presetSelect.addEventListener("change", () => {
    const s = state.get();
    const sel = s["conv.sel"];
    const list = filterList(s);
    list[sel] = presetSelect.value;
    const custom = decodeCustom(s["conv.w"]);
    delete custom[sel];
    set({ "conv.filters": list, "conv.w": encodeCustom(custom) });
  });

  // --- kernel size and the knobs: linked (h, w) pairs (knobs.js) ---------------------
  const kernelPair = mountPairKnob(root, { state, setSoon }, "kernel-size", "conv.k", { min: 1, max: MAX_K, primary: "#conv-kh", secondary: "#conv-kw" });
  const stridePair = mountPairKnob(root, { state, setSoon }, "stride", "conv.stride", { min: 1, max: 16, primary: "#conv-sh", secondary: "#conv-sw" });
  const dilationPair = mountPairKnob(root, { state, setSoon }, "dilation", "conv.dil", { min: 1, max: 16, primary: "#conv-dh", secondary: "#conv-dw" });
  const paddingKnob = mountPaddingKnob(root, { state, setSoon });

  const modeSelect = $("#conv-mode");
  modeSelect.addEventListener("change", () => set({ "conv.mode": modeSelect.value }));

  // --- groups: the select and the kernel tensor drawn by group ---------------------
  // A new groups value changes every filter's slice count: edited weights are adapted by model.adaptCustom.
  const groups = mountGroups(root, {
    onGroups: (g) => set({ "conv.groups": g, "conv.at": [] }),
    onSelectFilter: (f) => set({ "conv.sel": f }),
  });

  // --- kernel grid, bias, ReLU, flip, seed --------------------------------------
  const grid = mountKernelGrid($(".conv-kernel-grid"), {
    onEdit(c, index, value) {
      const s = state.get();
      const sel = s["conv.sel"];
      const wts = weights(s, getCin());
      const slices = wts.slices[sel].map((slice) => Array.from(slice));
      slices[c][index] = value;
      const custom = decodeCustom(s["conv.w"]);
      custom[sel] = { cin: wts.cinG, kh: wts.kh, kw: wts.kw, values: slices.flat() };
      const list = filterList(s);
      list[sel] = "custom";
      set({ "conv.w": encodeCustom(custom), "conv.filters": list });
    },
  });
  const bias = $("#conv-bias");
  bias.addEventListener("input", () => {
    const v = Number(bias.value);
    if (bias.value.trim() === "" || !Number.isFinite(v)) {
      bias.classList.add("invalid");
      return;
    }
    bias.classList.remove("invalid");
    const s = state.get();
    const list = filterList(s).map((_, f) => (Number.isFinite(s["conv.bias"][f]) ? s["conv.bias"][f] : 0));
    list[s["conv.sel"]] = v;
    setSoon({ "conv.bias": list.every((x) => x === 0) ? [] : list });
  });
  const relu = $("#conv-relu");
  relu.addEventListener("change", () => set({ "conv.relu": relu.checked }));
  const flip = $("#conv-flip");
  flip.addEventListener("change", () => set({ "conv.flip": flip.checked }));
  const seed = $("#conv-seed");
  seed.addEventListener("change", () => {
    const v = Number(seed.value);
    if (Number.isInteger(v) && v >= 0) set({ "conv.seed": v });
  });
  $("#conv-randomise").addEventListener("click", () => {
    const s = state.get();
    const sel = s["conv.sel"];
    const list = filterList(s);
    list[sel] = "random";
    const custom = decodeCustom(s["conv.w"]);
    delete custom[sel];
    set({ "conv.filters": list, "conv.w": encodeCustom(custom), "conv.seed": Math.floor(Math.random() * 100000) });
  });

  function renderTabs(s, list) {
    const sel = s["conv.sel"];
    if (tabs.children.length !== list.length) {
      tabs.replaceChildren(
        ...list.map((_, f) =>
          el("button", {
            type: "button",
            role: "tab",
            class: "filter-tab",
            "data-testid": `filter-tab-${f}`,
            "aria-label": `Filter ${f}`,
            onclick: () => set({ "conv.sel": f }),
          }, String(f)),
        ),
      );
    }
    [...tabs.children].forEach((tab, f) => {
      tab.setAttribute("aria-selected", String(f === sel));
      tab.title = `Edit filter ${f} (${list[f]})`;
    });
    tabs.hidden = list.length < 2;
  }

  return {
    render(s) {
      for (const radio of srcRadios) radio.checked = radio.value === s["conv.src"];
      pxRow.hidden = s["conv.src"] !== "pixels";
      pxChannels.hidden = s["conv.src"] !== "pixels" || s.color !== "rgb";
      pxTabs.forEach((tab, i) => tab.setAttribute("aria-selected", String(i === (s["conv.pxch"] | 0))));
      const list = filterList(s);
      if (document.activeElement !== filtersInput) filtersInput.value = String(list.length);
      renderTabs(s, list);
      const sel = Math.min(s["conv.sel"], list.length - 1);
      presetSelect.value = list[sel];
      kernelPair.render(s);
      stridePair.render(s);
      dilationPair.render(s);
      paddingKnob.render(s);
      modeSelect.value = s["conv.mode"];
      const wts = weights(s, getCin());
      const { first, count } = filterChannels(wts, sel);
      const names = (CH[wts.cin] || Array.from({ length: wts.cin }, (_, c) => `c${c}`)).slice(first, first + count);
      grid.render(wts.slices[sel], wts.kh, wts.kw, names);
      groups.render(s, wts, sel);
      if (document.activeElement !== bias) bias.value = String(wts.bias[sel]);
      relu.checked = s["conv.relu"];
      flip.checked = s["conv.flip"];
      if (document.activeElement !== seed) seed.value = String(s["conv.seed"]);
    },
    /** The composite colours of the RGB pixel grid, as a thumbnail next to the channel tabs. */
    setPixelThumb(grid) {
      const canvas = pxChannels.querySelector("canvas");
      if (!grid || grid.c !== 3) return;
      canvas.width = grid.w;
      canvas.height = grid.h;
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(grid.w, grid.h);
      const n = grid.h * grid.w;
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < 3; k++) img.data[4 * i + k] = Math.round(Math.max(0, Math.min(1, grid.values[k * n + i])) * 255);
        img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    },
    setPixelSize(h, w) {
      if (document.activeElement !== pxH) pxH.value = String(h);
      if (document.activeElement !== pxW) pxW.value = String(w);
    },
    /** Outline the control that made the geometry impossible (null clears). */
    markInvalid(knob) {
      for (const node of root.querySelectorAll(".knob-invalid")) node.classList.remove("knob-invalid");
      if (knob) root.querySelector(`[data-knob="${knob}"]`)?.classList.add("knob-invalid");
    },
  };
}
