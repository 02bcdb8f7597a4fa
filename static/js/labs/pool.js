// The Pooling lab: max/average pooling of the current image (or a Sobel map of
// it), each window's winner, the output-size arithmetic, δ routed back to the
// input, and how much of the output survives a small shift.
//
// Server: POST /api/pool/routing and /api/pool/invariance (app/api/labs.py).

import { postJSON } from "../api.js";
import { parse } from "../state.js";
import { clearError, el, renderChannelPick, reportError, showError } from "../ui.js";
import { poolGeometry, sizeFormula } from "./pool/geometry.js";
import { mountInvariance } from "./pool/invariance.js";
import { mountPoolViews } from "./pool/views.js";

export const FIELDS = [
  { name: "pool.src", def: "image", label: "pooled map" },
  { name: "pool.kind", def: "max", label: "kind" },
  { name: "pool.k", def: [2, 2], parse: parse.pair, label: "window" },
  { name: "pool.s", def: [2, 2], parse: parse.pair, label: "stride" },
  { name: "pool.p", def: [0, 0], parse: parse.pair, label: "padding" },
  { name: "pool.delta", def: "ones", label: "δ" },
  { name: "pool.at", def: [] }, // [row, col] of the clicked output cell
  { name: "pool.ch", def: 0 },
  { name: "pool.axis", def: "x" },
  { name: "pool.shift", def: 1 },
];

