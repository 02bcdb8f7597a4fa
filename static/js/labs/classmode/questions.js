// Questions a teacher can send to the class, as POST /api/class/{code}/questions bodies.
// Pure: no DOM. Two sources: the seeded predict-then-reveal exercises of
// classroom/exercise-gen.js, and the lab on screen turned into "what happens when I
// change this knob?" (its `apply` is the state change the reveal makes on the lab, so
// the class sees the real result). Either becomes a number question or, with
// plausible wrong answers beside the right one, a multiple-choice question.

import { KINDS, formatAnswer, makeExercise, rng } from "../../classroom/exercise-gen.js";
import { convGeometry, poolOutputSize } from "../../shape.js";
import { currentPixels, kernelSize, padding as convPadding } from "../conv/model.js";

export { KINDS };

/** The answer in the server's spelling of a number (14, 0.5): choices must match it exactly. */
export const spell = (v) => (Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4))));

/** Up to `count` wrong answers near `answer` (off by one, doubled, halved...), seeded, never negative for a count. */
export function distractors(answer, seed, count = 3) {
  const r = rng(`choices:${seed}:${answer}`);
  const step = Number.isInteger(answer) ? Math.max(1, Math.round(Math.abs(answer) * 0.05)) : 0.25;
  const pool = [answer - step, answer + step, answer * 2, Math.floor(answer / 2), answer + 2 * step, answer - 2 * step,
    answer * 4, answer + 3 * step];
  const seen = new Set([spell(answer)]);
  const out = [];
  for (const v of pool) {
    const key = spell(v);
    if (seen.has(key) || (answer >= 0 && v < 0) || !Number.isFinite(v)) continue;
    seen.add(key);
    out.push(v);
  }
  // A seeded shuffle, so the right answer is not always next to the same neighbours.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, count);
}

/** Turn {prompt, answer (a number), ...} into a multiple-choice body: the answer among its distractors. */
export function asChoices(question, seed) {
  const options = [question.answer, ...distractors(question.answer, seed)].sort((a, b) => a - b).map(spell);
  return { ...question, choices: options, answer: spell(question.answer), tolerance: 0 };
}

/** A generated exercise as a question body (figures without the marked window: that would give it away). */
export function exerciseQuestion(lab, kind, seed, { choices = false } = {}) {
  const ex = makeExercise(lab, seed, kind);
  if (!ex) return null;
  const body = {
    prompt: ex.question,
    answer: ex.answer,
    tolerance: ex.tolerance || 0,
    figures: (ex.figures || []).map((f) => ({ label: f.label, grid: f.grid })),
    working: ex.working,
    source: `exercise:${lab}:${ex.kind}:${seed}`,
  };
  return choices ? asChoices(body, seed) : body;
}

const pairText = (p) => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);
const padText = (p) => (typeof p === "string" ? `"${p}"` : pairText(p));

/** The Convolution lab's input size: the edited pixels, or the image on screen. */
function convInput(s, info) {
  if (s["conv.src"] === "pixels") {
    const px = currentPixels(s);
    return { h: px.h, w: px.w };
  }
  return info ? { h: info.height, w: info.width } : null;
}

/** Knob changes worth predicting, in order of preference; the first that gives a valid layer is asked. */
function convChanges(s) {
  const [sh] = s["conv.stride"];
  const [dh] = s["conv.dil"];
  const pad = convPadding(s);
  const out = [];
  if (pad !== "same") out.push({ knob: "stride", value: sh === 1 ? 2 : sh + 1, key: "conv.stride" });
  out.push({ knob: "dilation", value: dh === 1 ? 2 : dh + 1, key: "conv.dil" });
  if (typeof pad !== "string") out.push({ knob: "padding", value: pad[0] + 1, key: "conv.pad" });
  if (sh !== 1 && pad !== "same") out.push({ knob: "stride", value: 1, key: "conv.stride" });
  return out;
}

function convLabQuestion(s, info) {
  const input = convInput(s, info);
  if (!input) return null;
  const kernel = kernelSize(s);
  const now = { h: input.h, w: input.w, kernel, stride: s["conv.stride"], padding: convPadding(s), dilation: s["conv.dil"], mode: s["conv.mode"] };
  const before = convGeometry(now);
  if (!before.ok) return null;
  for (const change of convChanges(s)) {
    const next = { ...now, [change.knob]: [change.value, change.value] };
    const after = convGeometry(next);
    if (!after.ok || (after.hOut === before.hOut && after.wOut === before.wOut)) continue;
    const pads = after.left + after.right;
    return {
      prompt: `On screen: a ${input.h}×${input.w} input, a ${kernel[0]}×${kernel[1]} kernel, stride ${pairText(now.stride)}, ` +
        `padding ${padText(now.padding)}, dilation ${pairText(now.dilation)}; the output is ${before.hOut}×${before.wOut}. ` +
        `How many columns will the output have when I set ${change.knob} to ${change.value}?`,
      answer: after.wOut,
      tolerance: 0,
      working: [
        "W_out = ⌊(W + p_left + p_right − d·(k − 1) − 1) / s⌋ + 1   (eq. 36.4)",
        `= ⌊(${input.w} + ${pads} − ${after.dw}·(${after.kw} − 1) − 1) / ${after.sw}⌋ + 1 = ${after.wOut}`,
        `The projector now shows the lab with ${change.knob} ${change.value}.`,
      ],
      source: `lab:conv:${change.knob}=${change.value}`,
      apply: { [change.key]: change.knob === "padding" ? String(change.value) : [change.value, change.value] },
    };
  }
  return null;
}

function poolLabQuestion(s, info) {
  if (s["pool.src"] !== "image" || !info) return null;
  const [k] = s["pool.k"];
  const [st] = s["pool.s"];
  const [p] = s["pool.p"];
  const before = poolOutputSize(info.width, k, st, p);
  const stride = st === 1 ? k : st === k ? k + 1 : 1;
  let after;
  try {
    after = poolOutputSize(info.width, k, stride, p);
  } catch {
    return null;
  }
  return {
    prompt: `On screen: a ${info.height}×${info.width} map, ${s["pool.kind"]} pooling with a ${k}×${k} window, stride ${st}, ` +
      `padding ${p}; the output has ${before} columns. How many columns will it have when I set the stride to ${stride}?`,
    answer: after,
    tolerance: 0,
    working: [
      "W_out = ⌊(W + 2p − k) / s⌋ + 1",
      `= ⌊(${info.width} + 2·${p} − ${k}) / ${stride}⌋ + 1 = ${after}`,
      `The projector now shows the lab with stride ${stride}.`,
    ],
    source: `lab:pool:stride=${stride}`,
    apply: { "pool.s": [stride, stride] },
  };
}

/** The lab on screen as a question, or null when this lab has none (yet). */
export function labQuestion(s, info, { choices = false, seed = 1 } = {}) {
  const q = s.lab === "conv" ? convLabQuestion(s, info) : s.lab === "pool" ? poolLabQuestion(s, info) : null;
  if (!q) return null;
  return choices ? asChoices(q, seed) : q;
}

/** The body to POST: everything but the page-only `apply`. */
export function requestBody(question) {
  const { apply, ...body } = question;
  if (!body.choices) body.answer = Number(body.answer);
  return body;
}

export { formatAnswer };
