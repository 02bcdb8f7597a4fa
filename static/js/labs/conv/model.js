// The conv lab's state fields and what they mean: weights, bias, geometry, the
// request body, the pixel-grid input. Pure functions of the state; no DOM.

import { parse } from "../../state.js";
import { PRESET_IDS, presetKernel } from "../../presets.js";
import { convGeometry } from "../../shape.js";

export const MAX_FILTERS = 16;
export const MAX_K = 15;
const DEFAULT_CYCLE = ["sobel-x", "sobel-y", "laplacian", "gaussian", "sharpen", "emboss", "prewitt-x", "prewitt-y",
  "scharr-x", "scharr-y", "outline", "box", "motion", "identity", "random", "random"];

/** Padding as the user typed it: "valid", "same", "2" or "1,2" -> "valid" | "same" | [h, w]. */
export function parsePadding(text) {
  const s = String(text ?? "").trim().toLowerCase();
  if (s === "valid" || s === "same") return s;
  const parts = s.split(/[,×x\s]+/).filter(Boolean).map(Number);
  if (parts.length === 1 && Number.isInteger(parts[0]) && parts[0] >= 0) return [parts[0], parts[0]];
  if (parts.length === 2 && parts.every((p) => Number.isInteger(p) && p >= 0)) return parts;
  return undefined;
}

export const formatPadding = (p) => (typeof p === "string" ? p : p[0] === p[1] ? String(p[0]) : `${p[0]},${p[1]}`);

/** Compact number text for the URL: 5 significant digits, no trailing zeros. */
export const compact = (v) => String(Number(Number(v).toPrecision(5)));

/**
 * Custom (edited) weights travel as "i~cin.kh.kw~v_v_v…" per filter, joined by "!".
 * They keep their own dims so a later size or colour change can adapt them.
 */
export function encodeCustom(custom) {
  return Object.entries(custom)
    .filter(([, e]) => e)
    .map(([i, e]) => `${i}~${e.cin}.${e.kh}.${e.kw}~${Array.from(e.values, compact).join("_")}`)
    .join("!");
}

export function decodeCustom(text) {
  const out = {};
  if (!text) return out;
  for (const part of String(text).split("!")) {
    const [i, dims, vals] = part.split("~");
    const [cin, kh, kw] = (dims || "").split(".").map(Number);
    const values = (vals || "").split("_").map(Number);
    if (!Number.isInteger(Number(i)) || ![cin, kh, kw].every((d) => Number.isInteger(d) && d >= 1)) continue;
    if (values.length !== cin * kh * kw || !values.every(Number.isFinite)) continue;
    out[Number(i)] = { cin, kh, kw, values };
  }
  return out;
}

/**
 * Default pixel grid: the chapter's bright square, scaled to h×w. With c = 3 the
 * channels differ (red square, green ramp left to right, blue top half) so a
 * per-channel kernel has something to tell apart.
 */
export function defaultPixels(h = 8, w = 8, c = 1) {
  const v = [];
  const square = (r, q) => r >= Math.floor(h / 4) && r < h - Math.floor(h / 4) && q >= Math.floor(w / 4) && q < w - Math.floor(w / 4);
  for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) v.push(square(r, q) ? 0.85 : 0.15);
  if (c === 3) {
    for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) v.push(Number((0.1 + (0.8 * q) / Math.max(1, w - 1)).toFixed(2)));
    for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) v.push(r < h / 2 ? 0.7 : 0.2);
  }
  return { h, w, c, values: v };
}

/** "h,w,v,v,…" (h·w values: gray, or 3·h·w: R plane, G plane, B plane) -> {h, w, c, values}. */
export function decodePixels(list) {
  if (!Array.isArray(list) || list.length < 2) return defaultPixels();
  const [h, w] = list;
  if (!(h >= 3 && h <= 16 && w >= 3 && w <= 16)) return defaultPixels();
  const n = list.length - 2;
  if (n !== h * w && n !== 3 * h * w) return defaultPixels();
  return { h, w, c: n / (h * w), values: list.slice(2) };
}

export const encodePixels = (px) => [px.h, px.w, ...px.values.map((v) => Number(compact(v)))];

export const LUMA = [0.299, 0.587, 0.114]; // as app/imaging/decode.py turns RGB into gray

/**
 * The grid as `c` channels: a gray grid is copied into R, G and B; an RGB grid
 * becomes gray by the same luma the server uses for images.
 */
export function pixelChannels(px, c) {
  if (px.c === c) return px;
  const n = px.h * px.w;
  if (c === 3) return { ...px, c: 3, values: [...px.values, ...px.values, ...px.values] };
  const values = [];
  for (let i = 0; i < n; i++) values.push(LUMA[0] * px.values[i] + LUMA[1] * px.values[n + i] + LUMA[2] * px.values[2 * n + i]);
  return { ...px, c: 1, values };
}

