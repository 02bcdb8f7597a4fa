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
  { name: "eq.dy", def: 2, label: "shift down" },
  { name: "eq.dx", def: 3, label: "shift right" },
  { name: "eq.kernel", def: "sobel-x", label: "kernel" },
  { name: "eq.k", def: 3, label: "size" },
  { name: "eq.mode", def: "zeros", label: "padding mode" },
  { name: "eq.pad", def: 1, label: "padding" },
  { name: "eq.stride", def: 1, label: "stride" },
  { name: "eq.pool", def: 2, label: "max pool" },
];

const KEYS = ["image", "color", "maxSide", ...FIELDS.map((f) => f.name)];
// Each demo asks the obvious question with a one-pixel shift (two for "stride 2 holds"), and its
// button says the shift it sets: the words come from the same table as the settings.
const DEMOS = {
  circular: { text: "Circular padding", verdict: "exactly 0", patch: { "eq.mode": "circular", "eq.stride": 1, "eq.dy": 0, "eq.dx": 1 } },
  "stride-odd": { text: "Stride 2", verdict: "breaks", patch: { "eq.mode": "circular", "eq.stride": 2, "eq.dy": 0, "eq.dx": 1 } },
  "stride-even": { text: "Stride 2", verdict: "holds", patch: { "eq.mode": "circular", "eq.stride": 2, "eq.dy": 0, "eq.dx": 2 } },
  pool: { text: "Max pool 2 × 2", verdict: "mostly unchanged", patch: { "eq.mode": "zeros", "eq.stride": 1, "eq.dy": 0, "eq.dx": 1, "eq.pool": 2 } },
};
const signed = (v) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v)}`;
const shiftText = (dy, dx) => `shift (${signed(dy)}, ${signed(dx)}) px`;

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const views = mountEqViews(root);
  let active = false;

  // --- controls ------------------------------------------------------------------
  $("#eq-kernel").replaceChildren(...PRESETS.map((p) => el("option", { value: p.id }, p.name)));
  for (const axis of ["dy", "dx"]) {
    $(`#eq-${axis}`).addEventListener("input", (e) => state.set({ [`eq.${axis}`]: Number(e.target.value) }));
    // The number box: any whole number from −16 to 16, typed (a slider's track jumps where it is clicked).
    const box = $(`#eq-${axis}-box`);
    box.addEventListener("input", () => {
      const v = Number(box.value);
      const ok = box.value !== "" && Number.isInteger(v) && v >= -16 && v <= 16;
      box.classList.toggle("invalid", !ok);
      if (ok) state.set({ [`eq.${axis}`]: v });
    });
    box.addEventListener("blur", () => renderControls(state.get()));
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
    const demo = DEMOS[button.dataset.demo];
    button.textContent = `${demo.text}, ${shiftText(demo.patch["eq.dy"], demo.patch["eq.dx"])}: ${demo.verdict}`;
    button.addEventListener("click", () => state.set(demo.patch, { history: true }));
  }

  function renderControls(s) {
    for (const axis of ["dy", "dx"]) {
      $(`#eq-${axis}`).value = String(s[`eq.${axis}`]);
      const box = $(`#eq-${axis}-box`);
      if (document.activeElement !== box) {
        box.value = String(s[`eq.${axis}`]);
        box.classList.remove("invalid");
      }
    }
    $("#eq-kernel").value = s["eq.kernel"];
    $("#eq-k").value = String(s["eq.k"]);
    $("#eq-mode").value = s["eq.mode"];
    if (document.activeElement !== $("#eq-pad")) $("#eq-pad").value = String(s["eq.pad"]);
    $("#eq-stride").value = String(s["eq.stride"]);
    $("#eq-pool").value = String(s["eq.pool"]);
    for (const button of root.querySelectorAll("[data-demo]")) {
      const patch = DEMOS[button.dataset.demo].patch;
      button.setAttribute("aria-pressed", String(Object.entries(patch).every(([k, v]) => s[k] === v)));
    }
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
