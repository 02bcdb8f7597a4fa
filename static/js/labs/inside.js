// The Inside lab: open the network this page's Train-lab run holds (running, paused or
// done) and ask why it answers what it answers — the held-out confusion matrix, saliency,
// SmoothGrad, Grad-CAM, occlusion, the randomisation sanity check, feature visualisation
// and adversarial examples.
//
// Server: POST /api/inspect and /api/inside/* (app/api/inside.py, app/labs/inside/).

import { getJSON, postJSON } from "../api.js";
import { parse } from "../state.js";
import { clearError, coalesce, el, reportError } from "../ui.js";
import { renderCell, renderMatrix } from "./inside/confusion.js";
import { digitValues, loadHeldout, mountPad } from "./inside/digit.js";
import { layerOptions, renderImages, renderTop } from "./inside/featurevis.js";
import { curveSummary, drawCurve, renderAdversarial, verdict } from "./inside/fgsm.js";
import { METHOD_NAMES, digitCard, occlusionFormula, renderAnswer, renderProbabilities } from "./inside/methods.js";
import { renderSanity } from "./inside/sanity.js";
import { sessionId } from "./train/run.js";
import { streamLines } from "./inside/stream.js";

export const FIELDS = [
  // Limits mirror app/schemas/inside.py; state.js clamps values read from a link.
  { name: "inside.digit", def: -1, min: -1, max: 358 },
  { name: "inside.cell", def: "wrong", check: (v) => (/^(wrong|[0-9],[0-9])$/.test(v) ? v : undefined) },
  { name: "inside.method", def: "saliency", options: ["saliency", "smoothgrad", "gradcam", "occlusion", "compare"] },
  { name: "inside.target", def: -1, min: -1, max: 9 },
  { name: "inside.samples", def: 25, min: 1, max: 256 },
  { name: "inside.noise", def: 0.15, parse: parse.num, min: 0, max: 1 },
  { name: "inside.patch", def: 4, min: 1, max: 28 },
  { name: "inside.stride", def: 2, min: 1, max: 28 },
  // The occlusion fill in percent: an integer default would round a fill of 0.5 read from a link.
  { name: "inside.fillPct", def: 0, min: 0, max: 100 },
  { name: "inside.eps", def: 0.1, parse: parse.num, min: 0, max: 0.3 },
  { name: "inside.fvLayer", def: "dense2", options: ["conv1", "conv2", "dense1", "dense2"] },
  { name: "inside.fvUnit", def: 0, min: 0, max: 1023 },
  { name: "inside.fvSteps", def: 128, min: 1, max: 512 },
  { name: "inside.jitter", def: 1, min: 0, max: 7 },
  { name: "inside.l2", def: 0.02, parse: parse.num, min: 0, max: 0.5 },
  { name: "inside.blur", def: 0.5, parse: parse.num, min: 0, max: 2 },
];

const POLL_MS = 2000;
const RUN_KEY = "convlab.trainRun"; // set by the Train lab while this tab has a run on the server
const EPSILONS = Array.from({ length: 13 }, (_, i) => Math.round(i * 25) / 1000);

const clampInt = (v, lo, hi, def) => (Number.isFinite(v) ? Math.max(lo, Math.min(hi, Math.round(v))) : def);
const clampNum = (v, lo, hi, def) => (Number.isFinite(v) ? Math.max(lo, Math.min(hi, v)) : def);

