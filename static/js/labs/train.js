// The Train lab: train a CNN live on scikit-learn's handwritten digits, either the
// small 8×8 network or the chapter's Keras classifier at 28×28 (train.model).
// Start / pause / resume / reset a run that lives in a worker thread on the
// server; progress arrives as Server-Sent Events (curves, held-out accuracy,
// first-layer filters); a drawn or picked digit is classified with a few
// layers' feature maps. For the chapter's model: its rules of thumb as switches
// (batch norm, dropout, augmentation), the Keras code the run reproduces, a strip
// of augmented samples, and "compare" keeping the previous run's curves faded.
//
// Server: /api/train/* (app/api/train.py, app/labs/train/).

import { getJSON } from "../api.js";
import { parse } from "../state.js";
import { clearError, el, reportError } from "../ui.js";
import { showAugmented } from "./train/augment.js";
import { mountDrawPad } from "./train/draw.js";
import { clearFilters } from "./train/maps.js";
import { mountPredictor } from "./train/predict.js";
import { TrainRun, sessionId } from "./train/run.js";
import { renderStatus } from "./train/status.js";

export const FIELDS = [
  { name: "train.model", def: "small", label: "model" },
  { name: "train.lr", def: 0.01, parse: parse.num, label: "learning rate" },
  { name: "train.batch", def: 32, label: "batch" },
  { name: "train.filters", def: 8, label: "filters" },
  { name: "train.opt", def: "adam", label: "optimiser" },
  { name: "train.digit", def: -1 },
  { name: "train.seed", def: 0 },
  { name: "train.epochs", def: 10 },
  { name: "train.bn", def: false },
  { name: "train.dropout", def: 0.5, parse: parse.num },
  { name: "train.augment", def: false },
  { name: "train.init", def: "keras", options: ["keras", "pytorch"], label: "initialisation" },
  { name: "train.compare", def: false },
];

const KNOBS = { lr: "#train-lr", batch: "#train-batch", filters: "#train-filters", opt: "#train-opt" };
const EPOCH_CHOICES = [1, 3, 5, 10, 20, 30];

const clampDropout = (v) => Math.min(0.9, Math.max(0, Math.round(v * 10) / 10));

/** The chapter run's switches in words (the compare legend and the code panel's title). */
export function chapterLabel(k) {
  return [
    k.batch_norm ? "batch norm" : "no batch norm",
    k.dropout > 0 ? `dropout ${k.dropout}` : "no dropout",
    k.augment ? "augment" : "no augment",
    ...(k.init === "pytorch" ? ["PyTorch init"] : []),
    `${k.epochs} epoch${k.epochs === 1 ? "" : "s"}`,
    `seed ${k.seed}`,
  ].join(", ");
}

function smallLabel(k) {
  return `small, ${k.filters} filters, lr ${k.lr}, batch ${k.batch_size}, ${k.optimizer}`;
}

const labelOf = (status) => (!status ? "" : status.model === "chapter" ? chapterLabel(status.knobs) : smallLabel(status.knobs));

/** The knobs of the next Start, by the API's names. */
function startKnobs(s) {
  if (s["train.model"] === "chapter") {
    return {
      model: "chapter", seed: s["train.seed"], epochs: s["train.epochs"], batch_norm: s["train.bn"],
      dropout: clampDropout(s["train.dropout"]), augment: s["train.augment"],
      init: s["train.init"] === "pytorch" ? "pytorch" : "keras",
    };
  }
  return { model: "small", lr: s["train.lr"], batch_size: s["train.batch"], filters: s["train.filters"], optimizer: s["train.opt"] };
}

