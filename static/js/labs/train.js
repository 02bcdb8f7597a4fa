// The Train lab: the small CNN trained live on scikit-learn's 8×8 digits.
// Start / pause / resume / reset a run that lives in a worker thread on the
// server; progress arrives as Server-Sent Events (curves, held-out accuracy,
// first-layer filters); a drawn or picked digit is classified with every
// layer's feature maps.
//
// Server: /api/train/* (app/api/train.py, app/labs/train/).

import { getJSON, postJSON } from "../api.js";
import { parse } from "../state.js";
import { clearError, el, reportError } from "../ui.js";
import { drawCurves } from "./train/curves.js";
import { mountDrawPad } from "./train/draw.js";
import { clearFilters, drawFilters, renderLayers, renderProbabilities } from "./train/maps.js";

export const FIELDS = [
  { name: "train.lr", def: 0.01, parse: parse.num },
  { name: "train.batch", def: 32 },
  { name: "train.filters", def: 8 },
  { name: "train.opt", def: "adam" },
  { name: "train.digit", def: -1 },
];

// Set while this tab has a run on the server, so a fresh tab does not ask for a status
// that cannot exist (a 404 would land in the console).
const RUN_KEY = "convlab.trainRun";

/** One id per browser tab: the key of this page's run on the server (unguessable). */
function sessionId() {
  const key = "convlab.trainSession";
  let id = sessionStorage.getItem(key);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(key, id);
  }
  return id;
}