export function mount(root, ctx) {
  const { state } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const session = sessionId();
  let active = false;
  let pollTimer = null;
  let confusion = null;     // the last /api/inside/confusion answer
  let set = null;           // the held-out digits of confusion.model
  let drawn = null;         // rows of the opened drawing, when the opened digit was drawn
  let curve = { weights: null, accuracy: [] };
  const results = { sanity: null, featurevis: null };

  const pad = mountPad($(".inside-pad"), { onChange: () => {} });

  // --- the run --------------------------------------------------------------------------------
  function showNoRun(on) {
    $(".inside-norun").hidden = !on;
    $("[data-inside-body]").hidden = on;
  }

  async function refresh() {
    if (!sessionStorage.getItem(RUN_KEY)) {
      // This tab never started a run (the Train lab sets the key): no request that must 404.
      confusion = null;
      showNoRun(true);
      return;
    }
    let answer;
    try {
      answer = await getJSON(`/api/inside/confusion?session=${encodeURIComponent(session)}`, { key: "inside-confusion" });
    } catch (err) {
      if (err.status === 404) {
        confusion = null;
        showNoRun(true);
        schedule(null);
        return;
      }
      reportError(err);
      schedule(confusion);
      return;
    }
    showNoRun(false);
    const previous = confusion;
    confusion = answer;
    if (!set || !previous || previous.model !== answer.model) set = await loadHeldout(answer.model);
    if (!previous || previous.side !== answer.side) {
      pad.configure(answer.side);
      $(".inside-pad-size").textContent = `The network reads ${answer.side}×${answer.side} pixels.`;
      if (drawn && drawn.length !== answer.side) drawn = null;
      layerOptions($("#inside-fv-layer"), answer.units, state.get()["inside.fvLayer"]);
    }
    renderRun();
    renderConfusion();
    if (!previous || previous.run.weights !== answer.run.weights) {
      openDigit();
      markStale();
    }
    schedule(answer);
  }

  function schedule(answer) {
    clearTimeout(pollTimer);
    if (active && answer && answer.run.state === "running") pollTimer = setTimeout(refresh, POLL_MS);
  }

  function renderRun() {
    const r = confusion.run;
    const model = confusion.model === "chapter" ? "the chapter's classifier (28×28)" : "the small 8×8 network";
    $(".inside-accuracy").textContent = `${(confusion.accuracy * 100).toFixed(1)} % held-out`;
    $(".inside-run-line").textContent = `${model}, ${r.state}${r.state === "running" ? " (this page follows it)" : ""}` +
      ` — step ${r.step}, epoch ${r.epoch.toFixed(2)}. ${confusion.labels.length} held-out digits it never trained on.`;
  }

  function renderConfusion() {
    const s = state.get();
    renderMatrix($(".inside-confusion"), confusion, s["inside.cell"], (t, p) => state.set({ "inside.cell": `${t},${p}` }));
    renderCell($(".inside-cell"), confusion, set, s["inside.cell"], s["inside.digit"],
      (i) => {
        drawn = null;
        state.set({ "inside.digit": i });
      },
      () => state.set({ "inside.cell": "wrong" }));
  }

  // --- the opened digit -----------------------------------------------------------------------
  function digitBody() {
    const i = state.get()["inside.digit"];
    if (drawn) return { pixels: drawn };
    return i >= 0 && set && i < set.count ? { index: i } : null;
  }

  function digitDisplay() {
    if (drawn) return Float32Array.from(drawn.flat());
    return digitValues(set, state.get()["inside.digit"]);
  }

  function trueLabel() {
    const i = state.get()["inside.digit"];
    return !drawn && i >= 0 ? confusion.labels[i] : null;
  }

  function targetOf(s) {
    return s["inside.target"] >= 0 ? s["inside.target"] : null;
  }

  function openDigit() {
    if (!confusion || !set) return;
    const body = digitBody();
    const has = Boolean(body);
    $(".inside-digit-empty").hidden = has;
    $(".inside-digit-row").hidden = !has;
    for (const sel of [".inside-method-panel", ".inside-sanity-panel", ".inside-fgsm-panel"]) $(sel).hidden = !has;
    if (!has) {
      $(".inside-verdict").textContent = "";
      return;
    }
    const i = state.get()["inside.digit"];
    $(".inside-digit-title").textContent = drawn ? "Your drawing" : `Held-out digit #${i}`;
    const view = $(".inside-digit-view");
    view.replaceChildren();
    digitCard(view, digitDisplay(), confusion.side, drawn ? "drawn" : `label ${trueLabel()}`);
    runMethod();
    runFgsm();
    renderSanityState();
  }

  function renderPrediction(answer) {
    const label = trueLabel();
    renderProbabilities($(".inside-probs"), answer.probabilities, answer.predicted, label);
    const mark = label === null ? "" : answer.predicted === label ? " ✓ right" : ` ✗ wrong (label ${label})`;
    $(".inside-verdict").textContent = `answers ${answer.predicted}${mark}`;
    const target = $("#inside-target");
    const value = String(state.get()["inside.target"]);
    target.replaceChildren(el("option", { value: "-1" }, `the predicted class (${answer.predicted})`),
      ...Array.from({ length: 10 }, (_, k) => el("option", { value: String(k) }, `${k}${k === label ? " (the label)" : ""}`)));
    target.value = value;
  }

  function knobsOf(s) {
    return { samples: s["inside.samples"], noise: s["inside.noise"], patch: s["inside.patch"], stride: s["inside.stride"],
      fill: s["inside.fillPct"] / 100 };
  }

  async function runMethod() {
    const body = digitBody();
    if (!body) return;
    const s = state.get();
    const method = s["inside.method"];
    const knobs = knobsOf(s);
    const methods = method === "compare" ? ["saliency", "gradcam", "occlusion"] : [method];
    renderKnobs(s);
    const maps = $(".inside-maps");
    maps.classList.add("stale");
    try {
      const answers = await Promise.all(methods.map((m) => {
        const extra = m === "smoothgrad" ? { samples: knobs.samples, noise: knobs.noise } :
          m === "occlusion" ? { patch: knobs.patch, stride: knobs.stride, fill: knobs.fill } : {};
        return postJSON("/api/inspect", { session, ...body, method: m, target: targetOf(s), ...extra },
          { key: `inside-method-${m}` });
      }));
      clearError();
      maps.replaceChildren();
      maps.classList.remove("stale");
      renderPrediction(answers[0]);
      const notes = answers.map((a, k) => renderAnswer(maps, a, { digit: digitDisplay(), side: confusion.side,
        method: methods[k], knobs, compact: method === "compare" }));
      $(".inside-method-note").textContent = method === "compare" ?
        `Three answers to "which pixels made it say ${answers[0].target}?": the input gradient, the last conv block's ` +
        "coarse class map, and the probability lost when a patch is covered." : notes[0];
      if (method === "saliency" || method === "compare") {
        $(".inside-method-note").append(" ", el("a", { href: "#lab=backward", "data-testid": "inside-backward-link",
          onclick: (e) => {
            e.preventDefault();
            state.set({ lab: "backward" }, { history: true });
          } }, "See eq. 36.10 in the Backward lab."));
      }
      const seconds = answers.reduce((a, b) => a + b.seconds, 0);
      maps.dataset.seconds = String(seconds);
    } catch (err) {
      maps.classList.remove("stale");
      handle(err);
    }
  }

  function renderKnobs(s) {
    const method = s["inside.method"];
    for (const row of root.querySelectorAll(".inside-knobs")) {
      row.hidden = !(row.dataset.knobs === method || (method === "compare" && row.dataset.knobs === "occlusion"));
    }
    const side = confusion ? confusion.side : 28;
    $("#inside-patch").max = String(side);
    $("#inside-stride").max = String(side);
    $(".inside-formula").textContent = method === "occlusion" || method === "compare" ?
      occlusionFormula(side, s["inside.patch"], s["inside.stride"]) : "";
  }

  // --- FGSM -----------------------------------------------------------------------------------
  const runFgsm = coalesce(async () => {
    const body = digitBody();
    if (!body) return;
    const s = state.get();
    const label = trueLabel();
    $(".inside-eps-value").textContent = s["inside.eps"].toFixed(3);
    try {
      const answer = await postJSON("/api/inspect", { session, ...body, method: "fgsm", epsilon: s["inside.eps"],
        label }, { key: "inside-fgsm" });
      renderAdversarial($(".inside-fgsm"), answer, digitDisplay(), confusion.side);
      $(".inside-fgsm-verdict").textContent = verdict(answer, label);
      renderProbabilities($(".inside-probs-before"), answer.probabilities, answer.predicted, label);
      renderProbabilities($(".inside-probs-after"), answer.probabilities_after, answer.predicted_after, label);
      if (curve.accuracy.length) drawCurve($(".inside-curve"), EPSILONS, curve.accuracy, s["inside.eps"]);
    } catch (err) {
      handle(err);
    }
  });

  async function runCurve() {
    const progress = $(".inside-curve-progress");
    const svg = $(".inside-curve");
    progress.hidden = false;
    progress.value = 0;
    svg.removeAttribute("hidden"); // an SVG element has no .hidden property
    curve = { weights: confusion.run.weights, accuracy: [] };
    drawCurve(svg, EPSILONS, [], state.get()["inside.eps"]);
    const steps = EPSILONS.length + 3;
    let done = 0;
    try {
      await streamLines("/api/inside/fgsm-curve", { session, epsilons: EPSILONS }, (line) => {
        done += 1;
        progress.value = Math.min(1, done / steps);
        if (line.stage === "epsilon") {
          curve.accuracy.push(line.accuracy);
          drawCurve(svg, EPSILONS, curve.accuracy, state.get()["inside.eps"]);
        }
        if (line.type === "result") {
          progress.value = 1;
          svg.dataset.done = "1";
          svg.setAttribute("aria-label", `Held-out accuracy against ε: ${curveSummary(EPSILONS, line.curve).textContent}`);
        }
      }, { key: "inside-curve" });
      progress.hidden = true;
    } catch (err) {
      progress.hidden = true;
      handle(err);
    }
  }

  // --- sanity check ---------------------------------------------------------------------------
  function sanityKey() {
    const s = state.get();
    return JSON.stringify([digitBody(), targetOf(s), confusion?.run.weights]);
  }

  function renderSanityState() {
    const box = $(".inside-sanity");
    if (results.sanity && results.sanity.key === sanityKey()) return;
    box.replaceChildren(el("p", { class: "hint" }, "Press Run it (or click this panel): about a second for the chapter's model."));
  }

  async function runSanity() {
    const body = digitBody();
    if (!body) return;
    const box = $(".inside-sanity");
    const key = sanityKey();
    box.classList.add("stale");
    box.prepend(el("p", { class: "hint inside-busy" }, "randomising layer by layer…"));
    try {
      const answer = await postJSON("/api/inside/sanity", { session, ...body, target: targetOf(state.get()),
        ...knobsOf(state.get()) }, { key: "inside-sanity" });
      results.sanity = { key, answer };
      renderSanity(box, answer);
      box.dataset.done = "1";
    } catch (err) {
      handle(err);
    } finally {
      box.classList.remove("stale");
      box.querySelector(".inside-busy")?.remove();
    }
  }

  // --- feature visualisation ------------------------------------------------------------------
  async function runFeaturevis() {
    if (!confusion) return;
    const s = state.get();
    const spec = confusion.units.find((u) => u.layer === s["inside.fvLayer"]) || confusion.units.at(-1);
    const unit = clampInt(s["inside.fvUnit"], 0, spec.units - 1, 0);
    const progress = $(".inside-fv-progress");
    const views = $(".inside-fv");
    progress.hidden = false;
    progress.value = 0;
    views.classList.add("stale");
    try {
      await streamLines("/api/inside/featurevis", {
        session, layer: spec.layer, unit, steps: s["inside.fvSteps"], jitter: s["inside.jitter"], l2: s["inside.l2"],
        blur: s["inside.blur"],
      }, (line) => {
        progress.value = line.step / line.steps;
        renderImages(views, line, confusion.side);
        if (line.type === "result") {
          results.featurevis = { weights: confusion.run.weights, line };
          const what = line.kind === "class" ? `class ${line.unit} (its logit)` :
            `${line.layer} ${line.kind} ${line.unit} (mean of ${line.reads} before the ReLU)`;
          $(".inside-fv-note").textContent = `${what}: ${line.objective[0].toFixed(2)} without and ` +
            `${line.objective[1].toFixed(2)} with regularisation, from ${line.grey_objective.toFixed(2)} on plain grey, ` +
            `after ${line.steps} steps.`;
          renderTop($(".inside-fv-top"), line.top, set, (i) => {
            drawn = null;
            state.set({ "inside.digit": i });
          });
          views.dataset.done = "1";
        }
      }, { key: "inside-featurevis" });
    } catch (err) {
      handle(err);
    } finally {
      progress.hidden = true;
      views.classList.remove("stale");
    }
  }

  function markStale() {
    const fv = results.featurevis;
    const note = $(".inside-fv-note");
    if (fv && confusion && fv.weights !== confusion.run.weights && !note.textContent.includes("trained since")) {
      note.textContent += " (The network has trained since: press Visualise again.)";
    }
  }

  function handle(err) {
    if (err && err.status === 404) {
      refresh();
      return;
    }
    reportError(err);
  }

  // --- controls -------------------------------------------------------------------------------
  const numberField = (sel, name, lo, hi, isInt = true) => {
    $(sel).addEventListener("change", (e) => {
      const v = Number(e.target.value);
      const def = FIELDS.find((f) => f.name === name).def;
      state.set({ [name]: isInt ? clampInt(v, lo, hi, def) : clampNum(v, lo, hi, def) });
    });
  };
  $("#inside-method").addEventListener("change", (e) => state.set({ "inside.method": e.target.value }));
  $("#inside-target").addEventListener("change", (e) => state.set({ "inside.target": Number(e.target.value) }));
  numberField("#inside-samples", "inside.samples", 1, 256);
  numberField("#inside-noise", "inside.noise", 0, 1, false);
  numberField("#inside-patch", "inside.patch", 1, 28);
  numberField("#inside-stride", "inside.stride", 1, 28);
  $("#inside-fill").addEventListener("change", (e) => {
    state.set({ "inside.fillPct": clampInt(Number(e.target.value) * 100, 0, 100, 0) });
  });
  numberField("#inside-fv-unit", "inside.fvUnit", 0, 1023);
  numberField("#inside-fv-steps", "inside.fvSteps", 1, 512);
  numberField("#inside-fv-jitter", "inside.jitter", 0, 7);
  numberField("#inside-fv-l2", "inside.l2", 0, 0.5, false);
  numberField("#inside-fv-blur", "inside.blur", 0, 2, false);
  $("#inside-fv-layer").addEventListener("change", (e) => state.set({ "inside.fvLayer": e.target.value, "inside.fvUnit": 0 }));
  $("#inside-eps").addEventListener("input", (e) => state.set({ "inside.eps": Number(e.target.value) }));

  root.addEventListener("click", (e) => {
    const action = e.target.closest("[data-action]")?.dataset.action;
    if (action === "go-train") state.set({ lab: "train" }, { history: true });
    else if (action === "retry") refresh();
    else if (action === "clear-pad") pad.clear();
    else if (action === "open-drawing") {
      if (pad.isEmpty()) {
        reportError(new Error("The pad is empty: draw a digit first."));
        return;
      }
      drawn = pad.pixels();
      state.set({ "inside.digit": -1, "inside.target": -1 });
      openDigit();
    } else if (action === "sanity") runSanity();
    else if (action === "curve") runCurve();
    else if (action === "featurevis") runFeaturevis();
    else if (!action && !e.target.closest("button, input, select, a, canvas, label")) {
      // A click anywhere on the sanity or feature-visualisation panel runs it when it has no result yet.
      if (e.target.closest(".inside-sanity-panel") && (!results.sanity || results.sanity.key !== sanityKey())) runSanity();
      if (e.target.closest(".inside-fv-panel") && !results.featurevis) runFeaturevis();
    }
  });

  function renderControls(s) {
    $("#inside-method").value = s["inside.method"];
    $("#inside-samples").value = String(s["inside.samples"]);
    $("#inside-noise").value = String(s["inside.noise"]);
    $("#inside-patch").value = String(s["inside.patch"]);
    $("#inside-stride").value = String(s["inside.stride"]);
    $("#inside-fill").value = String(s["inside.fillPct"] / 100);
    $("#inside-eps").value = String(s["inside.eps"]);
    $(".inside-eps-value").textContent = s["inside.eps"].toFixed(3);
    $("#inside-fv-unit").value = String(s["inside.fvUnit"]);
    $("#inside-fv-steps").value = String(s["inside.fvSteps"]);
    $("#inside-fv-jitter").value = String(s["inside.jitter"]);
    $("#inside-fv-l2").value = String(s["inside.l2"]);
    $("#inside-fv-blur").value = String(s["inside.blur"]);
    if (confusion) {
      if ([...$("#inside-fv-layer").options].some((o) => o.value === s["inside.fvLayer"])) $("#inside-fv-layer").value = s["inside.fvLayer"];
      const spec = confusion.units.find((u) => u.layer === s["inside.fvLayer"]);
      if (spec) $("#inside-fv-unit").max = String(spec.units - 1);
      renderKnobs(s);
    }
    $("#inside-target").value = String(s["inside.target"]);
  }

  renderControls(state.get());
  return {
    activate() {
      active = true;
      refresh();
    },
    deactivate() {
      active = false;
      clearTimeout(pollTimer);
    },
    update(s, changed) {
      renderControls(s);
      if (!confusion) return;
      const has = (...names) => names.some((n) => changed.includes(`inside.${n}`));
      if (has("cell")) renderConfusion();
      if (has("digit")) {
        if (s["inside.digit"] >= 0) drawn = null;
        renderConfusion();
        openDigit();
        return;
      }
      if (has("method", "target", "samples", "noise", "patch", "stride", "fillPct")) runMethod();
      if (has("target")) {
        runFgsm();
        renderSanityState();
      }
      if (has("eps")) {
        runFgsm();
        if (curve.accuracy.length) drawCurve($(".inside-curve"), EPSILONS, curve.accuracy, s["inside.eps"]);
      }
    },
  };
}

export { METHOD_NAMES };
