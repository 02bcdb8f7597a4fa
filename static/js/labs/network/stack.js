// A layer stack as it lives in the URL: one short token per layer, joined by "_".
//
//   c32.k3.same.relu     conv, 32 filters, 3×3, "same" padding, fused ReLU
//   c64.k3x5.s2.p1x2.d2.reflect   stride 2, padding 1×2, dilation 2, reflect padding
//   max2  avg3.s2.p1     pooling: kind + window, then stride (default: the window) and padding
//   relu  flat  d128.relu   a ReLU layer, flatten, dense with 128 units (+ ReLU)
//
// Layers are plain objects {type, filters, units, kernel:[h,w], stride:[h,w], padding:[h,w]|"same"|"valid",
// dilation:[h,w], mode, kind, act}; toApi() turns them into POST /api/network/* layers.

export const CANONICAL = "c32.k3.same.relu_max2_c64.k3.same.relu_max2_flat_d128.relu_d10";
export const CANONICAL_INPUT = "1x28x28";

export const LAYER_TYPES = ["conv", "pool", "relu", "flatten", "dense"];
const MODES = ["reflect", "replicate", "circular"];

const pairText = ([h, w]) => (h === w ? String(h) : `${h}x${w}`);
const same = (a, b) => a[0] === b[0] && a[1] === b[1];

function readPair(text) {
  const m = /^(\d+)(?:x(\d+))?$/.exec(text);
  if (!m) return null;
  const h = Number(m[1]);
  return [h, m[2] === undefined ? h : Number(m[2])];
}

