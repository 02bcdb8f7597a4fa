// The drawing pad: a 32×32 bitmap drawn with a round pen, averaged over 4×4
// blocks into the 8×8 input, which is how scikit-learn's digits were made
// (each 8×8 value counts the ink in a 4×4 block of a 32×32 scan). For the chapter's
// model the 8×8 input goes on exactly as the server's dataset does
// (app/labs/train/digits.py): bilinear to 20×20, centred in 28×28.
import { strokeLine } from "../../widgets/ink.js";

const N = 32;
const BLOCK = 4;
const PEN = 1.7; // radius in pad cells
const CHAPTER_SIDE = 28;
const BOX = 20;
const MARGIN = (CHAPTER_SIDE - BOX) / 2;

/** Source (i0, i1, weight of i1) per output cell: pixel centres aligned, edges repeat. */
function bilinearAxis(nIn, nOut) {
  const out = [];
  for (let j = 0; j < nOut; j++) {
    const src = Math.min(Math.max((j + 0.5) * (nIn / nOut) - 0.5, 0), nIn - 1);
    const i0 = Math.floor(src);
    out.push([i0, Math.min(i0 + 1, nIn - 1), src - i0]);
  }
  return out;
}

/** An 8×8 digit (rows) as the chapter model's 28×28 input: bilinear to 20×20 in a 4-pixel margin. */
export function toChapterInput(rows) {
  const n = rows.length;
  const axis = bilinearAxis(n, BOX);
  const out = Array.from({ length: CHAPTER_SIDE }, () => new Array(CHAPTER_SIDE).fill(0));
  for (let r = 0; r < BOX; r++) {
    const [r0, r1, fr] = axis[r];
    for (let c = 0; c < BOX; c++) {
      const [c0, c1, fc] = axis[c];
      const top = rows[r0][c0] * (1 - fc) + rows[r0][c1] * fc;
      const bottom = rows[r1][c0] * (1 - fc) + rows[r1][c1] * fc;
      out[MARGIN + r][MARGIN + c] = Math.round((top * (1 - fr) + bottom * fr) * 1e5) / 1e5;
    }
  }
  return out;
}

/** `side()` gives the network's input side (8 or 28): the preview shows what that network sees. */
export function mountDrawPad(root, { onChange, side = () => 8 }) {
  const pad = root.querySelector(".train-pad");
  const small = root.querySelector(".train-input8");
  const ink = new Float32Array(N * N);
  let drawing = false;
  let last = null;
  let pending = false;

  function cellAt(e) {
    const r = pad.getBoundingClientRect();
    return [((e.clientY - r.top) / r.height) * N, ((e.clientX - r.left) / r.width) * N];
  }

  function stroke(to) {
    const from = last || to;
    strokeLine(ink, N, PEN, from, to);
    last = to;
    render();
    if (!pending) {
      pending = true;
      setTimeout(() => {
        pending = false;
        onChange();
      }, 120);
    }
  }

  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    last = null;
    pad.setPointerCapture(e.pointerId);
    stroke(cellAt(e));
  });
  pad.addEventListener("pointermove", (e) => drawing && stroke(cellAt(e)));
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    onChange();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);

  /** The 8×8 input (rows of values in [0, 1]). */
  function pixels() {
    const out = [];
    for (let r = 0; r < N / BLOCK; r++) {
      const row = [];
      for (let c = 0; c < N / BLOCK; c++) {
        let sum = 0;
        for (let y = 0; y < BLOCK; y++) for (let x = 0; x < BLOCK; x++) sum += ink[(r * BLOCK + y) * N + c * BLOCK + x];
        row.push(Math.round((sum / (BLOCK * BLOCK)) * 1000) / 1000);
      }
      out.push(row);
    }
    return out;
  }

  function paint(canvas, values, n) {
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const v = 255 - Math.round(values[i] * 255); // ink dark on white, like a pencil
      img.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
  }

  function render() {
    paint(pad, ink, N);
    const n = side();
    const input = n === CHAPTER_SIDE ? toChapterInput(pixels()) : pixels();
    if (small.width !== n) small.width = small.height = n;
    paint(small, input.flat(), n);
    const note = root.querySelector(".train-input-note");
    if (note) note.textContent = `${n}×${n} input`;
  }

  render();
  return {
    pixels,
    /** The input at the network's side: 8×8, or 28×28 for the chapter's model. */
    input: () => (side() === CHAPTER_SIDE ? toChapterInput(pixels()) : pixels()),
    render,
    isEmpty: () => !ink.some((v) => v > 0),
    clear() {
      ink.fill(0);
      render();
    },
    /** Show an 8×8 digit: each value fills its 4×4 block, so pixels() gives it back exactly. */
    setPixels(rows) {
      for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) ink[y * N + x] = rows[Math.floor(y / BLOCK)][Math.floor(x / BLOCK)];
      render();
    },
  };
}
