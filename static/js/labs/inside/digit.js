// Digits as the network sees them: the held-out set (fetched once per model, one byte per
// pixel), thumbnails, and a drawing pad at the model's input size.
//
// Values are ink in [0, 1] (0 background, 1 ink); on screen ink is dark on white, like pencil.

import { getJSON } from "../../api.js";
import { strokeLine } from "../../widgets/ink.js";

const heldout = new Map(); // model -> Promise<{side, count, labels, bytes}>

/** The held-out digits of `model` ("small": 8×8, "chapter": 28×28). */
export function loadHeldout(model) {
  if (!heldout.has(model)) {
    const p = getJSON(`/api/inside/digits?model=${model}`).then((d) => {
      const raw = atob(d.pixels);
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      return { side: d.side, count: d.count, labels: d.labels, bytes };
    });
    p.catch(() => heldout.delete(model));
    heldout.set(model, p);
  }
  return heldout.get(model);
}

/** Digit `i` of a held-out set as a Float32Array (side·side) in [0, 1]. */
export function digitValues(set, i) {
  const n = set.side * set.side;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = set.bytes[i * n + k] / 255;
  return out;
}

/** Paint ink values (length side·side, [0, 1]) into `canvas` at one canvas pixel per value. */
export function paintInk(canvas, values, side) {
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let k = 0; k < side * side; k++) {
    const v = 255 - Math.round(Math.max(0, Math.min(1, values[k])) * 255);
    img.data[4 * k] = v;
    img.data[4 * k + 1] = v;
    img.data[4 * k + 2] = v;
    img.data[4 * k + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A small canvas of held-out digit `i`. */
export function thumbnail(set, i) {
  const canvas = document.createElement("canvas");
  canvas.className = "inside-thumb";
  return paintInk(canvas, digitValues(set, i), set.side);
}

/**
 * A drawing pad whose ink is averaged down to side×side: 8×8 from a 32×32 pad (4×4
 * blocks, how scikit-learn's digits were made), 28×28 drawn directly with a soft pen.
 */
export function mountPad(canvas, { onChange }) {
  let side = 28;
  let res = 28;
  let pen = 1.3;
  let ink = new Float32Array(res * res);
  let drawing = false;
  let last = null;

  function configure(newSide) {
    side = newSide;
    res = side === 8 ? 32 : side;
    pen = side === 8 ? 1.7 : 1.3;
    ink = new Float32Array(res * res);
    render();
  }

  function cellAt(e) {
    const r = canvas.getBoundingClientRect();
    return [((e.clientY - r.top) / r.height) * res, ((e.clientX - r.left) / r.width) * res];
  }

  function stroke(to) {
    const from = last || to;
    strokeLine(ink, res, pen, from, to);
    last = to;
    render();
  }

  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    last = null;
    canvas.setPointerCapture(e.pointerId);
    stroke(cellAt(e));
  });
  canvas.addEventListener("pointermove", (e) => drawing && stroke(cellAt(e)));
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    onChange?.();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  /** The side×side input: rows of values in [0, 1]. */
  function pixels() {
    const block = res / side;
    const rows = [];
    for (let r = 0; r < side; r++) {
      const row = [];
      for (let c = 0; c < side; c++) {
        let sum = 0;
        for (let y = 0; y < block; y++) for (let x = 0; x < block; x++) sum += ink[(r * block + y) * res + c * block + x];
        row.push(Math.round((sum / (block * block)) * 1000) / 1000);
      }
      rows.push(row);
    }
    return rows;
  }

  function render() {
    paintInk(canvas, ink, res);
  }

  configure(side);
  return {
    configure,
    pixels,
    get side() {
      return side;
    },
    isEmpty: () => !ink.some((v) => v > 0),
    clear() {
      ink.fill(0);
      render();
    },
  };
}