// Keys whose change needs new numbers from the server (the rest only redraw).
const GLOBAL_KEYS = ["image", "color", "maxSide"];
const ROUTING_KEYS = ["pool.src", "pool.kind", "pool.k", "pool.s", "pool.p", "pool.delta"];
const INVARIANCE_KEYS = ["pool.src", "pool.kind", "pool.k", "pool.s", "pool.p", "pool.axis"];

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const views = mountPoolViews(root, {
    onOutputClick: (cell) => state.set({ "pool.at": [cell.row, cell.col] }),
  });
  const invariance = mountInvariance(root, { onPickShift: (shift) => state.set({ "pool.shift": shift }) });
  const sizeBox = $(".pool-size");
  const sizeWarn = $(".pool-size-warn");
  const explain = $(".pool-explain");
  const channelPick = $(".pool-channel-pick");
  const channelSelect = $("#pool-ch");
  let lastInputShape = null;
  let lastRouting = null;
  let lastInvariance = null;

  // --- controls --------------------------------------------------------------------
  const pairs = { k: ["#pool-kh", "#pool-kw", 1], s: ["#pool-sh", "#pool-sw", 1], p: ["#pool-ph", "#pool-pw", 0] };
  for (const [key, [a, b, min]] of Object.entries(pairs)) {
    const inputs = [$(a), $(b)];
    for (const input of inputs) {
      input.addEventListener("input", () => {
        const values = inputs.map((i) => Number(i.value));
        const bad = values.map((v) => !Number.isInteger(v) || v < min || v > 16);
        inputs.forEach((i, n) => i.classList.toggle("invalid", bad[n]));
        if (bad.some(Boolean)) {
          const name = { k: "window", s: "stride", p: "padding" }[key];
          showError(`pool ${name} must be a whole number from ${min} to 16; got ${inputs[bad.indexOf(true)].value || "nothing"}`);
          views.setStale(true);
          invariance.setStale(true);
          return;
        }
        const patch = { [`pool.${key}`]: values };
        // Stride follows the window while they were equal: the chapter's default (stride r).
        const s = state.get();
        if (key === "k" && s["pool.s"][0] === s["pool.k"][0] && s["pool.s"][1] === s["pool.k"][1]) patch["pool.s"] = values;
        // A typo, then the old value again: nothing changed, so re-check by hand (clears the message).
        if (!state.set(patch).length) refresh(state.get(), Object.keys(patch));
      });
    }
  }
  $("#pool-src").addEventListener("change", (e) => state.set({ "pool.src": e.target.value }));
  $("#pool-delta").addEventListener("change", (e) => state.set({ "pool.delta": e.target.value }));
  $("#pool-axis").addEventListener("change", (e) => state.set({ "pool.axis": e.target.value }));
  channelSelect.addEventListener("change", () => state.set({ "pool.ch": Number(channelSelect.value) }));
  for (const radio of root.querySelectorAll('input[name="pool-kind"]')) {
    radio.addEventListener("change", () => state.set({ "pool.kind": radio.value }));
  }

  function renderControls(s) {
    for (const [key, [a, b]] of Object.entries(pairs)) {
      const [v0, v1] = s[`pool.${key}`];
      for (const [sel, v] of [[a, v0], [b, v1]]) {
        const input = $(sel);
        if (document.activeElement !== input) input.value = String(v);
      }
    }
    $("#pool-src").value = s["pool.src"];
    $("#pool-delta").value = s["pool.delta"];
    $("#pool-axis").value = s["pool.axis"];
    for (const radio of root.querySelectorAll('input[name="pool-kind"]')) radio.checked = radio.value === s["pool.kind"];
  }

  const renderChannels = (C, s) => renderChannelPick(channelPick, channelSelect, C, s["pool.ch"]);

  // --- the arithmetic and the words (instant, from the last known input size) -------
  function renderArithmetic(s) {
    if (!lastInputShape) return null;
    const [, H, W] = lastInputShape;
    const [kh, kw] = s["pool.k"];
    const [sh, sw] = s["pool.s"];
    const [ph, pw] = s["pool.p"];
    const geo = poolGeometry(H, W, s["pool.k"], s["pool.s"], s["pool.p"]);
    for (const knob of Object.keys(pairs)) root.querySelector(`[data-knob="${knob}"]`).classList.toggle("invalid", !geo.ok && geo.knob === knob);
    if (!geo.ok) {
      sizeBox.replaceChildren(el("div", { class: "bad" }, geo.error));
      sizeWarn.replaceChildren();
      return geo;
    }
    sizeBox.replaceChildren(
      el("div", {}, "H_out = ⌊(H + 2p − k) / s⌋ + 1"),
      el("div", {}, `H_out = ${sizeFormula(H, kh, sh, ph)}`),
      el("div", {}, `W_out = ${sizeFormula(W, kw, sw, pw)}`),
      el("div", { class: "big" }, `${H} × ${W} → ${geo.oh} × ${geo.ow}`),
    );
    const warns = [];
    if (geo.dropped[0] > 0) warns.push(`the floor drops the last ${geo.dropped[0]} row${geo.dropped[0] > 1 ? "s" : ""}: no window reaches them`);
    if (geo.dropped[1] > 0) warns.push(`the floor drops the last ${geo.dropped[1]} column${geo.dropped[1] > 1 ? "s" : ""}`);
    if (sh < kh || sw < kw) {
      warns.push(s["pool.kind"] === "max"
        ? "windows overlap (stride < window): a cell can win, and collect δ from, several windows"
        : "windows overlap (stride < window): a cell collects a share of δ from each window that covers it");
    }
    if (sh > kh || sw > kw) warns.push("stride > window: some cells fall between windows and never get a gradient");
    sizeWarn.replaceChildren(...warns.map((w) => el("div", { class: "warn" }, w)));
    return geo;
  }

  function renderExplain(s) {
    const [kh, kw] = s["pool.k"];
    const n = kh * kw;
    explain.textContent = s["pool.kind"] === "max"
      ? `Each output is the largest of its ${kh}×${kw} window (eq. 36.7); the winner is ringed (○) on the input. ` +
        "Backward, the whole δ of a window goes to its winner and every other cell gets 0; " +
        "a cell that wins several overlapping windows collects their sum. " +
        "Ties go to the first cell in reading order, so on a flat patch the top-left cell wins."
      : `Each output is the mean of its ${kh}×${kw} window (padded zeros count). ` +
        `Backward, δ is spread evenly: δ/${n} to each of the ${n} cells; overlapping windows add up, ` +
        "and the share of padded cells is lost.";
  }

  // --- talking to the server ---------------------------------------------------------
  function body(s) {
    const b = {
      image_id: s.image,
      color: s.color,
      source: s["pool.src"],
      kind: s["pool.kind"],
      kernel_size: s["pool.k"],
      stride: s["pool.s"],
      padding: s["pool.p"],
    };
    return b;
  }

  function deltaSpec(s) {
    const kind = s["pool.delta"];
    if (kind !== "one_hot") return { kind, seed: 7 };
    let [r, c] = s["pool.at"];
    const geo = lastInputShape && poolGeometry(lastInputShape[1], lastInputShape[2], s["pool.k"], s["pool.s"], s["pool.p"]);
    if (!(r >= 0 && c >= 0) || !geo?.ok || r >= geo.oh || c >= geo.ow) {
      r = geo?.ok ? Math.floor(geo.oh / 2) : 0;
      c = geo?.ok ? Math.floor(geo.ow / 2) : 0;
    }
    return { kind, index: [Math.min(s["pool.ch"], (lastInputShape?.[0] ?? 1) - 1), r, c] };
  }

  async function fetchRouting(s) {
    views.setStale(true);
    try {
      const delta = deltaSpec(s);
      const answer = await image.withImage(s.image, (id) =>
        postJSON("/api/pool/routing", { ...body(s), image_id: id, delta }, { binary: true, key: "pool-routing" }));
      lastRouting = answer;
      lastInputShape = answer.input_shape;
      // The one-hot's place (and its clamping) depends on the output size, unknown before the
      // first answer for this image: ask again when the URL's cell now means another index.
      if (delta.index && deltaSpec(s).index.join() !== delta.index.join()) return fetchRouting(s);
      clearError();
      const cur = state.get();
      renderChannels(answer.input_shape[0], cur);
      renderPicker(cur, renderArithmetic(cur));
      views.draw(answer, cur);
      views.setStale(false);
    } catch (err) {
      reportError(err);
    }
  }

  async function fetchInvariance(s) {
    invariance.setStale(true);
    try {
      const answer = await image.withImage(s.image, (id) =>
        postJSON("/api/pool/invariance", { ...body(s), image_id: id, axis: s["pool.axis"] }, { binary: true, key: "pool-invariance" }));
      lastInvariance = answer;
      invariance.draw(answer, state.get());
      invariance.setStale(false);
    } catch (err) {
      reportError(err);
    }
  }

  /** The row/column box follows the state at once (the maps follow when the answer comes). */
  function renderPicker(s, geo) {
    if (!geo?.ok) return views.renderPicker(null, [0, 0]);
    const [r, c] = s["pool.at"];
    const chosen = r >= 0 && c >= 0 && r < geo.oh && c < geo.ow ? [r, c]
      : s["pool.delta"] === "one_hot" ? [Math.floor(geo.oh / 2), Math.floor(geo.ow / 2)] : null;
    views.renderPicker(chosen, [geo.oh, geo.ow]);
  }

  function refresh(s, changed) {
    renderControls(s);
    renderExplain(s);
    const geo = renderArithmetic(s);
    renderPicker(s, geo);
    const any = (keys) => keys.some((k) => changed.includes(k));
    if (geo && !geo.ok && !any(GLOBAL_KEYS)) {
      // The page already knows this cannot work: say why, keep the last pictures dimmed.
      showError(geo.error);
      views.setStale(true);
      invariance.setStale(true);
      return;
    }
    const oneHotMoved = s["pool.delta"] === "one_hot" && (changed.includes("pool.at") || changed.includes("pool.ch"));
    if (any(GLOBAL_KEYS) || any(ROUTING_KEYS) || oneHotMoved || !lastRouting) fetchRouting(s);
    else if (changed.includes("pool.ch")) views.draw(lastRouting, s);
    else if (changed.includes("pool.at")) views.draw(lastRouting, s);
    if (any(GLOBAL_KEYS) || any(INVARIANCE_KEYS) || !lastInvariance) fetchInvariance(s);
    else if (changed.includes("pool.shift") || changed.includes("pool.ch")) invariance.draw(lastInvariance, s);
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