export function mount(root, ctx) {
  const { state } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const session = sessionId();
  let run = null;          // the last status from the server (null: no run)
  let points = [];         // the whole curve
  let source = null;       // the EventSource while a run is running
  let digits = [];
  let lastPredictAt = 0;
  let predicting = false;
  const pad = mountDrawPad(root, { onChange: () => predict() });

  // --- controls -------------------------------------------------------------------------
  const knobs = { lr: "#train-lr", batch: "#train-batch", filters: "#train-filters", opt: "#train-opt" };
  for (const [name, sel] of Object.entries(knobs)) {
    $(sel).addEventListener("change", (e) => {
      const v = name === "opt" ? e.target.value : Number(e.target.value);
      state.set({ [`train.${name}`]: v });
      if ((name === "lr" || name === "batch") && run && ["running", "paused", "stopped"].includes(run.state)) {
        const body = { session, [name === "lr" ? "lr" : "batch_size"]: v };
        postJSON("/api/train/config", body).then(applyStatus, reportError);
      }
    });
  }
  for (const button of root.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("#train-digit").addEventListener("change", (e) => state.set({ "train.digit": Number(e.target.value) }));
  $(".train-clear").addEventListener("click", () => {
    state.set({ "train.digit": -1 });
    pad.clear();
    predict();
  });

  function renderControls(s) {
    $("#train-lr").value = String(s["train.lr"]);
    $("#train-batch").value = String(s["train.batch"]);
    $("#train-filters").value = String(s["train.filters"]);
    $("#train-opt").value = s["train.opt"];
    const F = s["train.filters"];
    $(".train-layers-list").replaceChildren(
      ...[
        "input 1×8×8",
        `conv ${F} × 3×3, same → ReLU → ${F}×8×8`,
        `max pool 2 → ${F}×4×4`,
        `conv ${2 * F} × 3×3, same → ReLU → ${2 * F}×4×4`,
        `max pool 2 → ${2 * F}×2×2 → flatten ${8 * F}`,
        "dense 32 → ReLU",
        "dense 10 → softmax, cross-entropy",
      ].map((t) => el("li", {}, t)),
    );
  }

  // --- the run ------------------------------------------------------------------------------
  async function act(action) {
    const s = state.get();
    const body = { session };
    if (action === "start") {
      Object.assign(body, { lr: s["train.lr"], batch_size: s["train.batch"], filters: s["train.filters"], optimizer: s["train.opt"] });
    }
    try {
      const answer = await postJSON(`/api/train/${action}`, body);
      clearError();
      if (action === "reset") {
        sessionStorage.removeItem(RUN_KEY);
        closeStream();
        run = null;
        points = [];
        clearFilters($(".train-filters"), root);
        renderRun();
        predict();
        return;
      }
      sessionStorage.setItem(RUN_KEY, "1");
      if (action === "start") points = [];
      applyStatus(answer);
      if (answer.state === "running") openStream();
    } catch (err) {
      reportError(err);
    }
  }

  function applyStatus(status, { replace = false } = {}) {
    if (!status || status.state === "none") {
      sessionStorage.removeItem(RUN_KEY);
      run = null;
      renderRun();
      return;
    }
    if (replace) points = [];
    if (status.points && status.points.length) {
      // Snapshots from actions carry the whole curve; stream events only the new points.
      const known = points.length ? points[points.length - 1].step : -1;
      for (const p of status.points) if (p.step > known) points.push(p);
    }
    run = status;
    renderRun();
    maybeRepredict();
  }

  function openStream() {
    closeStream();
    source = new EventSource(`/api/train/stream?session=${encodeURIComponent(session)}`);
    source.addEventListener("progress", (e) => {
      const status = JSON.parse(e.data);
      applyStatus(status, { replace: Boolean(status.replace) });
      if (status.state !== "running") closeStream();
    });
    source.addEventListener("error", () => {
      if (source && source.readyState === EventSource.CLOSED) {
        reportError(new Error("The progress stream closed; the run may have stopped. Press Resume to continue."));
        closeStream();
      }
    });
  }

  function closeStream() {
    source?.close();
    source = null;
  }

  function renderRun() {
    const stateName = run ? run.state : "none";
    const set = (action, on) => (root.querySelector(`[data-action="${action}"]`).disabled = !on);
    set("pause", stateName === "running");
    set("resume", stateName === "paused" || stateName === "stopped");
    set("reset", stateName !== "none");
    $('[data-action="start"]').textContent = stateName === "none" ? "Start" : "Restart";
    const status = $(".train-status");
    const acc = $(".train-accuracy");
    if (!run) {
      status.textContent =
        "Not started. Start trains a fresh network on 1,438 digits (359 more are held out) for at most 40 epochs or 5 minutes.";
      acc.textContent = "held-out accuracy —";
      delete acc.dataset.value;
    } else {
      const secs = `${run.trained_seconds.toFixed(1)} s trained`;
      const words = { running: "Training", paused: "Paused", done: "Done", stopped: "Stopped", failed: "Failed" };
      const epochs = run.max_epochs ? ` of ${run.max_epochs}` : "";
      const after = {
        done: " Final curves and filters kept; Restart trains anew.",
        stopped: " Curves and filters kept; Resume continues.",
      }[run.state] || "";
      status.textContent =
        `${words[run.state] || run.state} · epoch ${run.epoch.toFixed(2)}${epochs} · step ${run.step} · ${secs}` +
        (run.reason ? ` — ${run.reason}.` : "") + after;
      if (run.accuracy !== null) {
        acc.textContent = `held-out accuracy ${(run.accuracy * 100).toFixed(1)} %`;
        acc.dataset.value = String(run.accuracy);
      }
      drawFilters($(".train-filters"), run.filters, root);
    }
    drawCurves($(".train-curves"), points);
  }

  // --- prediction ------------------------------------------------------------------------
  function currentInput(s) {
    const d = s["train.digit"];
    if (d >= 0 && digits[d]) return { pixels: digits[d].pixels, label: digits[d].label };
    return pad.isEmpty() ? null : { pixels: pad.pixels(), label: null };
  }

  async function predict() {
    const input = currentInput(state.get());
    const note = $(".train-predict-note");
    if (!input) {
      note.textContent = "Draw a digit in the box (or pick one) to see what the network says.";
      renderProbabilities($(".train-probs"), null);
      $(".train-predicted").textContent = "";
      $(".train-maps").replaceChildren();
      return;
    }
    if (!run) {
      note.textContent = "Press Start: an untrained network has nothing to say yet.";
      return;
    }
    lastPredictAt = performance.now();
    predicting = true;
    try {
      const answer = await postJSON("/api/train/predict", { session, pixels: input.pixels }, { key: "train-predict" });
      renderProbabilities($(".train-probs"), answer.probabilities, answer.predicted);
      const truth = input.label === null ? "" : ` (true label ${input.label})`;
      $(".train-predicted").textContent = `it's a ${answer.predicted}`;
      note.textContent = `${(answer.probabilities[answer.predicted] * 100).toFixed(1)} % sure${truth}.`;
      renderLayers($(".train-maps"), answer.layers);
    } catch (err) {
      if (!err.superseded) note.textContent = err.detail || String(err.message || err);
    } finally {
      predicting = false;
    }
  }

  // While training, the same input is re-classified about once a second.
  function maybeRepredict() {
    if (!predicting && performance.now() - lastPredictAt > 1000 && currentInput(state.get())) predict();
  }

  async function loadDigits() {
    if (digits.length) return;
    const answer = await getJSON("/api/train/digits?count=40");
    digits = answer.digits;
    $("#train-digit").replaceChildren(
      el("option", { value: "-1" }, "a held-out digit…"),
      ...digits.map((d) => el("option", { value: String(d.index) }, `#${d.index}: a ${d.label}`)),
    );
    $("#train-digit").value = String(state.get()["train.digit"]);
  }

  function showDigit(s) {
    const d = s["train.digit"];
    $("#train-digit").value = String(d);
    if (d >= 0 && digits[d]) pad.setPixels(digits[d].pixels);
  }

  async function loadStatus() {
    if (!sessionStorage.getItem(RUN_KEY)) {
      run = null;
      renderRun();
      return;
    }
    try {
      const status = await getJSON(`/api/train/status?session=${encodeURIComponent(session)}`);
      points = [];
      applyStatus(status);
      if (status.state === "running" && !source) openStream();
    } catch (err) {
      if (err.status === 404) {
        sessionStorage.removeItem(RUN_KEY);
        run = null;
        renderRun();
      } else reportError(err);
    }
  }

  return {
    async activate(s) {
      renderControls(s);
      renderRun();
      try {
        await loadDigits();
      } catch (err) {
        reportError(err);
      }
      showDigit(s);
      await loadStatus();
      predict();
    },
    deactivate() {
      // The stream stays open: it is what tells the server someone is watching the run.
    },
    update(s, changed) {
      renderControls(s);
      if (changed.includes("train.digit")) {
        showDigit(s);
        predict();
      }
    },
  };
}
