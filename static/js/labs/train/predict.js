// What the network says about one 8×8 input (a picked held-out digit or the drawing):
// ten probabilities, the winner and every layer's feature maps. While a run trains,
// the same input is re-classified about once a second.

import { postJSON } from "../../api.js";
import { renderLayers, renderProbabilities } from "./maps.js";

const REPREDICT_MS = 1000;

/**
 * `input()` gives {pixels, label} or null; `run` is the TrainRun (only an existing run
 * is asked about: a prediction never names a run the page has reset).
 */
export function mountPredictor(root, { session, run, input }) {
  const $ = (sel) => root.querySelector(sel);
  let lastAt = 0;
  let busy = false;

  function showNothing(text) {
    $(".train-predict-note").textContent = text;
    renderProbabilities($(".train-probs"), null);
    $(".train-predicted").textContent = "";
    $(".train-maps").replaceChildren();
  }

  function show(answer, label) {
    renderProbabilities($(".train-probs"), answer.probabilities, answer.predicted);
    const truth = label === null ? "" : ` (true label ${label})`;
    $(".train-predicted").textContent = `it's a ${answer.predicted}`;
    $(".train-predict-note").textContent = `${(answer.probabilities[answer.predicted] * 100).toFixed(1)} % sure${truth}.`;
    renderLayers($(".train-maps"), answer.layers);
  }

  async function predict() {
    const given = input();
    if (!given) {
      showNothing("Draw a digit in the box (or pick one) to see what the network says.");
      return;
    }
    if (!run.exists) {
      $(".train-predict-note").textContent = "Press Start: an untrained network has nothing to say yet.";
      return;
    }
    lastAt = performance.now();
    busy = true;
    try {
      show(await postJSON("/api/train/predict", { session, pixels: given.pixels }, { key: "train-predict" }), given.label);
    } catch (err) {
      if (!err.superseded) $(".train-predict-note").textContent = err.detail || String(err.message || err);
    } finally {
      busy = false;
    }
  }

  /** Called on every progress event: re-classify when the last answer is a second old. */
  function maybeRepredict() {
    if (!busy && performance.now() - lastAt > REPREDICT_MS && input()) predict();
  }

  return { predict, maybeRepredict };
}
