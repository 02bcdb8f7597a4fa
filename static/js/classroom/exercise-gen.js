// Seeded predict-then-reveal exercises: pure functions, no DOM. The same (lab, seed,
// kind) always gives the same question, so a teacher can hand everyone one link.
// Answers come from shape.js (the page's mirror of app/arithmetic.py) or are
// computed here on tiny inputs, with the worked arithmetic as lines of text.

import { rng as seededRng } from "../presets.js";
import { convOutputSize, convParams, denseParams, droppedByFloor, effectiveKernel, poolOutputSize, receptiveField } from "../shape.js";

export const KINDS = {
  conv: ["size", "params", "cell", "rf"],
  pool: ["size", "cell"],
  network: ["rf", "params", "size"],
};

/** presets.rng (mulberry32) seeded by an FNV-1a hash of `text`: floats in [0, 1). */
export function rng(text) {
  let h = 2166136261;
  for (const ch of String(text)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return seededRng(h);
}

const pick = (r, list) => list[Math.floor(r() * list.length)];
const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
const num = (v) => (Number.isInteger(v) ? v.toLocaleString("en-US") : String(Number(v.toFixed(4))));
const grid = (r, h, w, lo, hi) => Array.from({ length: h }, () => Array.from({ length: w }, () => int(r, lo, hi)));
const signed = (v) => (v < 0 ? `(${v})` : String(v));

/** The exercise for (lab, seed, kind); null for a lab without exercises. */
export function makeExercise(lab, seed, kind = "") {
  const kinds = KINDS[lab];
  if (!kinds) return null;
  const r = rng(`${lab}:${seed}`);
  const chosen = kinds.includes(kind) ? kind : pick(r, kinds);
  return { lab, seed: String(seed), ...GENERATORS[lab][chosen](r) };
}

/** Whether `given` (text typed by a student) matches the exercise's answer. */
export function check(exercise, given) {
  const cleaned = String(given).trim().replace(/[\s,_]/g, "").replace(/^\+/, "").replace("−", "-");
  if (!/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(cleaned)) return null;
  const value = Number(cleaned);
  return Math.abs(value - exercise.answer) <= exercise.tolerance;
}

function outputSize(r, { pool = false } = {}) {
  for (;;) {
    const n = int(r, 6, 32);
    const k = pool ? pick(r, [2, 2, 3]) : pick(r, [1, 3, 3, 5, 7]);
    const s = pool ? pick(r, [k, k, 1, 2]) : pick(r, [1, 1, 2, 2, 3]);
    const p = pool ? (r() < 0.7 ? 0 : Math.floor(k / 2)) : pick(r, [0, 0, 1, 2]);
    const d = pool ? 1 : pick(r, [1, 1, 1, 2]);
    const span = effectiveKernel(k, d);
    if (n + 2 * p < span) continue;
    const answer = pool ? poolOutputSize(n, k, s, p) : convOutputSize(n, k, s, p, d);
    const top = n + 2 * p - span;
    const dropped = droppedByFloor(n, k, s, p, d);
    const what = pool
      ? `A ${n}×${n} feature map goes through ${k}×${k} max pooling with stride ${s} and padding ${p}.`
      : `A ${n}×${n} image goes through a ${k}×${k} convolution with stride ${s}, padding ${p} on each side` +
        (d > 1 ? ` and dilation ${d}.` : ".");
    const working = [
      "H_out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1   (eq. 36.4)",
      `= ⌊(${n} + 2·${p} − ${d}·(${k} − 1) − 1) / ${s}⌋ + 1`,
      `= ⌊${top} / ${s}⌋ + 1 = ${Math.floor(top / s)} + 1 = ${answer}`,
    ];
    if (dropped) working.push(`The floor drops ${dropped} row${dropped > 1 ? "s" : ""} (and column${dropped > 1 ? "s" : ""}) that no window reaches.`);
    return {
      kind: "size",
      question: `${what} How many rows (= columns) does the output have?`,
      answer,
      tolerance: 0,
      working,
    };
  }
}

function paramCount(r) {
  const cIn = pick(r, [1, 3, 8, 16, 32, 64]);
  const cOut = pick(r, [8, 16, 32, 64, 128]);
  const k = pick(r, [1, 3, 3, 5]);
  const answer = convParams(cIn, cOut, k, k, true);
  const side = pick(r, [28, 32, 64]);
  const dense = denseParams(side * side * cIn, side * side * cOut, true);
  return {
    kind: "params",
    question: `A convolution layer maps ${cIn} input channel${cIn > 1 ? "s" : ""} to ${cOut} output channels with ${k}×${k} kernels and one bias per filter. How many parameters does it have?`,
    answer,
    tolerance: 0,
    working: [
      "params = C_out · (C_in · k_h · k_w + 1)   (eq. 36.5)",
      `= ${cOut} · (${cIn} · ${k} · ${k} + 1) = ${cOut} · ${num(cIn * k * k + 1)} = ${num(answer)}`,
      `For comparison, a dense layer between ${side}×${side}×${cIn} and ${side}×${side}×${cOut} needs ${num(dense)} (eq. 36.6).`,
    ],
  };
}

function convCell(r) {
  const n = pick(r, [4, 5, 5]);
  const k = n === 4 ? 2 : pick(r, [2, 3]);
  const s = pick(r, [1, 1, 2]);
  const x = grid(r, n, n, 0, 4);
  const w = grid(r, k, k, -1, 2);
  const o = convOutputSize(n, k, s);
  const i = int(r, 0, o - 1);
  const j = int(r, 0, o - 1);
  const terms = [];
  let answer = 0;
  const cells = [];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const xv = x[i * s + a][j * s + b];
      terms.push(`${xv}·${signed(w[a][b])}`);
      answer += xv * w[a][b];
      cells.push([i * s + a, j * s + b]);
    }
  }
  return {
    kind: "cell",
    question: `Slide the ${k}×${k} kernel over the ${n}×${n} input (cross-correlation, stride ${s}, no padding). What is output[${i}, ${j}]? Rows and columns count from 0.`,
    figures: [
      { label: "Input x", grid: x, window: cells },
      { label: "Kernel w", grid: w },
    ],
    answer,
    tolerance: 0,
    working: [
      `y[${i}, ${j}] = Σ_a Σ_b x[${i}·${s} + a, ${j}·${s} + b] · w[a, b]   (eq. 36.3)`,
      `= ${terms.join(" + ")}`,
      `= ${answer}`,
    ],
  };
}

