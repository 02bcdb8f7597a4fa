// Learn a filter: the server runs gradient descent with ConvLab's own conv2d_backward
// and returns the kernel estimate after every step; this dialog plays them back,
// the estimate's numbers moving towards the hidden kernel, the loss curve beside.

import { postJSON } from "../api.js";
import * as state from "../state.js";
import { el, reportError } from "../ui.js";
import { t } from "../strings.js";
import { fmt } from "../heatmap.js";
import { MAPS, cssColor } from "../colormap.js";
import { makeDialog } from "./dialog.js";

const HIDDEN = [["sobel-x", "Sobel x"], ["sobel-y", "Sobel y"], ["laplacian", "Laplacian"], ["sharpen", "Sharpen"],
  ["box", "Box blur"], ["emboss", "Emboss"]];

export const FIELDS = [
  { name: "learn.k", def: "sobel-x", parse: (s) => (HIDDEN.some(([id]) => id === s) ? s : undefined) },
  { name: "learn.lr", def: 0.05, parse: (s) => (Number(s) > 0 && Number(s) <= 2 ? Number(s) : undefined) },
  { name: "learn.steps", def: 80, parse: (s) => (Number.isInteger(Number(s)) && Number(s) >= 1 && Number(s) <= 400 ? Number(s) : undefined) },
];

const reducedMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

function kernelTable(values, range, testid, caption) {
  return el("figure", { class: "learn-kernel" },
    el("figcaption", {}, caption),
    el("table", { class: "numbers kernel-grid", "data-testid": testid },
      el("tbody", {}, ...values.map((row) => el("tr", {}, ...row.map((v) => {
        const colour = cssColor(v, MAPS.diverging, -range, range);
        const td = el("td", {}, fmt(v, 3));
        td.style.background = colour.background; // CSSOM, not a style attribute: the CSP forbids inline styles
        td.style.color = colour.text;
        return td;
      }))))));
}

function drawLoss(canvas, losses, upto) {
  const ctx = canvas.getContext("2d");
  const { width: W, height: H } = canvas;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  const logs = losses.map((v) => Math.log10(Math.max(v, 1e-12)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const pad = 28;
  const x = (i) => pad + (i / Math.max(1, losses.length - 1)) * (W - pad - 8);
  const y = (v) => 8 + (1 - (v - lo) / Math.max(hi - lo, 1e-9)) * (H - 8 - pad);
  ctx.strokeStyle = "#5b6475";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad, 8);
  ctx.lineTo(pad, H - pad);
  ctx.lineTo(W - 8, H - pad);
  ctx.stroke();
  ctx.fillStyle = "#1d2330";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(`1e${Math.round(hi)}`, 2, 16);
  ctx.fillText(`1e${Math.round(lo)}`, 2, H - pad);
  ctx.fillText("step", W - 36, H - 10);
  ctx.strokeStyle = "#1f5fae";
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let i = 0; i <= upto; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(i), y(logs[i]));
  ctx.stroke();
  ctx.fillStyle = "#d86a18";
  ctx.beginPath();
  ctx.arc(x(upto), y(logs[upto]), 4, 0, 2 * Math.PI);
  ctx.fill();
}

export function mountLearn() {
  const ui = makeDialog({
    title: t("learn.title"),
    testid: "learn-dialog",
    wide: true,
    onClose: () => {
      cancelAnimationFrame(frame);
      if (state.get().tool === "learn") state.set({ tool: "" });
    },
  });
  const hidden = el("select", { id: "learn-hidden", "data-testid": "learn-hidden" },
    ...HIDDEN.map(([id, name]) => el("option", { value: id }, name)));
  const lr = el("input", { type: "number", id: "learn-lr", min: "0.005", max: "2", step: "0.005", "data-testid": "learn-lr" });
  const steps = el("input", { type: "number", id: "learn-steps", min: "1", max: "400", step: "1", "data-testid": "learn-steps" });
  const run = el("button", { type: "button", class: "primary", "data-testid": "learn-run" }, t("learn.run"));
  const kernelsBox = el("div", { class: "learn-kernels" });
  const canvas = el("canvas", { width: 360, height: 180, class: "learn-loss", "data-testid": "learn-loss", role: "img", "aria-label": t("learn.loss") });
  const statusLine = el("p", { class: "learn-status", role: "status", "aria-live": "polite", "data-testid": "learn-status" });
  ui.body.append(
    el("p", { class: "hint" }, t("learn.intro")),
    el("div", { class: "row" },
      el("label", { for: "learn-hidden" }, t("learn.hidden")), hidden,
      el("label", { for: "learn-lr" }, t("learn.lr")), lr,
      el("label", { for: "learn-steps" }, t("learn.steps")), steps, run),
    el("div", { class: "learn-view" }, kernelsBox,
      el("figure", { class: "learn-curve" }, el("figcaption", {}, t("learn.loss")), canvas)),
    statusLine,
  );

  let frame = 0;
  let result = null;

  function show(step) {
    const est = result.kernels[step];
    const range = Math.max(...result.truth.flat().map(Math.abs), 1e-6);
    const err = Math.max(...est.flat().map((v, i) => Math.abs(v - result.truth.flat()[i])));
    kernelsBox.replaceChildren(
      kernelTable(result.truth, range, "learn-truth", t("learn.truth")),
      kernelTable(est, range, "learn-estimate", t("learn.estimate", { step })),
    );
    drawLoss(canvas, result.losses, step);
    const last = result.kernels.length - 1;
    statusLine.textContent = step === last
      ? t("learn.done", { steps: last, err: fmt(err, 3) })
      : t("learn.status", { step, steps: last, loss: fmt(result.losses[step], 3), err: fmt(err, 3) });
    statusLine.dataset.step = String(step);
  }

  function animate() {
    cancelAnimationFrame(frame);
    const last = result.kernels.length - 1;
    if (reducedMotion()) return show(last);
    const perStep = Math.max(12, Math.min(60, 3000 / last)); // the whole run in about 3 s
    const t0 = performance.now();
    const tick = (now) => {
      const step = Math.max(0, Math.min(last, Math.floor((now - t0) / perStep)));
      show(step);
      if (step < last) frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  async function learn() {
    const s = state.get();
    statusLine.textContent = t("learn.running");
    run.disabled = true;
    try {
      result = await postJSON("/api/learn-filter", { hidden: s["learn.k"], lr: s["learn.lr"], steps: s["learn.steps"], seed: 1 },
        { key: "classroom-learn" });
      animate();
    } catch (err) {
      if (!err?.superseded) {
        statusLine.textContent = err.detail || err.message;
        reportError(err);
      }
    } finally {
      run.disabled = false;
    }
  }

  function render(s) {
    hidden.value = s["learn.k"];
    lr.value = String(s["learn.lr"]);
    steps.value = String(s["learn.steps"]);
  }

  hidden.addEventListener("change", () => state.set({ "learn.k": hidden.value }));
  lr.addEventListener("change", () => Number(lr.value) > 0 && state.set({ "learn.lr": Math.min(2, Number(lr.value)) }));
  steps.addEventListener("change", () => {
    const v = Math.round(Number(steps.value));
    if (v >= 1) state.set({ "learn.steps": Math.min(400, v) });
  });
  run.addEventListener("click", learn);
  state.subscribe((s, changed) => changed.some((k) => k.startsWith("learn.")) && render(s));
  render(state.get());

  return {
    open() {
      render(state.get());
      ui.open();
      if (!result) learn();
    },
    close: ui.close,
    isOpen: ui.isOpen,
  };
}
