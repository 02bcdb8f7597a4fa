// The Backward lab: one conv layer, an upstream gradient δ of the student's
// choosing, and the three convolutions side by side (forward, weight gradient
// eq. 36.9, input gradient eq. 36.10), with a live float64 finite-difference check.
//
// Server: POST /api/backward (app/api/labs.py).

import { postJSON } from "../api.js";
import { convGeometry } from "../shape.js";
import { parse } from "../state.js";
import { clearError, el, renderChannelPick, reportError, showError } from "../ui.js";
import { renderCheck, renderExplain } from "./backward/explain.js";
import { BW_PRESETS, chapterInput, kernelValues, weightFor } from "./backward/kernel.js";
import { mountBackwardViews } from "./backward/views.js";

/** "1" -> 1, "1,2" -> [1, 2], "valid"/"same" kept; anything else undefined. */
function parsePadding(text) {
  const t = String(text).trim().toLowerCase();
  if (t === "valid" || t === "same") return t;
  const parts = t.split(/[,\s×x]+/).filter(Boolean).map(Number);
  if (parts.length === 1 && Number.isInteger(parts[0]) && parts[0] >= 0) return parts[0];
  if (parts.length === 2 && parts.every((v) => Number.isInteger(v) && v >= 0)) return parts;
  return undefined;
}

export const FIELDS = [
  { name: "bw.src", def: "image", label: "input" }, // image | chapter (the chapter's 8×8 standard-normal x)
  { name: "bw.preset", def: "numbered", label: "kernel" },
  { name: "bw.k", def: [3, 3], parse: parse.pair, label: "kernel size" },
  { name: "bw.s", def: [1, 1], parse: parse.pair, label: "stride" },
  { name: "bw.p", def: "1", parse: (v) => (parsePadding(v) === undefined ? undefined : v), label: "padding" },
  { name: "bw.d", def: [1, 1], parse: parse.pair, label: "dilation" },
  { name: "bw.mode", def: "zeros", label: "padding mode" },
  { name: "bw.delta", def: "one_hot", label: "δ" },
  { name: "bw.target", def: "sobel_x" },
  { name: "bw.at", def: [] }, // [row, col] of the one-hot in the output
  { name: "bw.seed", def: 7, label: "seed" },
  { name: "bw.check", def: true },
  { name: "bw.step", def: 1e-6, parse: parse.num, label: "step h" },
  { name: "bw.ch", def: 0 },
];

/**
 * The chapter's gradient check (its section 36.9): an 8×8 standard-normal input, a random
 * 3×3 kernel, no padding, stride 1, a random upstream δ, central differences with h = 1e-6.
 */
const CHAPTER_SETUP = {
  "bw.src": "chapter", "bw.preset": "normal", "bw.k": [3, 3], "bw.s": [1, 1], "bw.p": "0", "bw.d": [1, 1],
  "bw.mode": "zeros", "bw.delta": "random", "bw.seed": 7, "bw.check": true, "bw.step": 1e-6,
};