/** The stored grid, or the default one, for the current colour ("gray" | "rgb"). */
export function currentPixels(s) {
  const c = s.color === "rgb" ? 3 : 1;
  const list = s["conv.px"];
  if (!Array.isArray(list) || list.length < 2) return defaultPixels(8, 8, c);
  return pixelChannels(decodePixels(list), c);
}

/** Resize a grid (new cells get the background 0.15, kept cells keep their values). */
export function resizePixels(px, h, w) {
  const values = [];
  const c = px.c || 1;
  for (let k = 0; k < c; k++) {
    const base = k * px.h * px.w;
    for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) values.push(r < px.h && q < px.w ? px.values[base + r * px.w + q] : 0.15);
  }
  return { h, w, c, values };
}

export const FIELDS = [
  { name: "conv.filters", def: ["sobel-x", "sobel-y"], label: "filters", show: (v) => v.join(", "), parse: (s) => String(s).split(",").filter(Boolean), format: (v) => v.join(",") },
  { name: "conv.k", def: [3, 3], parse: parse.pair, label: "kernel" },
  { name: "conv.sel", def: 0 },
  { name: "conv.w", def: "", label: "edited weights", show: () => "" },
  { name: "conv.bias", def: [], label: "bias", show: (v) => v.join(", ") },
  { name: "conv.relu", def: false, label: "ReLU" },
  { name: "conv.flip", def: false, label: "flipped kernel" },
  { name: "conv.seed", def: 1 },
  { name: "conv.stride", def: [1, 1], parse: parse.pair, label: "stride" },
  { name: "conv.pad", def: "0", label: "padding", parse: (s) => (parsePadding(s) === undefined ? undefined : s) },
  { name: "conv.mode", def: "zeros", label: "padding mode", parse: (s) => (["zeros", "reflect", "replicate", "circular"].includes(s) ? s : undefined) },
  { name: "conv.dil", def: [1, 1], parse: parse.pair, label: "dilation" },
  { name: "conv.groups", def: 1, label: "groups" },
  { name: "conv.src", def: "image", parse: (s) => (s === "pixels" ? s : "image") },
  { name: "conv.px", def: [] },
  { name: "conv.pxch", def: 0 },
  { name: "conv.at", def: [] },
  { name: "conv.speed", def: 4 },
  { name: "conv.cmap", def: "auto" },
];

/** Clamp helpers for values from a hand-edited URL. */
const clampInt = (v, lo, hi, def) => (Number.isInteger(v) ? Math.min(hi, Math.max(lo, v)) : def);

/** The number of filters and their presets, tidied (unknown names -> "custom" or a default). */
export function filterList(s) {
  const list = (s["conv.filters"] || []).slice(0, MAX_FILTERS);
  if (!list.length) list.push("sobel-x");
  return list.map((p) => (PRESET_IDS.has(p) || p === "custom" ? p : "identity"));
}

export const nextPreset = (count) => DEFAULT_CYCLE[count % DEFAULT_CYCLE.length];

/** Every groups value that divides both C_in and C_out (1 … C_in). */
export function groupOptions(cin, cout) {
  const out = [];
  for (let g = 1; g <= cin; g++) if (cin % g === 0 && cout % g === 0) out.push(g);
  return out;
}

/** The groups in force: the state's value when it divides C_in and C_out, else 1. */
export function groupsOf(s, cin, cout) {
  const g = s["conv.groups"];
  return Number.isInteger(g) && groupOptions(cin, cout).includes(g) ? g : 1;
}

/** The input channels filter f sees: [first, count]. */
export function filterChannels(wts, f) {
  const perGroup = wts.cout / wts.groups;
  const group = Math.floor(f / perGroup);
  return { group, first: group * wts.cinG, count: wts.cinG };
}

export function kernelSize(s) {
  const [kh, kw] = s["conv.k"];
  return [clampInt(kh, 1, MAX_K, 3), clampInt(kw, 1, MAX_K, 3)];
}

/** Adapt a custom entry to cin×kh×kw: centre-crop/pad each slice; spread or sum channels. */
export function adaptCustom(entry, cin, kh, kw) {
  const slices = [];
  for (let c = 0; c < entry.cin; c++) {
    const slice = new Float64Array(kh * kw);
    const offR = Math.floor((entry.kh - kh) / 2);
    const offC = Math.floor((entry.kw - kw) / 2);
    for (let r = 0; r < kh; r++) {
      for (let q = 0; q < kw; q++) {
        const sr = r + offR;
        const sc = q + offC;
        if (sr >= 0 && sr < entry.kh && sc >= 0 && sc < entry.kw) slice[r * kw + q] = entry.values[c * entry.kh * entry.kw + sr * entry.kw + sc];
      }
    }
    slices.push(slice);
  }
  if (entry.cin === cin) return slices;
  // Gray <-> RGB: keep the response to a gray image (sum of slices) unchanged.
  const total = new Float64Array(kh * kw);
  for (const slice of slices) slice.forEach((v, i) => (total[i] += v));
  return Array.from({ length: cin }, () => Float64Array.from(total, (v) => v / cin));
}