function stackRf(r) {
  const layers = int(r, 2, 6);
  const k = pick(r, [3, 3, 5]);
  const answer = 1 + layers * (k - 1);
  return {
    kind: "rf",
    question: `${layers} convolution layers of ${k}×${k} kernels, stride 1, are stacked. How many input pixels wide is the receptive field of one unit of the last layer?`,
    answer,
    tolerance: 0,
    working: [
      "r = 1 + L·(k − 1)   (eq. 36.8, stride 1)",
      `= 1 + ${layers}·(${k} − 1) = ${answer}`,
      `Each layer adds k − 1 = ${k - 1} pixels to what the unit sees.`,
    ],
  };
}

function poolCell(r) {
  const n = pick(r, [4, 6]);
  const x = grid(r, n, n, 0, 9);
  const kind = pick(r, ["max", "average"]);
  const o = n / 2;
  const i = int(r, 0, o - 1);
  const j = int(r, 0, o - 1);
  const vals = [];
  const cells = [];
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 2; b++) {
      vals.push(x[2 * i + a][2 * j + b]);
      cells.push([2 * i + a, 2 * j + b]);
    }
  }
  const answer = kind === "max" ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / 4;
  return {
    kind: "cell",
    question: `2×2 ${kind} pooling with stride 2 on this ${n}×${n} input. What is output[${i}, ${j}]? Rows and columns count from 0.`,
    figures: [{ label: "Input x", grid: x, window: cells }],
    answer,
    tolerance: 1e-3,
    working: [
      `The window of output[${i}, ${j}] covers rows ${2 * i}–${2 * i + 1} and columns ${2 * j}–${2 * j + 1}: ${vals.join(", ")}.`,
      kind === "max" ? `max(${vals.join(", ")}) = ${answer}` : `(${vals.join(" + ")}) / 4 = ${vals.reduce((a, b) => a + b, 0)} / 4 = ${answer}`,
    ],
  };
}

