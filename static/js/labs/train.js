// The Train lab: the small CNN trained live on scikit-learn's 8×8 digits.
// Start / pause / resume / reset a run that lives in a worker thread on the
// server; progress arrives as Server-Sent Events (curves, held-out accuracy,
// first-layer filters); a drawn or picked digit is classified with every
// layer's feature maps.
//
// Server: /api/train/* (app/api/train.py, app/labs/train/).

import { getJSON } from "../api.js";
import { parse } from "../state.js";
import { clearError, el, reportError } from "../ui.js";
import { mountDrawPad } from "./train/draw.js";
import { clearFilters } from "./train/maps.js";
import { mountPredictor } from "./train/predict.js";
import { TrainRun, sessionId } from "./train/run.js";
import { renderStatus } from "./train/status.js";

export const FIELDS = [
  { name: "train.lr", def: 0.01, parse: parse.num, label: "learning rate" },
  { name: "train.batch", def: 32, label: "batch" },
  { name: "train.filters", def: 8, label: "filters" },
  { name: "train.opt", def: "adam", label: "optimiser" },
  { name: "train.digit", def: -1 },
];

const KNOBS = { lr: "#train-lr", batch: "#train-batch", filters: "#train-filters", opt: "#train-opt" };

/** The knobs and the layer list they describe. */
function renderControls(root, s) {
  const $ = (sel) => root.querySelector(sel);
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

/** The held-out digits to pick from: [{index, label, pixels}], loaded once. */
async function loadDigits(select, selected) {
  const answer = await getJSON("/api/train/digits?count=40");
  select.replaceChildren(
    el("option", { value: "-1" }, "a held-out digit…"),
    ...answer.digits.map((d) => el("option", { value: String(d.index) }, `#${d.index}: a ${d.label}`)),
  );
  select.value = String(selected);
  return answer.digits;
}

export function mount(root, ctx) {
  const { state } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const session = sessionId();
  let digits = [];

  const run = new TrainRun(session, {
    onChange: () => {
      renderStatus(root, run.status, run.points);
      if (run.exists) predictor.maybeRepredict();
    },
    onError: reportError,
    onCleared: () => clearFilters($(".train-filters"), root),
  });
  const pad = mountDrawPad(root, { onChange: () => predictor.predict() });
  const currentInput = () => {
    const d = state.get()["train.digit"];
    if (d >= 0 && digits[d]) return { pixels: digits[d].pixels, label: digits[d].label };
    return pad.isEmpty() ? null : { pixels: pad.pixels(), label: null };
  };
  const predictor = mountPredictor(root, { session, run, input: currentInput });

  async function act(action) {
    const s = state.get();
    try {
      if (action === "reset") await run.reset();
      else if (action === "start") {
        await run.act("start", { lr: s["train.lr"], batch_size: s["train.batch"], filters: s["train.filters"], optimizer: s["train.opt"] });
      } else await run.act(action);
      clearError();
    } catch (err) {
      reportError(err);
    }
    if (action === "reset") predictor.predict();
  }

  for (const [name, sel] of Object.entries(KNOBS)) {
    $(sel).addEventListener("change", (e) => {
      const v = name === "opt" ? e.target.value : Number(e.target.value);
      state.set({ [`train.${name}`]: v });
      if (name === "lr") run.configure({ lr: v }).catch(reportError);
      if (name === "batch") run.configure({ batch_size: v }).catch(reportError);
    });
  }
  for (const button of root.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("#train-digit").addEventListener("change", (e) => state.set({ "train.digit": Number(e.target.value) }));
  $(".train-clear").addEventListener("click", () => {
    state.set({ "train.digit": -1 });
    pad.clear();
    predictor.predict();
  });

  function showDigit(s) {
    const d = s["train.digit"];
    $("#train-digit").value = String(d);
    if (d >= 0 && digits[d]) pad.setPixels(digits[d].pixels);
  }

  return {
    async activate(s) {
      renderControls(root, s);
      renderStatus(root, run.status, run.points);
      try {
        if (!digits.length) digits = await loadDigits($("#train-digit"), s["train.digit"]);
      } catch (err) {
        reportError(err);
      }
      showDigit(s);
      await run.load();
      predictor.predict();
    },
    deactivate() {
      // The stream stays open: it is what tells the server someone is watching the run.
    },
    update(s, changed) {
      renderControls(root, s);
      if (changed.includes("train.digit")) {
        showDigit(s);
        predictor.predict();
      }
    },
  };
}