/** The knobs and the layer list they describe. */
function renderControls(root, s) {
  const $ = (sel) => root.querySelector(sel);
  const chapter = s["train.model"] === "chapter";
  $("#train-model").value = s["train.model"];
  for (const panel of root.querySelectorAll("[data-model]")) panel.hidden = panel.dataset.model !== s["train.model"];
  $("#train-lr").value = String(s["train.lr"]);
  $("#train-batch").value = String(s["train.batch"]);
  $("#train-filters").value = String(s["train.filters"]);
  $("#train-opt").value = s["train.opt"];
  $("#train-bn").checked = s["train.bn"];
  $("#train-augment").checked = s["train.augment"];
  $("#train-init").value = s["train.init"] === "pytorch" ? "pytorch" : "keras";
  $("#train-compare").checked = s["train.compare"];
  const rate = clampDropout(s["train.dropout"]);
  $("#train-dropout").value = String(rate);
  $(".train-dropout-value").textContent = rate === 0 ? "0 (off)" : String(rate);
  if (!EPOCH_CHOICES.includes(s["train.epochs"])) {
    $("#train-epochs").append(el("option", { value: String(s["train.epochs"]) }, String(s["train.epochs"])));
  }
  $("#train-epochs").value = String(s["train.epochs"]);
  $("#train-seed").value = String(s["train.seed"]);
  $(".train-filters-title").textContent = chapter ? "conv1's 32 filters (3×3, as they learn)" : "First-layer filters (3×3, as they learn)";
  const F = s["train.filters"];
  const layers = chapter
    ? [
      "input 1×28×28 (digits in a 20×20 box)",
      `conv 32 × 3×3, same${s["train.bn"] ? " → batch norm" : ""} → ReLU → 32×28×28`,
      "max pool 2 → 32×14×14",
      `conv 64 × 3×3, same${s["train.bn"] ? " → batch norm" : ""} → ReLU → 64×14×14`,
      "max pool 2 → 64×7×7 → flatten 3,136",
      `dense 128 → ReLU${rate > 0 ? ` → dropout ${rate}` : ""}`,
      "dense 10 → softmax, sparse categorical cross-entropy",
    ]
    : [
      "input 1×8×8",
      `conv ${F} × 3×3, same → ReLU → ${F}×8×8`,
      `max pool 2 → ${F}×4×4`,
      `conv ${2 * F} × 3×3, same → ReLU → ${2 * F}×4×4`,
      `max pool 2 → ${2 * F}×2×2 → flatten ${8 * F}`,
      "dense 32 → ReLU",
      "dense 10 → softmax, cross-entropy",
    ];
  $(".train-layers-list").replaceChildren(...layers.map((t) => el("li", {}, t)));
}

/** The held-out digits to pick from (8×8: the chapter's model gets them resampled as the server does). */
async function loadDigits(select, selected) {
  const answer = await getJSON("/api/train/digits?count=40");
  select.replaceChildren(
    el("option", { value: "-1" }, "a held-out digit…"),
    // The label stays hidden until the network has answered: the picker must not give it away.
    ...answer.digits.map((d) => el("option", { value: String(d.index) }, `held-out digit #${d.index + 1}`)),
  );
  select.value = String(selected);
  return answer.digits;
}