function describe(layer) {
  return layer.type === "conv" ? `conv ${layer.kernel}×${layer.kernel}` : `max pool ${layer.kernel}×${layer.kernel} stride ${layer.stride}`;
}

function networkRf(r) {
  const count = int(r, 3, 5);
  const layers = [];
  for (let i = 0; i < count; i++) {
    const pool = i > 0 && layers[i - 1].type === "conv" && r() < 0.35;
    layers.push(pool ? { type: "pool", kernel: 2, stride: 2 } : { type: "conv", kernel: pick(r, [3, 3, 5]), stride: 1, padding: "same" });
  }
  const rf = receptiveField(layers);
  const answer = rf[rf.length - 1].size;
  const working = ["r ← r + (k − 1)·j,  j ← j·s   (start: r = 1, j = 1)"];
  let prev = { size: 1, jump: 1 };
  layers.forEach((layer, idx) => {
    const now = rf[idx];
    working.push(`${describe(layer)}: r = ${prev.size} + (${layer.kernel} − 1)·${prev.jump} = ${now.size}, j = ${prev.jump}·${layer.stride} = ${now.jump}`);
    prev = now;
  });
  return {
    kind: "rf",
    question: `The stack is ${layers.map(describe).join(" → ")} (convolutions stride 1). How many input pixels wide is the receptive field of one unit of the last layer?`,
    answer,
    tolerance: 0,
    working,
  };
}

function networkParams(r) {
  if (r() < 0.5) return paramCount(r);
  const side = pick(r, [4, 5, 7]);
  const c = pick(r, [16, 32, 64]);
  const units = pick(r, [10, 64, 128]);
  const nIn = side * side * c;
  const answer = denseParams(nIn, units, true);
  return {
    kind: "params",
    question: `A ${side}×${side}×${c} feature map is flattened and fed to a dense layer of ${units} units (with biases). How many parameters does the dense layer have?`,
    answer,
    tolerance: 0,
    working: [
      "params = n_in · n_out + n_out   (eq. 36.6)",
      `n_in = ${side}·${side}·${c} = ${num(nIn)}`,
      `= ${num(nIn)} · ${units} + ${units} = ${num(answer)}`,
    ],
  };
}

function networkSize(r) {
  let n = pick(r, [28, 32, 64]);
  const start = n;
  const count = int(r, 2, 4);
  const working = [];
  const parts = [];
  for (let i = 0; i < count; i++) {
    const valid = r() < 0.4;
    const k = 3;
    const out = convOutputSize(n, k, 1, valid ? 0 : 1);
    parts.push(`conv 3×3 ${valid ? "valid" : "same"}`);
    working.push(`conv 3×3 ${valid ? "valid" : "same"}: ⌊(${n} + 2·${valid ? 0 : 1} − 2 − 1)/1⌋ + 1 = ${out}`);
    n = out;
    if (n >= 4) {
      const pooled = poolOutputSize(n, 2, 2, 0);
      parts.push("max pool 2");
      working.push(`max pool 2×2 stride 2: ⌊(${n} − 2)/2⌋ + 1 = ${pooled}`);
      n = pooled;
    }
    if (n < 6) break;
  }
  return {
    kind: "size",
    question: `A ${start}×${start} image goes through ${parts.join(" → ")}. How many rows (= columns) does the last output have?`,
    answer: n,
    tolerance: 0,
    working,
  };
}

const GENERATORS = {
  conv: { size: (r) => outputSize(r), params: paramCount, cell: convCell, rf: stackRf },
  pool: { size: (r) => outputSize(r, { pool: true }), cell: poolCell },
  network: { rf: networkRf, params: networkParams, size: networkSize },
};

/** The answer as the page prints it. */
export const formatAnswer = (v) => num(v);