/**
 * The weights the lab sends: {cout, cin, groups, cinG, kh, kw, slices[f][c]
 * (Float64Array kh·kw, c < cinG = C_in/groups), bias[f], filters}. Filter f sees
 * only the cinG input channels of its group (filterChannels). A preset spread
 * over several channels weighs each 1/cinG (it acts on their mean); "random"
 * draws every slice independently from seed + filter index.
 */
export function weights(s, cin) {
  const [kh, kw] = kernelSize(s);
  const filters = filterList(s);
  const groups = groupsOf(s, cin, filters.length);
  const cinG = cin / groups;
  const custom = decodeCustom(s["conv.w"]);
  const seed = clampInt(s["conv.seed"], 0, 2 ** 31 - 1, 1);
  const slices = filters.map((preset, f) => {
    if (custom[f]) return adaptCustom(custom[f], cinG, kh, kw);
    const id = preset === "custom" ? "identity" : preset;
    if (id === "random") {
      const all = presetKernel("random", cinG * kh, kw, seed + f);
      return Array.from({ length: cinG }, (_, c) => all.slice(c * kh * kw, (c + 1) * kh * kw));
    }
    const base = presetKernel(id, kh, kw, seed + f);
    return Array.from({ length: cinG }, () => (cinG === 1 ? base : Float64Array.from(base, (v) => v / cinG)));
  });
  const biasList = s["conv.bias"] || [];
  const bias = filters.map((_, f) => (Number.isFinite(biasList[f]) ? biasList[f] : 0));
  return { cout: filters.length, cin, groups, cinG, kh, kw, slices, bias, filters };
}

/** Padding as the kernels want it: "valid" | "same" | [h, w]. */
export function padding(s) {
  return parsePadding(s["conv.pad"]) ?? [0, 0];
}

/** The page-side geometry (shape.js) for an input of h×w. */
export function geometry(s, h, w) {
  const [kh, kw] = kernelSize(s);
  const pad = padding(s);
  return convGeometry({
    h, w, kernel: [kh, kw], stride: s["conv.stride"], padding: pad, dilation: s["conv.dil"], mode: s["conv.mode"],
  });
}

/** Body of POST /api/conv2d. */
export function requestBody(s, wts, source) {
  const pad = padding(s);
  const body = {
    weight: wts.slices.map((f) => f.map((slice) => {
      const rows = [];
      for (let r = 0; r < wts.kh; r++) rows.push(Array.from(slice.subarray(r * wts.kw, (r + 1) * wts.kw)));
      return rows;
    })),
    bias: wts.bias,
    stride: s["conv.stride"],
    padding: typeof pad === "string" ? pad : pad,
    dilation: s["conv.dil"],
    padding_mode: s["conv.mode"],
    flip: Boolean(s["conv.flip"]),
    relu: Boolean(s["conv.relu"]),
  };
  if (wts.groups !== 1) body.groups = wts.groups;
  if (source.pixels) {
    const { h, w, values } = source.pixels;
    const c = source.pixels.c || 1;
    body.input = [];
    for (let k = 0; k < c; k++) {
      const rows = [];
      for (let r = 0; r < h; r++) rows.push(values.slice(k * h * w + r * w, k * h * w + (r + 1) * w));
      body.input.push(rows);
    }
  } else {
    body.image_id = source.id;
    body.color = source.color;
  }
  return body;
}

/** The weight actually applied at tap (a, b): flipped in both axes for true convolution. */
export function appliedWeight(wts, f, c, a, b, flip) {
  const slice = wts.slices[f][c];
  return flip ? slice[(wts.kh - 1 - a) * wts.kw + (wts.kw - 1 - b)] : slice[a * wts.kw + b];
}

/**
 * Exactly the body the lab sends for state `s` (minus the server-side image id
 * swap after a re-upload): C_in from the colour, the RGB or gray pixel grid,
 * groups. For other modules (code export) that must reproduce the lab's numbers.
 */
export function labRequestBody(s) {
  const cin = s.color === "rgb" ? 3 : 1;
  const source = s["conv.src"] === "pixels" ? { pixels: currentPixels(s) } : { id: s.image, color: s.color };
  return requestBody(s, weights(s, cin), source);
}