export function mount(root, ctx) {
  const { state } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const session = sessionId();
  let digits = [];
  let previous = null; // {points, label} of the run before this one (compare mode)
  let augmentDigit = 0;
  let codeKey = "";

  const view = () => {
    const s = state.get();
    return {
      model: s["train.model"],
      epochs: s["train.epochs"],
      label: labelOf(run.status),
      previous: s["train.compare"] && previous && run.exists ? previous : null,
    };
  };
  const run = new TrainRun(session, {
    onChange: () => {
      renderStatus(root, run.status, run.points, view());
      if (run.exists) predictor.maybeRepredict();
    },
    onError: reportError,
    onCleared: () => clearFilters($(".train-filters"), root),
  });
  const side = () => (run.status ? (run.status.model === "chapter" ? 28 : 8) : state.get()["train.model"] === "chapter" ? 28 : 8);
  const pad = mountDrawPad(root, { onChange: () => predictor.predict(), side });
  const currentInput = () => {
    const d = state.get()["train.digit"];
    if (d >= 0 && digits[d]) return { pixels: pad.input(), label: digits[d].label };
    return pad.isEmpty() ? null : { pixels: pad.input(), label: null };
  };
  const predictor = mountPredictor(root, { session, run, input: currentInput });

  async function act(action) {
    const s = state.get();
    try {
      if (action === "reset") await run.reset();
      else if (action === "start") {
        if (run.exists && run.points.length) previous = { points: run.points.slice(), label: labelOf(run.status) };
        await run.act("start", startKnobs(s));
        pad.render();
      } else await run.act(action);
      clearError();
    } catch (err) {
      reportError(err);
    }
    if (action === "reset" || action === "start") predictor.predict();
  }

  /** The Keras code of the next (or current) chapter run, from the server's one template. */
  async function showCode(s) {
    if (s["train.model"] !== "chapter") return;
    const k = startKnobs(s);
    const key = `batch_norm=${k.batch_norm}&dropout=${k.dropout}&augment=${k.augment}&epochs=${k.epochs}&init=${k.init}`;
    if (key === codeKey) return;
    codeKey = key;
    try {
      $(".train-code").textContent = (await getJSON(`/api/train/code?${key}`, { key: "train-code" })).code;
    } catch (err) {
      if (!err.superseded) reportError(err);
    }
  }

  async function showStrip(s) {
    const panel = $(".train-augment-panel");
    panel.hidden = !(s["train.model"] === "chapter" && s["train.augment"]);
    if (panel.hidden) return;
    try {
      await showAugmented($(".train-augment-row"), augmentDigit, s["train.seed"]);
    } catch (err) {
      if (!err.superseded) reportError(err);
    }
  }

  for (const [name, sel] of Object.entries(KNOBS)) {
    $(sel).addEventListener("change", (e) => {
      const v = name === "opt" ? e.target.value : Number(e.target.value);
      state.set({ [`train.${name}`]: v });
      if (name === "lr") run.configure({ lr: v }).catch(reportError);
      if (name === "batch") run.configure({ batch_size: v }).catch(reportError);
    });
  }
  $("#train-model").addEventListener("change", (e) => state.set({ "train.model": e.target.value }));
  $("#train-bn").addEventListener("change", (e) => state.set({ "train.bn": e.target.checked }));
  $("#train-augment").addEventListener("change", (e) => state.set({ "train.augment": e.target.checked }));
  $("#train-init").addEventListener("change", (e) => state.set({ "train.init": e.target.value }));
  $("#train-compare").addEventListener("change", (e) => state.set({ "train.compare": e.target.checked }));
  $("#train-dropout").addEventListener("input", (e) => state.set({ "train.dropout": clampDropout(Number(e.target.value)) }));
  $("#train-epochs").addEventListener("change", (e) => state.set({ "train.epochs": Number(e.target.value) }));
  $("#train-seed").addEventListener("change", (e) => {
    const v = Math.floor(Number(e.target.value));
    state.set({ "train.seed": Number.isFinite(v) && v >= 0 ? Math.min(v, 999999) : 0 });
  });
  $(".train-augment-next").addEventListener("click", () => {
    augmentDigit = (augmentDigit + 97) % 1294; // another digit, another class most of the time
    showStrip(state.get());
  });
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
      renderStatus(root, run.status, run.points, view());
      showCode(s);
      showStrip(s);
      try {
        if (!digits.length) digits = await loadDigits($("#train-digit"), s["train.digit"]);
      } catch (err) {
        reportError(err);
      }
      showDigit(s);
      await run.load();
      pad.render();
      predictor.predict();
    },
    deactivate() {
      // The stream stays open: it is what tells the server someone is watching the run.
    },
    update(s, changed) {
      renderControls(root, s);
      if (changed.some((k) => ["train.model", "train.bn", "train.dropout", "train.augment", "train.epochs", "train.init"].includes(k))) showCode(s);
      if (changed.some((k) => ["train.model", "train.augment", "train.seed"].includes(k))) showStrip(s);
      if (changed.some((k) => ["train.model", "train.compare", "train.epochs"].includes(k))) {
        renderStatus(root, run.status, run.points, view());
      }
      if (changed.includes("train.digit")) {
        showDigit(s);
        predictor.predict();
      }
    },
  };
}
