// The Equivariance lab: shift the input by (dy, dx) and compare conv(shift(x))
// with shift(conv(x)). Zero away from the border, exactly zero with circular
// padding (a circular shift), broken by stride for shifts that are not multiples
// of it; max pooling after the conv is partly invariant to small shifts.
//
// Server: POST /api/equivariance (app/api/equivariance.py, app/equivariance.py).

import { postJSON } from "../api.js";
import { PRESETS, presetKernel } from "../presets.js";
import { clearError, el, reportError, showError } from "../ui.js";
import { mountEqViews } from "./equivariance/views.js";
import { renderExplain, renderSweep } from "./equivariance/explain.js";

export const FIELDS = [
  { name: "eq.dy", def: 2 },
  { name: "eq.dx", def: 3 },
  { name: "eq.kernel", def: "sobel-x" },
  { name: "eq.k", def: 3 },
  { name: "eq.mode", def: "zeros" },
  { name: "eq.pad", def: 1 },
  { name: "eq.stride", def: 1 },
  { name: "eq.pool", def: 2 },
];

const KEYS = ["image", "color", "maxSide", ...FIELDS.map((f) => f.name)];
const DEMOS = {
  circular: { "eq.mode": "circular", "eq.stride": 1, "eq.dy": 2, "eq.dx": 3 },
  "stride-odd": { "eq.mode": "circular", "eq.stride": 2, "eq.dy": 0, "eq.dx": 1 },
  "stride-even": { "eq.mode": "circular", "eq.stride": 2, "eq.dy": 0, "eq.dx": 2 },
  pool: { "eq.mode": "zeros", "eq.stride": 1, "eq.dy": 0, "eq.dx": 1, "eq.pool": 2 },
};

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const views = mountEqViews(root);
  let active = false;

  // --- controls ------------------------------------------------------------------
  $("#eq-kernel").replaceChildren(...PRESETS.map((p) => el("option", { value: p.id }, p.name)));
  for (const axis of ["dy", "dx"]) {
    $(`#eq-${axis}`).addEventListener("input", (e) => state.set({ [`eq.${axis}`]: Number(e.target.value) }));
  }
  $("#eq-kernel").addEventListener("change", (e) => state.set({ "eq.kernel": e.target.value }));
  $("#eq-k").addEventListener("change", (e) => {
    const k = Number(e.target.value);
    state.set({ "eq.k": k, "eq.pad": Math.floor(k / 2) }); // keep the output the input's size
  });
  $("#eq-mode").addEventListener("change", (e) => state.set({ "eq.mode": e.target.value }));
  $("#eq-pad").addEventListener("change", (e) => {
    const p = Number(e.target.value);
    const ok = Number.isInteger(p) && p >= 0 && p <= 7;
    e.target.classList.toggle("invalid", !ok);
    if (ok && !state.set({ "eq.pad": p }).length) refresh(state.get()); // typo, then the old value
    else {
      showError(`padding must be a whole number from 0 to 7; got ${e.target.value || "nothing"}`);
      views.markStale(true);
    }
  });
  $("#eq-stride").addEventListener("change", (e) => state.set({ "eq.stride": Number(e.target.value) }));
  $("#eq-pool").addEventListener("change", (e) => state.set({ "eq.pool": Number(e.target.value) }));
  for (const button of root.querySelectorAll("[data-demo]")) {
    button.addEventListener("click", () => state.set(DEMOS[button.dataset.demo]));
  }

  function renderControls(s) {
    for (const axis of ["dy", "dx"]) {
      $(`#eq-${axis}`).value = String(s[`eq.${axis}`]);
      $(`#eq-${axis}-value`).textContent = `${s[`eq.${axis}`] > 0 ? "+" : ""}${s[`eq.${axis}`]} px`;
    }
    $("#eq-kernel").value = s["eq.kernel"];
    $("#eq-k").value = String(s["eq.k"]);
    $("#eq-mode").value = s["eq.mode"];
    if (document.activeElement !== $("#eq-pad")) $("#eq-pad").value = String(s["eq.pad"]);
    $("#eq-stride").value = String(s["eq.stride"]);
    $("#eq-pool").value = String(s["eq.pool"]);
    $(".eq-shift-kind").textContent =
      s["eq.mode"] === "circular"
        ? "Circular padding: the shift is circular too (what leaves one side comes back on the other)."
        : "The shift moves the content and fills the vacated rows and columns with 0.";
  }

  // --- numbers from the server ------------------------------------------------------
  function kernelRows(s) {
    const k = s["eq.k"];
    const flat = presetKernel(s["eq.kernel"], k, k, 7);
    return Array.from({ length: k }, (_, a) => Array.from(flat.subarray(a * k, (a + 1) * k)));
  }

  async function refresh(s) {
    const body = {
      image_id: s.image,
      color: s.color,
      kernel: kernelRows(s),
      dy: s["eq.dy"],
      dx: s["eq.dx"],
      stride: s["eq.stride"],
      padding: s["eq.pad"],
      padding_mode: s["eq.mode"],
      pool: s["eq.pool"],
    };
    views.markStale(true);
    try {
      const answer = await image.withImage(s.image, (id) =>
        postJSON("/api/equivariance", { ...body, image_id: id }, { binary: true, key: "equivariance" }),
      );
      clearError();
      views.render(answer, s);
      renderExplain($(".eq-explain"), $(".eq-verdict"), answer, s);
      renderSweep($(".eq-sweep tbody"), $(".eq-sweep-note"), answer, s);
    } catch (err) {
      if (reportError(err)) views.markStale(true);
    }
  }

  return {
    activate(s) {
      active = true;
      renderControls(s);
      refresh(s);
    },
    deactivate() {
      active = false;
    },
    update(s, changed) {
      if (!active) return;
      renderControls(s);
      if (changed.some((k) => KEYS.includes(k))) refresh(s);
    },
  };
}