/** A new layer of `type` with sensible defaults. */
export function newLayer(type) {
  switch (type) {
    case "conv":
      return { type, filters: 16, kernel: [3, 3], stride: [1, 1], padding: "same", dilation: [1, 1], mode: "zeros", act: "relu" };
    case "pool":
      return { type, kind: "max", kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
    case "dense":
      return { type, units: 64, act: null };
    default:
      return { type };
  }
}

function parseToken(token) {
  const [head, ...opts] = token.split(".");
  let m;
  let layer;
  if ((m = /^c(\d+)$/.exec(head))) {
    layer = { ...newLayer("conv"), filters: Number(m[1]), padding: [0, 0], act: null };
    for (const o of opts) {
      let p;
      if (o === "same" || o === "valid") layer.padding = o;
      else if (o === "relu") layer.act = "relu";
      else if (MODES.includes(o)) layer.mode = o;
      else if (/^[ksdp]/.test(o) && (p = readPair(o.slice(1)))) layer[{ k: "kernel", s: "stride", d: "dilation", p: "padding" }[o[0]]] = p;
      else return null;
    }
    return layer;
  }
  if ((m = /^(max|avg)(\d+(?:x\d+)?)$/.exec(head))) {
    const kernel = readPair(m[2]);
    layer = { type: "pool", kind: m[1], kernel, stride: kernel.slice(), padding: [0, 0] };
    for (const o of opts) {
      const p = readPair(o.slice(1));
      if (o[0] === "s" && p) layer.stride = p;
      else if (o[0] === "p" && p) layer.padding = p;
      else return null;
    }
    return layer;
  }
  if ((m = /^d(\d+)$/.exec(head))) {
    layer = { type: "dense", units: Number(m[1]), act: null };
    for (const o of opts) {
      if (o === "relu") layer.act = "relu";
      else return null;
    }
    return layer;
  }
  if (head === "relu" && !opts.length) return { type: "relu" };
  if (head === "flat" && !opts.length) return { type: "flatten" };
  return null;
}

/** "c32.k3_max2" -> {layers, unreadable: [tokens that are not layers]} */
export function parseStack(text) {
  const layers = [];
  const unreadable = [];
  for (const token of String(text || "").split("_").filter(Boolean)) {
    const layer = parseToken(token);
    if (layer) layers.push(layer);
    else unreadable.push(token);
  }
  return { layers, unreadable };
}

function layerToken(l) {
  switch (l.type) {
    case "conv": {
      let t = `c${l.filters}.k${pairText(l.kernel)}`;
      if (!same(l.stride, [1, 1])) t += `.s${pairText(l.stride)}`;
      if (typeof l.padding === "string") t += `.${l.padding}`;
      else if (!same(l.padding, [0, 0])) t += `.p${pairText(l.padding)}`;
      if (!same(l.dilation, [1, 1])) t += `.d${pairText(l.dilation)}`;
      if (l.mode !== "zeros") t += `.${l.mode}`;
      return l.act === "relu" ? `${t}.relu` : t;
    }
    case "pool": {
      let t = `${l.kind}${pairText(l.kernel)}`;
      if (!same(l.stride, l.kernel)) t += `.s${pairText(l.stride)}`;
      if (!same(l.padding, [0, 0])) t += `.p${pairText(l.padding)}`;
      return t;
    }
    case "dense":
      return `d${l.units}${l.act === "relu" ? ".relu" : ""}`;
    case "flatten":
      return "flat";
    default:
      return l.type;
  }
}

export const formatStack = (layers) => layers.map(layerToken).join("_");

/** A layer as the HTTP API takes it. */
export function toApi(l) {
  switch (l.type) {
    case "conv":
      return {
        type: "conv", filters: l.filters, kernel: l.kernel, stride: l.stride, padding: l.padding,
        dilation: l.dilation, padding_mode: l.mode, activation: l.act,
      };
    case "pool":
      return { type: "pool", kind: l.kind, kernel: l.kernel, stride: l.stride, padding: l.padding };
    case "dense":
      return { type: "dense", units: l.units, activation: l.act };
    default:
      return { type: l.type };
  }
}

/** An API layer (GET /api/network/presets) as a stack layer. */
export function fromApi(a) {
  const pairOf = (v, d) => (v === undefined || v === null ? d : Array.isArray(v) ? v : [v, v]);
  switch (a.type) {
    case "conv":
      return {
        type: "conv", filters: a.filters, kernel: pairOf(a.kernel), stride: pairOf(a.stride, [1, 1]),
        padding: typeof a.padding === "string" ? a.padding : pairOf(a.padding, [0, 0]),
        dilation: pairOf(a.dilation, [1, 1]), mode: a.padding_mode || "zeros", act: a.activation || null,
      };
    case "pool": {
      const kernel = pairOf(a.kernel, [2, 2]);
      return { type: "pool", kind: a.kind || "max", kernel, stride: pairOf(a.stride, kernel), padding: pairOf(a.padding, [0, 0]) };
    }
    case "dense":
      return { type: "dense", units: a.units, act: a.activation || null };
    default:
      return { type: a.type };
  }
}

/** "1x28x28" -> [1, 28, 28] (C, H, W); null when unreadable. */
export function parseInput(text) {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(String(text));
  if (!m) return null;
  const shape = [Number(m[1]), Number(m[2]), Number(m[3])];
  return shape.every((v) => v >= 1 && v <= 4096) ? shape : null;
}

export const formatInput = ([c, h, w]) => `${c}x${h}x${w}`;

/** Short label, the same words as the server's (e.g. "conv 32 3×3 same, ReLU"). */
export function layerLabel(l) {
  const dims = ([h, w]) => `${h}×${w}`;
  const short = ([h, w]) => (h === w ? String(h) : `${h}×${w}`);
  const act = l.act === "relu" ? ", ReLU" : "";
  if (l.type === "conv") {
    const parts = [`conv ${l.filters} ${dims(l.kernel)}`];
    if (!same(l.stride, [1, 1])) parts.push(`s${short(l.stride)}`);
    if (typeof l.padding === "string") parts.push(l.padding);
    else if (!same(l.padding, [0, 0])) parts.push(`p${short(l.padding)}`);
    if (!same(l.dilation, [1, 1])) parts.push(`d${short(l.dilation)}`);
    if (l.mode !== "zeros") parts.push(l.mode);
    return parts.join(" ") + act;
  }
  if (l.type === "pool") {
    let t = `${l.kind} pool ${dims(l.kernel)}`;
    if (!same(l.stride, l.kernel)) t += ` s${short(l.stride)}`;
    if (!same(l.padding, [0, 0])) t += ` p${short(l.padding)}`;
    return t;
  }
  if (l.type === "dense") return `dense ${l.units}${act}`;
  return l.type === "relu" ? "ReLU" : "flatten";
}
