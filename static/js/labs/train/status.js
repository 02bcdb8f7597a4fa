// The run's state as the page shows it: which buttons work, the status line, the
// held-out accuracy, the first-layer filters and the curves.

import { drawCurves } from "./curves.js";
import { drawFilters } from "./maps.js";

const WORDS = { running: "Training", paused: "Paused", done: "Done", stopped: "Stopped", failed: "Failed" };
const AFTER = {
  done: " Final curves and filters kept; Restart trains anew.",
  stopped: " Curves and filters kept; Resume continues.",
};

function renderButtons(root, stateName) {
  const set = (action, on) => (root.querySelector(`[data-action="${action}"]`).disabled = !on);
  set("pause", stateName === "running");
  set("resume", stateName === "paused" || stateName === "stopped");
  set("reset", stateName !== "none");
  root.querySelector('[data-action="start"]').textContent = stateName === "none" ? "Start" : "Restart";
}

function statusLine(run, view) {
  if (!run && view.model === "chapter") {
    return `Not started. Start trains the chapter's classifier on 1,294 digits at 28×28 (144 more for validation, 359 held out) for ${view.epochs} epoch${view.epochs === 1 ? "" : "s"}: Adam, lr 0.001, batch 128.`;
  }
  if (!run) return "Not started. Start trains a fresh network on 1,438 digits (359 more are held out) for at most 40 epochs or 5 minutes.";
  const epochs = run.max_epochs ? ` of ${run.max_epochs}` : "";
  return `${WORDS[run.state] || run.state} · epoch ${run.epoch.toFixed(2)}${epochs} · step ${run.step} · ${run.trained_seconds.toFixed(1)} s trained` +
    (run.reason ? ` — ${run.reason}.` : "") + (AFTER[run.state] || "");
}

/**
 * Draw `run` (a status from the server, or null) and its curve `points` into the lab.
 * `view`: {model, epochs} chosen on the page (for the text before a Start), `label`
 * (this run's settings) and `previous` ({points, label} of the run to compare with, or null).
 */
export function renderStatus(root, run, points, view = {}) {
  renderButtons(root, run ? run.state : "none");
  root.querySelector(".train-status").textContent = statusLine(run, view);
  const acc = root.querySelector(".train-accuracy");
  if (!run) {
    acc.textContent = "held-out accuracy —";
    delete acc.dataset.value;
  } else {
    if (run.accuracy !== null) {
      acc.textContent = `held-out accuracy ${(run.accuracy * 100).toFixed(1)} %`;
      acc.dataset.value = String(run.accuracy);
    }
    drawFilters(root.querySelector(".train-filters"), run.filters, root);
  }
  const chapter = run ? run.model === "chapter" : view.model === "chapter";
  drawCurves(root.querySelector(".train-curves"), points, {
    maxEpoch: run && chapter ? run.max_epochs : 0,
    target: chapter ? null : 0.95,
    label: view.label || "",
    previous: view.previous || null,
  });
}
