// The arithmetic of convolutional layers in the page: a mirror of app/arithmetic.py.
//
// Pure functions on integers, no DOM. Both this file and app/arithmetic.py are
// checked against the hand cases in tests/cases/shapes.json (tests/test_shapes.py
// for Python, tests/e2e/test_conv_lab.py imports this module in Chromium).
// Functions throw an Error whose message matches the Python ValueError.

/** 3 -> [3, 3]; [3, 5] -> [3, 5]. */
export function pair(value, name = "value") {
  if (Number.isInteger(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every(Number.isInteger)) return [value[0], value[1]];
  throw new Error(`${name} must be an int or an (h, w) pair, not ${JSON.stringify(value)}`);
}

/** Span of a kernel of k taps spaced d apart: d·(k − 1) + 1. */
export const effectiveKernel = (k, d = 1) => d * (k - 1) + 1;

function check(n, k, s, p, d) {
  if (n < 1) throw new Error(`input size must be >= 1, got ${n}`);
  if (k < 1) throw new Error(`kernel size must be >= 1, got ${k}`);
  if (s < 1) throw new Error(`stride must be >= 1, got ${s}`);
  if (d < 1) throw new Error(`dilation must be >= 1, got ${d}`);
  if (p < 0) throw new Error(`padding must be >= 0, got ${p}`);
}

/** Output length along one axis: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1 (eq. 36.4 with dilation). */
export function convOutputSize(n, k, s = 1, p = 0, d = 1) {
  check(n, k, s, p, d);
  const span = effectiveKernel(k, d);
  if (n + 2 * p < span) throw new Error(`dilated kernel ${span} is larger than the padded input ${n + 2 * p}`);
  return Math.floor((n + 2 * p - span) / s) + 1;
}

/** Like convOutputSize with the total padding of both sides (may be odd). */
export function convOutputSizePadded(n, k, s = 1, padTotal = 0, d = 1) {
  check(n, k, s, 0, d);
  if (padTotal < 0) throw new Error(`padding must be >= 0, got ${padTotal}`);
  const span = effectiveKernel(k, d);
  if (n + padTotal < span) throw new Error(`dilated kernel ${span} is larger than the padded input ${n + padTotal}`);
  return Math.floor((n + padTotal - span) / s) + 1;
}

/** Output length of a pooling window along one axis (floor mode); s defaults to k. */
export function poolOutputSize(n, k, s = null, p = 0) {
  s = s ?? k;
  check(n, k, s, p, 1);
  if (2 * p > k) throw new Error(`pool padding ${p} must be at most half the window ${k}`);
  return convOutputSize(n, k, s, p, 1);
}

/** Rows (or columns) of the padded input no window reaches because of the floor. */
export function droppedByFloor(n, k, s = 1, p = 0, d = 1) {
  const out = convOutputSize(n, k, s, p, d);
  return n + 2 * p - ((out - 1) * s + effectiveKernel(k, d));
}

/** [before, after] padding that keeps the size at stride 1; the odd extra goes after (PyTorch). */
export function samePadding(k, d = 1) {
  const total = effectiveKernel(k, d) - 1;
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** [[top, bottom], [left, right]] for `padding` given as an int, an [h, w] pair, "valid" or "same". */
export function paddingSides(padding, kh, kw, dh = 1, dw = 1) {
  if (padding === "valid") return [[0, 0], [0, 0]];
  if (padding === "same") return [samePadding(kh, dh), samePadding(kw, dw)];
  const [ph, pw] = pair(padding, "padding");
  return [[ph, ph], [pw, pw]];
}

/** Output length of a transposed convolution along one axis: (n − 1)·s − 2p + d(k − 1) + output_padding + 1. */
export function convTransposeOutputSize(n, k, s = 1, p = 0, d = 1, outputPadding = 0) {
  for (const [name, v, lo] of [["input size", n, 1], ["kernel", k, 1], ["stride", s, 1], ["dilation", d, 1],
    ["padding", p, 0], ["output_padding", outputPadding, 0]]) {
    if (v < lo) throw new Error(`${name} must be >= ${lo}, got ${v}`);
  }
  if (outputPadding >= Math.max(s, d)) {
    throw new Error(`output_padding ${outputPadding} must be smaller than the stride (${s}) or the dilation (${d})`);
  }
  const out = (n - 1) * s - 2 * p + d * (k - 1) + outputPadding + 1;
  if (out < 1) throw new Error(`padding ${p} crops everything: (n−1)·s − 2p + d(k−1) + output_padding + 1 = ${out}; lower padding`);
  return out;
}

/** The output_padding that gives a forward convolution's input length back from its output length. */
export const outputPaddingFor = (nIn, nOut, k, s = 1, p = 0, d = 1) => nIn - ((nOut - 1) * s - 2 * p + d * (k - 1) + 1);

/** Parameters of a conv layer (eq. 36.5): C_out·(C_in/groups·kh·kw + 1). */
export function convParams(cIn, cOut, kh, kw, bias = true, groups = 1) {
  if (groups < 1 || cIn % groups || cOut % groups) {
    throw new Error(`groups=${groups} must divide C_in=${cIn} and C_out=${cOut}`);
  }
  return cOut * ((cIn / groups) * kh * kw + (bias ? 1 : 0));
}

/** Parameters of a dense layer (eq. 36.6): n_in·n_out (+ n_out biases). */
export const denseParams = (nIn, nOut, bias = true) => nIn * nOut + (bias ? nOut : 0);

/** Multiply-adds of a conv layer's forward pass (eq. 36.11). */
export const convMacs = (hOut, wOut, cOut, cIn, kh, kw, groups = 1) => hOut * wOut * cOut * (cIn / groups) * kh * kw;

/** Memory of one activation tensor (float32 by default). */
export const activationBytes = (shape, bytesPerValue = 4) => shape.reduce((a, b) => a * b, 1) * bytesPerValue;

/**
 * A byte count in binary units, one decimal, rounded half up: 784 → "784 B", 8323200 → "7.9 MiB";
 * the unit is the largest in which the rounded value is at least 1.0 (mirror of arithmetic.format_bytes).
 */
export function formatBytes(n) {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
    const tenths = Math.floor((20 * n + size) / (2 * size));
    if (tenths >= 10) return `${Math.floor(tenths / 10)}.${tenths % 10} ${unit}`;
  }
  return `${n} B`;
}

/**
 * Padded coordinate t (−before ≤ t < n + after) → source index in 0..n−1, or −1 for a
 * zero cell; PyTorch's meanings of the padding modes (app/kernels/padding.py).
 */
export function sourceIndex(t, n, mode) {
  if (t >= 0 && t < n) return t;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return t < 0 ? 0 : n - 1;
  if (mode === "circular") return ((t % n) + n) % n;
  // reflect: mirror without repeating the edge (needs pad < n)
  const a = Math.abs(t);
  return a >= n ? 2 * (n - 1) - a : a;
}

/**
 * The whole geometry of one conv layer, both axes, or {error, knob, fix} when the
 * combination is impossible. `padding` is an int, [h, w], "valid" or "same".
 * Mirrors the checks of app.kernels.conv (conv_geometry) so the page never asks
 * the server for something it will refuse.
 */
export function convGeometry({ h, w, kernel, stride = 1, padding = 0, dilation = 1, mode = "zeros" }) {
  const [kh, kw] = pair(kernel, "kernel");
  const [sh, sw] = pair(stride, "stride");
  const [dh, dw] = pair(dilation, "dilation");
  const fail = (knob, error, fix) => ({ ok: false, knob, error: fix ? `${error}: ${fix}` : error });
  if (kh < 1 || kw < 1) return fail("kernel-size", "kernel size must be at least 1");
  if (sh < 1 || sw < 1) return fail("stride", "stride must be at least 1");
  if (dh < 1 || dw < 1) return fail("dilation", "dilation must be at least 1");
  if (padding === "same" && (sh !== 1 || sw !== 1)) {
    return fail("padding", `padding "same" needs stride 1, got stride ${sh}×${sw}`, "set stride to 1 or choose a number for padding");
  }
  const pads = paddingSides(padding, kh, kw, dh, dw).flat(); // [top, bottom, left, right]
  if (pads.some((p) => p < 0)) return fail("padding", "padding must be at least 0");
  const [top, bottom, left, right] = pads;
  const padH = Math.max(top, bottom);
  const padW = Math.max(left, right);
  if (mode === "reflect" && (padH >= h || padW >= w)) {
    const fits = `${Math.min(h, w) - 1}`;
    return fail("padding", `reflect padding must be smaller than the input on each axis (padding ${padH}×${padW} on a ${h}×${w} input)`,
      `lower padding to ≤ ${fits} or choose another padding mode`);
  }
  if (mode === "circular" && (padH > h || padW > w)) {
    return fail("padding", `circular padding must be at most the input size (padding ${padH}×${padW} on a ${h}×${w} input)`,
      `lower padding to ≤ ${Math.min(h, w)} or choose another padding mode`);
  }
  const hp = h + top + bottom;
  const wp = w + left + right;
  const eh = effectiveKernel(kh, dh);
  const ew = effectiveKernel(kw, dw);
  if (eh > hp || ew > wp) {
    const dilated = dh !== 1 || dw !== 1;
    const what = dilated ? "dilated kernel" : "kernel";
    // What would fix it: the largest dilation that fits, or the padding that makes room.
    const axes = [];
    if (eh > hp) axes.push({ n: h, k: kh, span: eh, room: hp, pad: top + bottom, axis: "rows" });
    if (ew > wp) axes.push({ n: w, k: kw, span: ew, room: wp, pad: left + right, axis: "cols" });
    const fixes = [];
    const maxD = Math.min(...axes.map((a) => (a.k > 1 ? Math.floor((a.room - 1) / (a.k - 1)) : Infinity)));
    if (dilated && maxD >= 1) fixes.push(`lower dilation to ≤ ${maxD}`);
    const needPad = Math.max(...axes.map((a) => Math.ceil((a.span - a.n) / 2)));
    if (mode === "zeros" || mode === "replicate" || needPad < Math.min(h, w)) fixes.push(`add padding ≥ ${needPad}`);
    const maxK = Math.min(...axes.map((a) => Math.floor((a.room - 1) / (a.axis === "rows" ? dh : dw)) + 1));
    if (maxK >= 1) fixes.push(`use a kernel of at most ${maxK}`);
    const knob = dilated ? "dilation" : "kernel-size";
    return fail(knob, `${what} ${eh}×${ew} is larger than the padded input ${hp}×${wp}`, fixes.join(" or "));
  }
  const hOut = Math.floor((hp - eh) / sh) + 1;
  const wOut = Math.floor((wp - ew) / sw) + 1;
  return {
    ok: true,
    h, w, kh, kw, sh, sw, dh, dw, mode,
    pads, top, bottom, left, right, hp, wp, eh, ew, hOut, wOut,
    // rows/cols of the padded input that no window reaches (the floor in 36.4)
    droppedH: hp - ((hOut - 1) * sh + eh),
    droppedW: wp - ((wOut - 1) * sw + ew),
    same: [samePadding(kh, dh), samePadding(kw, dw)],
  };
}

/**
 * Receptive field of a stack of conv/pool layers (mirror of arithmetic.receptive_field):
 * per layer {size, jump, start}, each a number when both axes agree, else [h, w].
 */
export function receptiveField(layers) {
  const size = [1, 1];
  const jump = [1, 1];
  const start = [0, 0];
  const squash = (v) => (v[0] === v[1] ? v[0] : [v[0], v[1]]);
  const axisOf = (value, axis, def) => {
    if (value === undefined || value === null) value = def;
    if (typeof value === "string") return value;
    return pair(value)[axis];
  };
  return layers.map((layer, index) => {
    if (layer.type === "conv" || layer.type === "pool") {
      for (const axis of [0, 1]) {
        const k = axisOf(layer.kernel, axis, null);
        if (typeof k === "string" || k === null) throw new Error(`layers[${index}].kernel must be an int or pair`);
        const s = axisOf(layer.stride, axis, layer.type === "pool" ? k : 1);
        const d = layer.type === "conv" ? axisOf(layer.dilation, axis, 1) : 1;
        const pRaw = axisOf(layer.padding, axis, 0);
        const p = pRaw === "same" ? samePadding(k, d)[0] : pRaw === "valid" ? 0 : pRaw;
        check(1, k, s, p, d);
        const kEff = effectiveKernel(k, d);
        size[axis] += (kEff - 1) * jump[axis];
        start[axis] += ((kEff - 1) / 2 - p) * jump[axis];
        jump[axis] *= s;
      }
    }
    return { size: squash(size), jump: squash(jump), start: squash(start) };
  });
}

/**
 * The input pixels output unit (row, col) can see, {top, left, height, width}, from one
 * layer of receptiveField (or the summary's rf_size/rf_jump/rf_start); may leave the image.
 */
export function unitField(rf, row, col) {
  const asPair = (v) => (Array.isArray(v) ? v : [v, v]);
  const [sh, sw] = asPair(rf.size);
  const [jh, jw] = asPair(rf.jump);
  const [th, tw] = asPair(rf.start);
  return {
    top: Math.floor(th + row * jh - (sh - 1) / 2 + 0.5),
    left: Math.floor(tw + col * jw - (sw - 1) / 2 + 0.5),
    height: sh,
    width: sw,
  };
}
