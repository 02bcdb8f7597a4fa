// Kernel presets: name -> a kh×kw grid of weights (row-major Float64Array).
//
// Fixed-size classics (Sobel, Prewitt, Scharr, emboss…) are 3×3 and are embedded
// at the centre of a larger grid (padded with zeros) or cropped to a smaller one;
// size-aware ones (box blur, Gaussian, motion blur, random) are built for any
// kh×kw. Pure: no DOM.

const fixed = {
  identity: null, // built for any size below
  sharpen: [0, -1, 0, -1, 5, -1, 0, -1, 0],
  "sobel-x": [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  "sobel-y": [-1, -2, -1, 0, 0, 0, 1, 2, 1],
  "prewitt-x": [-1, 0, 1, -1, 0, 1, -1, 0, 1],
  "prewitt-y": [-1, -1, -1, 0, 0, 0, 1, 1, 1],
  "scharr-x": [-3, 0, 3, -10, 0, 10, -3, 0, 3],
  "scharr-y": [-3, -10, -3, 0, 0, 0, 3, 10, 3],
  laplacian: [0, -1, 0, -1, 4, -1, 0, -1, 0], // the chapter's (section 36.7): centre 4, neighbours −1
  emboss: [-2, -1, 0, -1, 1, 1, 0, 1, 2],
  outline: [-1, -1, -1, -1, 8, -1, -1, -1, -1],
};

/** The presets in menu order: {id, name, sized} (sized: built natively at any size). */
export const PRESETS = [
  { id: "identity", name: "Identity", sized: true },
  { id: "box", name: "Box blur", sized: true },
  { id: "gaussian", name: "Gaussian blur", sized: true },
  { id: "sharpen", name: "Sharpen" },
  { id: "sobel-x", name: "Sobel x (vertical edges)" },
  { id: "sobel-y", name: "Sobel y (horizontal edges)" },
  { id: "prewitt-x", name: "Prewitt x" },
  { id: "prewitt-y", name: "Prewitt y" },
  { id: "scharr-x", name: "Scharr x" },
  { id: "scharr-y", name: "Scharr y" },
  { id: "laplacian", name: "Laplacian" },
  { id: "emboss", name: "Emboss" },
  { id: "outline", name: "Outline" },
  { id: "motion", name: "Motion blur (diagonal)", sized: true },
  { id: "random", name: "Random (seeded)", sized: true },
];

export const PRESET_IDS = new Set(PRESETS.map((p) => p.id));

/** A small deterministic PRNG (mulberry32) so "random with seed 7" is the same everywhere. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Round to 4 significant digits so a preset's weights print and travel exactly. */
const tidy = (v) => (v === 0 ? 0 : Number(v.toPrecision(4)));

function centreOf3(values, kh, kw) {
  const out = new Float64Array(kh * kw);
  // Place the 3×3 centre on the grid centre (for even sizes the centre sits up-left).
  const cy = Math.floor((kh - 1) / 2);
  const cx = Math.floor((kw - 1) / 2);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const r = cy + a - 1;
      const c = cx + b - 1;
      if (r >= 0 && r < kh && c >= 0 && c < kw) out[r * kw + c] = values[a * 3 + b];
    }
  }
  return out;
}

function gaussian1d(n) {
  const sigma = Math.max(0.5, n / 4);
  const mid = (n - 1) / 2;
  const g = Array.from({ length: n }, (_, i) => Math.exp(-((i - mid) ** 2) / (2 * sigma * sigma)));
  return g;
}

/**
 * Weights of preset `id` at size kh×kw (row-major, length kh·kw). `seed` drives
 * "random" (uniform in [−1, 1]).
 */
export function presetKernel(id, kh, kw, seed = 1) {
  const n = kh * kw;
  let out;
  switch (id) {
    case "identity":
      out = new Float64Array(n);
      out[Math.floor((kh - 1) / 2) * kw + Math.floor((kw - 1) / 2)] = 1;
      break;
    case "box":
      out = new Float64Array(n).fill(1 / n);
      break;
    case "gaussian": {
      const gy = gaussian1d(kh);
      const gx = gaussian1d(kw);
      out = new Float64Array(n);
      let total = 0;
      for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) total += out[a * kw + b] = gy[a] * gx[b];
      for (let i = 0; i < n; i++) out[i] /= total;
      break;
    }
    case "motion": {
      // A diagonal streak: ones on the main diagonal of the grid, normalised.
      out = new Float64Array(n);
      const steps = Math.max(kh, kw);
      const marks = new Set();
      for (let t = 0; t < steps; t++) {
        const r = steps === 1 ? 0 : Math.round((t * (kh - 1)) / (steps - 1));
        const c = steps === 1 ? 0 : Math.round((t * (kw - 1)) / (steps - 1));
        marks.add(r * kw + c);
      }
      for (const i of marks) out[i] = 1 / marks.size;
      break;
    }
    case "random": {
      const next = rng(seed);
      out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
      break;
    }
    default:
      if (!fixed[id]) throw new Error(`unknown kernel preset "${id}"`);
      out = centreOf3(fixed[id], kh, kw);
  }
  return Float64Array.from(out, tidy);
}

/** The preset id whose weights equal `values` at this size, or null (for labelling edited grids). */
export function matchPreset(values, kh, kw, seed = 1) {
  for (const p of PRESETS) {
    const w = presetKernel(p.id, kh, kw, seed);
    if (w.length === values.length && w.every((v, i) => Math.abs(v - values[i]) < 1e-9)) return p.id;
  }
  return null;
}