const GLOBAL_KEYS = ["image", "color", "maxSide"];
const DRAW_ONLY = ["bw.ch"];

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const views = mountBackwardViews(root, {
    onOutputClick: (cell) => state.set({ "bw.at": [cell.row, cell.col], "bw.delta": "one_hot" }),
  });
  const checkBox = $(".bw-check");
  const checkDetail = $(".bw-check-detail");
  const explainBox = $(".bw-explain");
  const channelPick = $(".bw-channel-pick");
  const channelSelect = $("#bw-ch");
  let inputShape = null; // (C, H, W) of the last answer: sizes the weights and checks geometry
  let last = null;

  // --- controls --------------------------------------------------------------------
  $("#bw-preset").replaceChildren(...BW_PRESETS.map((p) => el("option", { value: p.id }, p.name)));
  const pairs = { k: ["#bw-kh", "#bw-kw", 1, 7], s: ["#bw-sh", "#bw-sw", 1, 8], d: ["#bw-dh", "#bw-dw", 1, 8] };
  for (const [key, [a, b, min, max]] of Object.entries(pairs)) {
    const inputs = [$(a), $(b)];
    for (const input of inputs) {
      input.addEventListener("input", () => {
        const values = inputs.map((i) => Number(i.value));
        const bad = values.map((v) => !Number.isInteger(v) || v < min || v > max);
        inputs.forEach((i, n) => i.classList.toggle("invalid", bad[n]));
        if (bad.some(Boolean)) {
          const name = { k: "kernel size", s: "stride", d: "dilation" }[key];
          showError(`${name} must be a whole number from ${min} to ${max}; got ${inputs[bad.indexOf(true)].value || "nothing"}`);
          views.setStale(true);
        } else settle({ [`bw.${key}`]: values });
      });
    }
  }
  // A typo, then the old value again: nothing changes in the state, so re-check by hand
  // (clears the message and the dimming).
  const settle = (patch) => {
    if (!state.set(patch).length) refresh(state.get(), Object.keys(patch));
  };
  const pad = $("#bw-pad");
  pad.addEventListener("input", () => {
    const ok = parsePadding(pad.value) !== undefined;
    pad.classList.toggle("invalid", !ok);
    if (ok) settle({ "bw.p": pad.value.trim().toLowerCase() });
    else {
      showError(`padding “${pad.value}” is not understood: type a number (1), two numbers (1,2), valid or same`);
      views.setStale(true);
    }
  });
  const bind = (sel, key, read = (e) => e.target.value) => $(sel).addEventListener("change", (e) => state.set({ [key]: read(e) }));
  bind("#bw-preset", "bw.preset");
  bind("#bw-src", "bw.src");
  $("[data-testid='backward-chapter-setup']").addEventListener("click", () => state.set(CHAPTER_SETUP, { history: true }));
  bind("#bw-mode", "bw.mode");
  bind("#bw-delta", "bw.delta");
  bind("#bw-target", "bw.target");
  bind("#bw-step", "bw.step", (e) => Number(e.target.value));
  bind("#bw-check", "bw.check", (e) => e.target.checked);
  bind("#bw-ch", "bw.ch", (e) => Number(e.target.value));
  $("#bw-seed").addEventListener("input", (e) => {
    const v = Number(e.target.value);
    if (Number.isInteger(v) && v >= 0 && v <= 999999) state.set({ "bw.seed": v });
  });

  function renderControls(s) {
    for (const [key, [a, b]] of Object.entries(pairs)) {
      const [v0, v1] = s[`bw.${key}`];
      for (const [sel, v] of [[a, v0], [b, v1]]) if (document.activeElement !== $(sel)) $(sel).value = String(v);
    }
    if (document.activeElement !== pad) pad.value = s["bw.p"];
    if (document.activeElement !== $("#bw-seed")) $("#bw-seed").value = String(s["bw.seed"]);
    $("#bw-preset").value = s["bw.preset"];
    $("#bw-src").value = s["bw.src"];
    const chapter = s["bw.src"] === "chapter";
    $(".bw-src-note").hidden = !chapter;
    // The chapter's setup is one click; say so while it is on, and what is still its own.
    const same = Object.entries(CHAPTER_SETUP).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v));
    $("[data-testid='backward-chapter-setup']").setAttribute("aria-pressed", String(same));
    $("#bw-mode").value = s["bw.mode"];
    $("#bw-delta").value = s["bw.delta"];
    $("#bw-target").value = s["bw.target"];
    $(".bw-target-row").hidden = s["bw.delta"] !== "squared_error";
    $(".bw-delta-hint").hidden = s["bw.delta"] !== "one_hot";
    $("#bw-check").checked = s["bw.check"];
    const step = $("#bw-step");
    const match = [...step.options].find((o) => Math.abs(Number(o.value) - s["bw.step"]) < 1e-15 * Math.max(1, s["bw.step"]));
    if (match) step.value = match.value;
  }

  const renderChannels = (C, s) => renderChannelPick(channelPick, channelSelect, C, s["bw.ch"]);

  // --- geometry in the page: refuse impossible settings before asking ----------------
  function geometry(s) {
    const shape = s["bw.src"] === "chapter" ? [1, 8, 8] : inputShape;
    if (!shape) return null;
    const [, H, W] = shape;
    const geo = convGeometry({ h: H, w: W, kernel: s["bw.k"], stride: s["bw.s"], padding: parsePadding(s["bw.p"]), dilation: s["bw.d"], mode: s["bw.mode"] });
    const knobOf = { "kernel-size": "k", stride: "s", padding: "p", dilation: "d" };
    for (const knob of ["k", "s", "p", "d"]) root.querySelector(`[data-knob="${knob}"]`).classList.toggle("invalid", !geo.ok && knobOf[geo.knob] === knob);
    return geo;
  }

  function oneHotIndex(s, geo) {
    let [r, c] = s["bw.at"];
    if (!geo?.ok) return [0, r ?? 0, c ?? 0];
    if (!(r >= 0 && c >= 0 && r < geo.hOut && c < geo.wOut)) {
      r = Math.floor(geo.hOut / 2);
      c = Math.floor(geo.wOut / 2);
    }
    return [0, r, c];
  }

  async function fetchAll(s, geo) {
    const [kh, kw] = s["bw.k"];
    const kernel = kernelValues(s["bw.preset"], kh, kw, s["bw.seed"]);
    const delta = { kind: s["bw.delta"], seed: s["bw.seed"], target: s["bw.target"] };
    if (delta.kind === "one_hot") delta.index = oneHotIndex(s, geo);
    const chapter = s["bw.src"] === "chapter";
    const source = (id) => (chapter ? { input: chapterInput(s["bw.seed"]) } : { image_id: id, color: s.color });
    const body = (id, cIn) => ({
      ...source(id),
      weight: weightFor(kernel, kh, kw, cIn),
      stride: s["bw.s"],
      padding: parsePadding(s["bw.p"]),
      dilation: s["bw.d"],
      padding_mode: s["bw.mode"],
      delta,
      gradcheck: s["bw.check"] ? { step: s["bw.step"], samples: 32, seed: s["bw.seed"] } : null,
    });
    views.setStale(true);
    try {
      const cIn = !chapter && s.color === "rgb" ? 3 : 1; // the server converts the image to this colour
      const answer = chapter
        ? await postJSON("/api/backward", body(null, 1), { binary: true, key: "backward" })
        : await image.withImage(s.image, (id) => postJSON("/api/backward", body(id, cIn), { binary: true, key: "backward" }));
      if (delta.kind === "one_hot") answer.one_hot = delta.index;
      const firstShape = !chapter && (!inputShape || inputShape.join() !== answer.input_shape.join());
      if (!chapter) inputShape = answer.input_shape; // the image's shape (the chapter's is always 1×8×8)
      last = { answer, s, kernel };
      clearError();
      // The one-hot default (centre) depends on the output size: re-ask once it is known.
      if (firstShape && delta.kind === "one_hot" && !s["bw.at"].length) {
        const again = oneHotIndex(s, geometry(s));
        if (again.join() !== delta.index.join()) return fetchAll(s, geometry(s));
      }
      draw(state.get());
      views.setStale(false);
    } catch (err) {
      reportError(err);
    }
  }

  /** The row/column box follows the state at once (the maps follow when the answer comes). */
  function renderPicker(s, geo = geometry(s)) {
    views.renderPicker(geo?.ok && s["bw.delta"] === "one_hot" ? oneHotIndex(s, geo).slice(1) : null, geo?.ok ? [geo.hOut, geo.wOut] : [0, 0]);
  }

  function draw(s) {
    renderPicker(s);
    if (!last) return;
    renderChannels(last.answer.input_shape[0], s);
    views.draw(last.answer, { ...last.s, "bw.ch": s["bw.ch"] }, last.kernel);
    const [C, H, W] = last.answer.input_shape;
    void C;
    const idx = last.answer.one_hot;
    const taps = idx ? views.taps(idx[1], idx[2]) : [];
    renderExplain(explainBox, { ...last.s, "bw.ch": s["bw.ch"] }, last.answer, last.kernel, taps);
    const [, , kh, kw] = last.answer.weight_shape;
    renderCheck(checkBox, checkDetail, last.answer, last.s["bw.check"], { chapter: last.s["bw.src"] === "chapter", kh, kw });
    void H;
    void W;
  }

  function refresh(s, changed) {
    renderControls(s);
    if (changed.every((k) => DRAW_ONLY.includes(k) || !k.startsWith("bw.") && !GLOBAL_KEYS.includes(k))) {
      if (changed.some((k) => DRAW_ONLY.includes(k))) draw(s);
      if (last) return;
    }
    const geo = geometry(s);
    renderPicker(s, geo);
    if (geo && !geo.ok && !GLOBAL_KEYS.some((k) => changed.includes(k))) {
      showError(geo.error);
      views.setStale(true);
      return;
    }
    // The squared-error target is a 3×3 filter run with the layer's own settings: its map has
    // the layer's shape only for a 3×3 kernel (or "same" padding). Say so without asking.
    const [kh, kw] = s["bw.k"];
    if (s["bw.delta"] === "squared_error" && (kh !== 3 || kw !== 3) && s["bw.p"] !== "same") {
      showError(`the squared-error target is a 3×3 filter, so its map matches the layer's output only for a 3×3 kernel: ` +
        `set the kernel size to 3 × 3, padding to "same", or choose another δ (kernel is ${kh} × ${kw})`);
      views.setStale(true);
      return;
    }
    fetchAll(s, geo);
  }

  return {
    activate(s) {
      refresh(s, Object.keys(s));
    },
    deactivate() {},
    update(s, changed) {
      refresh(s, changed);
    },
  };
}
